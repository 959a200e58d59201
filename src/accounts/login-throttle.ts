import { createHash } from 'node:crypto';
import { ApiError } from '../http/errors.js';
import { nounFor } from '../shared/plural.js';
import type { Db } from './tenant-store.js';

/**
 * Slows down password guessing: after `maxFailures` failed logins for the same email from the same
 * address within `windowMs`, further attempts answer 429 until the oldest failure leaves the window;
 * a successful login from that address starts afresh.
 *
 * Two sources of truth: the audit log (failed logins of existing accounts are recorded there anyway),
 * which every replica shares, and a per-process memory that also covers emails without an account.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly db: Db,
    private readonly maxFailures = 5,
    private readonly windowMs = 15 * 60_000,
    private readonly now: () => number = Date.now,
    private readonly maxTracked = 100_000,
  ) {}

  /** Throws 429 `rate_limit_exceeded` with Retry-After when this email+IP is locked out. */
  async assertAllowed(email: string, ip: string, tenantId: string | null): Promise<void> {
    const now = this.now();
    const local = this.recent(this.keyOf(email, ip), now);
    const shared = tenantId === null ? [] : await this.recordedFailures(tenantId, email, ip, now);
    const times = local.length >= shared.length ? local : shared;
    if (times.length < this.maxFailures) return;
    const oldestCounted = times[times.length - this.maxFailures]!;
    const retryAfter = Math.max(1, Math.ceil((oldestCounted + this.windowMs - now) / 1000));
    throw new ApiError(
      'rate_limit_exceeded',
      `Too many failed sign-in attempts. Retry after ${retryAfter} ${nounFor(retryAfter, 'second')}.`,
      null,
      { 'retry-after': String(retryAfter) },
    );
  }

  recordFailure(email: string, ip: string): void {
    const key = this.keyOf(email, ip);
    const recent = this.recent(key, this.now());
    recent.push(this.now());
    if (!this.failures.has(key) && this.failures.size >= this.maxTracked) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    this.failures.set(key, recent);
  }

  recordSuccess(email: string, ip: string): void {
    this.failures.delete(this.keyOf(email, ip));
  }

  /** Failed logins in the audit log since the window opened or the last success, oldest first. */
  private async recordedFailures(
    tenantId: string,
    email: string,
    ip: string,
    now: number,
  ): Promise<number[]> {
    const windowStart = now - this.windowMs;
    const success = await this.db
      .selectFrom('audit_log')
      .select('created_at')
      .where('tenant_id', '=', tenantId)
      .where('action', '=', 'auth.login')
      .where('ip', '=', ip)
      .where('created_at', '>', windowStart)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    const since = Math.max(windowStart, success ? Number(success.created_at) : 0);
    const rows = await this.db
      .selectFrom('audit_log')
      .select('created_at')
      .where('tenant_id', '=', tenantId)
      .where('action', '=', 'auth.login_failed')
      .where('target', '=', email)
      .where('ip', '=', ip)
      .where('created_at', '>', since)
      .orderBy('created_at', 'desc')
      .limit(this.maxFailures)
      .execute();
    return rows.map((r) => Number(r.created_at)).reverse();
  }

  private recent(key: string, now: number): number[] {
    const cutoff = now - this.windowMs;
    return (this.failures.get(key) ?? []).filter((t) => t > cutoff);
  }

  private keyOf(email: string, ip: string): string {
    return createHash('sha256').update(`${email.trim().toLowerCase()}\n${ip}`).digest('hex');
  }
}
