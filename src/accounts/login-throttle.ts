import { createHash } from 'node:crypto';
import { ApiError } from '../http/errors.js';

/**
 * Slows down password guessing: after `maxFailures` failed logins for the same email from the same
 * address within `windowMs`, further attempts answer 429 until the oldest failure leaves the window.
 * Kept in memory per process (keys are hashed so no email sits in memory longer than needed).
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures = 5,
    private readonly windowMs = 15 * 60_000,
    private readonly now: () => number = Date.now,
    private readonly maxTracked = 100_000,
  ) {}

  /** Throws 429 `rate_limit_exceeded` with Retry-After when this email+IP is locked out. */
  assertAllowed(email: string, ip: string): void {
    const recent = this.recent(this.keyOf(email, ip));
    if (recent.length < this.maxFailures) return;
    const retryAfter = Math.max(1, Math.ceil((recent[0]! + this.windowMs - this.now()) / 1000));
    throw new ApiError(
      'rate_limit_exceeded',
      `Too many failed sign-in attempts. Retry after ${retryAfter} seconds.`,
      null,
      { 'retry-after': String(retryAfter) },
    );
  }

  recordFailure(email: string, ip: string): void {
    const key = this.keyOf(email, ip);
    const recent = this.recent(key);
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

  private recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    return (this.failures.get(key) ?? []).filter((t) => t > cutoff);
  }

  private keyOf(email: string, ip: string): string {
    return createHash('sha256').update(`${email.trim().toLowerCase()}\n${ip}`).digest('hex');
  }
}
