import type { Logger } from 'pino';
import type { Db } from '../shared/db.js';
import { newId } from '../shared/ids.js';
import type { Mailer, MailMessage } from './mailer.js';

/** Mails kept in the outbox for the operator (`GET /operator/outbox`): the newest this many. */
const OUTBOX_KEEP = 500;

/**
 * Without SMTP, mail goes to the server log and to the `mail_outbox` table, which the operator reads
 * through `GET /operator/outbox`: links still reach someone who runs the deployment.
 */
export function createOutboxMailer(db: Db, logger: Logger): Mailer {
  return {
    kind: 'outbox',
    async send(message: MailMessage) {
      const now = Date.now();
      await db
        .insertInto('mail_outbox')
        .values({
          id: newId('mail'),
          recipient: message.to,
          subject: message.subject,
          body: message.text,
          created_at: now,
        })
        .execute();
      logger.info(
        { to: message.to, subject: message.subject, text: message.text },
        'mail (no SMTP configured)',
      );
      // Keep the table small: older mails stay in the log only.
      const cutoff = await db
        .selectFrom('mail_outbox')
        .select('created_at')
        .orderBy('created_at', 'desc')
        .offset(OUTBOX_KEEP)
        .limit(1)
        .executeTakeFirst();
      if (cutoff) await db.deleteFrom('mail_outbox').where('created_at', '<=', cutoff.created_at).execute();
    },
    async close() {},
  };
}

/** A mail of the outbox as the operator sees it. */
export interface OutboxMail {
  id: string;
  object: 'mail';
  to: string;
  subject: string;
  text: string;
  created: number;
}

/** The newest mails of the outbox, newest first. */
export async function readOutbox(db: Db, limit: number): Promise<OutboxMail[]> {
  const rows = await db
    .selectFrom('mail_outbox')
    .selectAll()
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    object: 'mail',
    to: r.recipient,
    subject: r.subject,
    text: r.body,
    created: Math.floor(Number(r.created_at) / 1000),
  }));
}
