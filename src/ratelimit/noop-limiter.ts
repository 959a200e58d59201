import type { AuthContext } from '../accounts/authenticator.js';
import type { PlanConfig } from '../config/schema.js';
import { rpmFor } from './policy.js';
import type { LimitDecision, LimiterStatus, RequestLimiter } from './types.js';

/**
 * Admits everything (`limits.rateLimiting: false`): for deployments that limit at their own edge,
 * and for the benchmark's baseline. Still answers with the plan's limit so headers stay present.
 */
export class NoopLimiter implements RequestLimiter {
  constructor(private readonly plans: Record<string, PlanConfig>) {}

  async check(auth: AuthContext): Promise<LimitDecision> {
    const limit = rpmFor(auth, this.plans);
    return {
      allowed: true,
      limit,
      remaining: limit,
      resetAt: Math.ceil(Date.now() / 1000),
      resetAfter: 0,
      windowSeconds: 60,
    };
  }

  async recordTokens(): Promise<void> {}

  guardAddress(): undefined {
    return undefined;
  }

  async recordAuthFailure(): Promise<void> {}

  async checkSignup(): Promise<LimitDecision> {
    return {
      allowed: true,
      limit: 0,
      remaining: 0,
      resetAt: Math.ceil(Date.now() / 1000),
      resetAfter: 0,
      windowSeconds: 60,
    };
  }

  status(): LimiterStatus {
    return 'disabled';
  }

  async close(): Promise<void> {}
}
