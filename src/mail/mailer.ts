/** A plain-text email. Links in it are absolute, under the public URL. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** Sends mail: over SMTP, or (with none configured) to the server log and the operator outbox. */
export interface Mailer {
  /** `smtp` or `outbox`, for the start-up log. */
  readonly kind: 'smtp' | 'outbox';
  send(message: MailMessage): Promise<void>;
  close(): Promise<void>;
}
