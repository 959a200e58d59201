import { createHash } from 'node:crypto';
import type { Db } from '../shared/db.js';
import { ApiError } from '../shared/errors.js';
import { nounFor } from '../shared/plural.js';

export interface LoginThrottleOptions {
  /** Attempts allowed per email and address within `windowMs`. */
  maxAttempts?: number;
  windowMs?: number;
  now?: () => number;
}

/**
 * Slows down password guessing: at most `maxAttempts` sign-in attempts for the same email from the
 * same client address within `windowMs`; further attempts answer 429 until the oldest counted one
 * leaves the window. A successful sign-in starts afresh.
 *
 * The attempt is counted before the password is checked, in one database transaction that locks the
 * email+address row (PostgreSQL row lock; SQLite has a single writer), so parallel requests — on one
 * replica or many sharing the database — can never check more passwords than the limit allows.
 * Emails without an account are throttled the same way, so the answer reveals nothing.
 */
export class LoginThrottle {
  private readonly maxAttempts: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private lastPrune = 0;

  constructor(
    private readonly db: Db,
    opts: LoginThrottleOptions = {},
  ) {
    this.maxAttempts = opts.maxAttempts ?? 5;
    this.windowMs = opts.windowMs ?? 15 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Counts one attempt of `email` from `address` (the client's address key), or throws 429
   * `rate_limit_exceeded` with Retry-After when the limit is reached; a refused attempt is not counted.
   */
  async admit(email: string, address: string): Promise<void> {
    const now = this.now();
    const key = keyOf(email, address);
    const refusedUntil = await this.db.transaction().execute(async (trx) => {
      // Writing first takes the row's lock (or SQLite's write lock) before the count is read.
      const row = await trx
        .insertInto('login_attempts')
        .values({ key_hash: key, attempts: '[]', updated_at: now })
        .onConflict((oc) => oc.column('key_hash').doUpdateSet({ updated_at: now }))
        .returning('attempts')
        .executeTakeFirstOrThrow();
      const recent = parseTimes(row.attempts).filter((t) => t > now - this.windowMs);
      if (recent.length >= this.maxAttempts) return recent[recent.length - this.maxAttempts]! + this.windowMs;
      recent.push(now);
      await trx
        .updateTable('login_attempts')
        .set({ attempts: JSON.stringify(recent.slice(-this.maxAttempts)) })
        .where('key_hash', '=', key)
        .execute();
      return null;
    });
    this.pruneNowAndThen(now);
    if (refusedUntil === null) return;
    const retryAfter = Math.max(1, Math.ceil((refusedUntil - now) / 1000));
    throw new ApiError(
      'rate_limit_exceeded',
      `Too many failed sign-in attempts. Retry after ${retryAfter} ${nounFor(retryAfter, 'second')}.`,
      null,
      { 'retry-after': String(retryAfter) },
    );
  }

  /** A successful sign-in of `email` from `address`: its count starts afresh. */
  async reset(email: string, address: string): Promise<void> {
    await this.db.deleteFrom('login_attempts').where('key_hash', '=', keyOf(email, address)).execute();
  }

  /** Drops rows whose every attempt has left the window; at most once a minute per process. */
  async prune(now = this.now()): Promise<number> {
    this.lastPrune = now;
    const result = await this.db
      .deleteFrom('login_attempts')
      .where('updated_at', '<=', now - this.windowMs)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  private pruneNowAndThen(now: number): void {
    if (now - this.lastPrune < 60_000) return;
    // Housekeeping only: a failed prune is retried on a later attempt.
    this.prune(now).catch(() => {});
  }
}

const keyOf = (email: string, address: string) =>
  createHash('sha256').update(`${email.trim().toLowerCase()}\n${address}`).digest('hex');

function parseTimes(text: string): number[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((t): t is number => typeof t === 'number') : [];
  } catch {
    return [];
  }
}
