import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * One-time values handed from one request to the next page view of the same session, such as the
 * new API key shown once on the dashboard after a form sign-up. Never written to the database.
 *
 * Two carriers, so it works behind a load balancer too: this process's memory, and a short-lived
 * cookie sealed with a key derived from the session id (only the visitor's browser holds the id, and
 * the database only its hash, so nobody else can open it). `requireSession` moves a sealed value
 * into memory on whichever replica serves the next page; pages then `take` it synchronously.
 */
export class FlashStore {
  private readonly entries = new Map<string, { value: unknown; expiresAt: number }>();

  constructor(
    readonly ttlMs = FLASH_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Stores a value under a session handle (use `ResolvedSession.sessionIdHash`, never the id). */
  put(sessionIdHash: string, value: unknown): void {
    this.sweep();
    this.entries.set(sessionIdHash, { value, expiresAt: this.now() + this.ttlMs });
  }

  /** Returns the value once and forgets it. */
  take<T = unknown>(sessionIdHash: string): T | undefined {
    const entry = this.entries.get(sessionIdHash);
    this.entries.delete(sessionIdHash);
    return entry && entry.expiresAt > this.now() ? (entry.value as T) : undefined;
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
  }
}

export const FLASH_TTL_MS = 5 * 60_000;
export const FLASH_COOKIE = 'simo_flash';

const flashKey = (sessionId: string) =>
  Buffer.from(hkdfSync('sha256', sessionId, Buffer.alloc(0), 'simosphere flash v1', 32));

/** Seals a value for the flash cookie: AES-256-GCM under a key derived from the session id. */
export function sealFlash(sessionId: string, value: unknown, expiresAt: number): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', flashKey(sessionId), iv);
  const body = Buffer.concat([
    cipher.update(JSON.stringify({ v: value, exp: expiresAt }), 'utf8'),
    cipher.final(),
  ]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** Opens a sealed flash value; undefined when tampered with, sealed for another session, or expired. */
export function openFlash(sessionId: string, sealed: string, now = Date.now()): unknown {
  try {
    const raw = Buffer.from(sealed, 'base64url');
    if (raw.length < 29) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', flashKey(sessionId), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    const parsed = JSON.parse(text) as { v: unknown; exp: number };
    return typeof parsed.exp === 'number' && parsed.exp > now ? parsed.v : undefined;
  } catch {
    return undefined;
  }
}
