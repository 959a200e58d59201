import { recordAudit } from '../accounts/audit-log.js';
import { enqueueEvent } from '../events/outbox.js';
import type { Db } from '../shared/db.js';
import { newId } from '../shared/ids.js';

/** The rules that raise `audit.flagged`. */
export type AuditRule =
  | 'failed_auth_burst'
  | 'key_many_ips'
  | 'request_spike'
  | 'content_policy'
  /** Stripe refunded a payment: its credit was taken back. */
  | 'payment_refunded'
  /** A payment was disputed (chargeback): its credit was taken back. */
  | 'payment_disputed';

export interface AuditFlag {
  tenantId: string;
  rule: AuditRule;
  /** What the rule is about: a key prefix, a key id or the tenant id. Never a secret. */
  subject: string;
  detail: Record<string, unknown>;
}

/**
 * Raises a flag: the `audit_flags` row, an `audit.flagged` audit-log entry (so it shows in
 * `GET /admin/audit`) and the `audit.flagged` webhook event, all in one transaction.
 */
export function raiseFlag(db: Db, flag: AuditFlag, now = Date.now()): Promise<string> {
  return db.transaction().execute((trx) => raiseFlagIn(trx, flag, now));
}

/** `raiseFlag` inside the caller's transaction, so the flag commits with the change it reports. */
export async function raiseFlagIn(trx: Db, flag: AuditFlag, now = Date.now()): Promise<string> {
  const id = newId('flg');
  const event = await enqueueEvent(
    trx,
    flag.tenantId,
    'audit.flagged',
    { flag_id: id, rule: flag.rule, subject: flag.subject, detail: flag.detail },
    now,
  );
  await trx
    .insertInto('audit_flags')
    .values({
      id,
      tenant_id: flag.tenantId,
      rule: flag.rule,
      subject: flag.subject,
      detail: JSON.stringify(flag.detail),
      event_id: event.id,
      created_at: now,
    })
    .execute();
  await recordAudit(
    trx,
    {
      tenantId: flag.tenantId,
      actor: 'system',
      action: 'audit.flagged',
      target: flag.subject,
      detail: { flag_id: id, rule: flag.rule, ...flag.detail },
    },
    now,
  );
  return id;
}

/** Tenants owning a key with this display prefix (`sk-simo-AbCd`); usually one, rarely several. */
export async function tenantsWithKeyPrefix(db: Db, prefix: string): Promise<string[]> {
  const rows = await db
    .selectFrom('api_keys')
    .select('tenant_id')
    .distinct()
    .where('prefix', '=', prefix)
    .execute();
  return rows.map((r) => r.tenant_id);
}
