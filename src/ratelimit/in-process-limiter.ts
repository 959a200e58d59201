import type { AuthContext } from '../accounts/authenticator.js';
import type { PlanConfig } from '../config/schema.js';
import type { LimitDecision, RequestLimiter } from './types.js';

const WINDOW_MS = 60_000;

/** Requests per minute for a tenant: its negotiated override, else its plan's. */
export function rpmFor(auth: AuthContext, plans: Record<string, PlanConfig>): number {
  return auth.tenant.rpmOverride ?? plans[auth.tenant.plan]?.rpm ?? 60;
}

/**
 * Sliding-log limiter kept in this process: exact for one replica. Each tenant keeps the
 * timestamps of its admitted requests within the last minute.
 */
export class InProcessLimiter implements RequestLimiter {
  private readonly logs = new Map<string, number[]>();

  constructor(
    private readonly plans: Record<string, PlanConfig>,
    private readonly now: () => number = Date.now,
  ) {}

  async check(auth: AuthContext): Promise<LimitDecision> {
    const limit = rpmFor(auth, this.plans);
    const now = this.now();
    let log = this.logs.get(auth.tenant.id);
    if (!log) {
      log = [];
      this.logs.set(auth.tenant.id, log);
    }
    while (log.length > 0 && log[0]! <= now - WINDOW_MS) log.shift();
    const allowed = log.length < limit;
    if (allowed) log.push(now);
    const oldest = log[0] ?? now;
    const resetMs = oldest + WINDOW_MS;
    const decision: LimitDecision = {
      allowed,
      limit,
      remaining: Math.max(0, limit - log.length),
      resetAt: Math.ceil(resetMs / 1000),
    };
    if (!allowed) decision.retryAfter = Math.max(1, Math.ceil((resetMs - now) / 1000));
    return decision;
  }

  async close(): Promise<void> {}
}
