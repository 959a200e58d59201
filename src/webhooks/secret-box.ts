import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Encrypts webhook signing secrets at rest with AES-256-GCM. Signatures are keyed with the secret,
 * so it must be recoverable (unlike API keys, which are only hashed). The key is derived with HKDF
 * from the server secret, so the same server secret can serve other purposes under other labels.
 */
export class SecretBox {
  private readonly key: Buffer;

  /** `purpose` labels the derived key, so each use of the server secret gets a key of its own. */
  constructor(serverSecret: string, purpose = 'webhook-secrets/v1') {
    this.key = Buffer.from(hkdfSync('sha256', serverSecret, 'simosphere', purpose, 32));
  }

  /** `v1.<iv>.<tag>.<ciphertext>`, each base64url. */
  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), body]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  /** Throws when the box was sealed under another key or tampered with. */
  open(sealed: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('unrecognised sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  }
}
