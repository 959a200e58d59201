/**
 * One-time values handed from one request to the next page view of the same session, such as the
 * new API key shown once on the dashboard after a form sign-up. In memory only: the value is never
 * written to the database, and an unread value disappears after the TTL.
 */
export class FlashStore {
  private readonly entries = new Map<string, { value: unknown; expiresAt: number }>();

  constructor(
    private readonly ttlMs = 5 * 60_000,
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
