import { createHmac, randomBytes } from 'node:crypto';

/** `whsec_<base64 of 32 random bytes>`, the Standard Webhooks secret format. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * The signature headers of one attempt (INTERFACE §7, STANDARDS §10):
 * - `X-SIMO-Signature: sha256=<hex>`: HMAC-SHA256 of the raw body keyed with the secret string as shown;
 * - Standard Webhooks `webhook-id`/`webhook-timestamp`/`webhook-signature: v1,<base64>` over
 *   `${id}.${timestamp}.${body}`, keyed with the base64-decoded part after `whsec_`.
 */
export function signatureHeaders(
  secret: string,
  eventId: string,
  body: string,
  timestampSeconds: number,
): Record<string, string> {
  const seed = createHmac('sha256', Buffer.from(secret, 'utf8')).update(body, 'utf8').digest('hex');
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  const standard = createHmac('sha256', key)
    .update(`${eventId}.${timestampSeconds}.${body}`, 'utf8')
    .digest('base64');
  return {
    'x-simo-signature': `sha256=${seed}`,
    'webhook-id': eventId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': `v1,${standard}`,
  };
}
