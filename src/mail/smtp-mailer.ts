import type { Mailer, MailMessage } from './mailer.js';

/**
 * Mail over SMTP (nodemailer), from `smtp.url` / `SIMO_SMTP_URL` (`smtp://user:pass@host:port`).
 * nodemailer (~2 MB of heap) is loaded here, so a gateway without SMTP never loads it.
 */
export async function createSmtpMailer(url: string, from: string): Promise<Mailer> {
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport(url);
  return {
    kind: 'smtp',
    async send(message: MailMessage) {
      await transport.sendMail({ from, to: message.to, subject: message.subject, text: message.text });
    },
    async close() {
      transport.close();
    },
  };
}
