import nodemailer from 'nodemailer';
import type { Mailer, MailMessage } from './mailer.js';

/** Mail over SMTP (nodemailer), from `smtp.url` / `SIMO_SMTP_URL` (`smtp://user:pass@host:port`). */
export function createSmtpMailer(url: string, from: string): Mailer {
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
