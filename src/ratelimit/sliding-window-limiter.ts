import type { AuthContext } from '../accounts/authenticator.js';
import type { PlanConfig } from '../config/schema.js';
import { rpmFor, tpmFor } from './policy.js';
import type {
  LimitDecision,
  LimiterStatus,
  LogState,
  RequestLimiter,
  TokenBudget,
  WindowStore,
} from './types.js';

export interface SlidingWindowLimiterOptions {
  plans: Record<string, PlanConfig>;
  store: WindowStore;
  /** Must equal the store's window; 60 s for per-minute limits. */
  windowMs?: number;
  /** Failed authentications per address and window before the address is refused. */
  authFailureLimit?: number;
  /** Sign-ups per address and window. */
  signupLimit?: number;
  /** Clock in milliseconds, for header times (tests inject one). */
  now?: () => number;
  /** Told about every decision, for metrics: which store decided (`redis`, or `memory` also when Redis is down) and how. */
  onDecision?: (backend: 'memory' | 'redis', outcome: DecisionOutcome) => void;
}

/** How a decision ended, as counted in metrics. */
export type DecisionOutcome = 'allowed' | 'refused_requests' | 'refused_tokens' | 'refused_address';

/**
 * The tenant rate limiter: sliding-window logs (see docs/rate-limits.md) over a `WindowStore`,
 * in process or in Redis. Turns the store's relative times into the header values.
 */
export class SlidingWindowLimiter implements RequestLimiter {
  private readonly plans: Record<string, PlanConfig>;
  private readonly store: WindowStore;
  private readonly windowMs: number;
  private readonly authFailureLimit: number;
  private readonly signupLimit: number;
  private readonly now: () => number;
  private readonly onDecision: NonNullable<SlidingWindowLimiterOptions['onDecision']>;
  /** Addresses refused until the given time; local, so a valid key costs no round trip here. */
  private readonly blocked = new Map<string, number>();

  constructor(opts: SlidingWindowLimiterOptions) {
    this.plans = opts.plans;
    this.store = opts.store;
    this.windowMs = opts.windowMs ?? 60_000;
    this.authFailureLimit = opts.authFailureLimit ?? 20;
    this.signupLimit = opts.signupLimit ?? 3;
    this.now = opts.now ?? Date.now;
    this.onDecision = opts.onDecision ?? (() => {});
  }

  async check(auth: AuthContext): Promise<LimitDecision> {
    // A key with limits of its own is held to them first; a refusal there leaves the tenant's count alone.
    const keyLimits = auth.key.limits;
    if (keyLimits && (keyLimits.rpm !== null || keyLimits.tpm !== null)) {
      const keyDecision = await this.checkKey(auth, keyLimits.rpm, keyLimits.tpm);
      if (!keyDecision.allowed) return keyDecision;
      const tenantDecision = await this.checkTenant(auth);
      // The tighter limit is the one the client sees in its headers, for requests and tokens alike.
      const decision: LimitDecision =
        tenantDecision.allowed && keyDecision.remaining < tenantDecision.remaining
          ? {
              ...tenantDecision,
              limit: keyDecision.limit,
              remaining: keyDecision.remaining,
              resetAt: keyDecision.resetAt,
              resetAfter: keyDecision.resetAfter,
            }
          : { ...tenantDecision };
      const tokens = tighterTokens(keyDecision.tokens, tenantDecision.tokens);
      if (tokens) decision.tokens = tokens;
      return decision;
    }
    return this.checkTenant(auth);
  }

  /** The key's own log: `rpm` requests (the tenant's when unset) and `tpm` tokens per window. */
  private async checkKey(auth: AuthContext, rpm: number | null, tpm: number | null): Promise<LimitDecision> {
    const limit = rpm ?? rpmFor(auth, this.plans);
    const keyId = auth.key.id;
    const result = await this.store.admit({
      key: `req:{key:${keyId}}`,
      limit,
      ...(tpm ? { tokens: { key: `tok:{key:${keyId}}`, limit: tpm } } : {}),
    });
    const now = this.now();
    const refusing = result.refusedBy === 'tokens' && result.tokens ? result.tokens : result.requests;
    const decision = this.decide(result.allowed, limit, result.requests.total, refusing, now);
    if (result.refusedBy) {
      decision.refusedBy = result.refusedBy;
      this.onDecision(this.backendNow(), `refused_${result.refusedBy}`);
    }
    // The key's own token budget, so its refusal names it and its headers show it.
    if (tpm && result.tokens) decision.tokens = tokenBudget(tpm, result.tokens, now);
    return decision;
  }

  private async checkTenant(auth: AuthContext): Promise<LimitDecision> {
    const limit = rpmFor(auth, this.plans);
    const tpm = tpmFor(auth, this.plans);
    const tenantId = auth.tenant.id;
    // `{…}` is a Redis Cluster hash tag: a tenant's request and token logs share one slot (one script).
    const result = await this.store.admit({
      key: `req:{${tenantId}}`,
      limit,
      ...(tpm ? { tokens: { key: `tok:{${tenantId}}`, limit: tpm } } : {}),
    });
    const now = this.now();
    // On a token refusal, the reset and Retry-After are the token window's: that is when a retry succeeds.
    const refusing = result.refusedBy === 'tokens' && result.tokens ? result.tokens : result.requests;
    const decision = this.decide(result.allowed, limit, result.requests.total, refusing, now);
    if (result.refusedBy) decision.refusedBy = result.refusedBy;
    this.onDecision(this.backendNow(), result.refusedBy ? `refused_${result.refusedBy}` : 'allowed');
    if (tpm && result.tokens) decision.tokens = tokenBudget(tpm, result.tokens, now);
    return decision;
  }

  async recordTokens(auth: AuthContext, tokens: number): Promise<void> {
    if (!(tokens > 0)) return;
    // One debit of more than the budget refuses exactly as long as one of the whole budget does, so it is
    // capped there: an absurd usage figure from a model server (1e20, Infinity) stays a valid Redis integer.
    const debit = (limit: number) => Math.min(Math.ceil(tokens), limit);
    const keyTpm = auth.key.limits?.tpm;
    if (keyTpm) await this.store.addTokens(`tok:{key:${auth.key.id}}`, debit(keyTpm), keyTpm);
    const tpm = tpmFor(auth, this.plans);
    if (!tpm) return;
    await this.store.addTokens(`tok:{${auth.tenant.id}}`, debit(tpm), tpm);
  }

  guardAddress(address: string): LimitDecision | undefined {
    const until = this.blocked.get(address);
    if (until === undefined) return undefined;
    const now = this.now();
    if (until <= now) {
      this.blocked.delete(address);
      return undefined;
    }
    const decision = this.decide(
      false,
      this.authFailureLimit,
      this.authFailureLimit,
      {
        total: this.authFailureLimit,
        freeInMs: until - now,
      },
      now,
    );
    decision.refusedBy = 'auth_failures';
    this.onDecision(this.backendNow(), 'refused_address');
    return decision;
  }

  async recordAuthFailure(address: string): Promise<void> {
    const state = await this.store.hit(`ip:{${address}}`, this.authFailureLimit);
    if (state.total >= this.authFailureLimit) this.blocked.set(address, this.now() + state.freeInMs);
  }

  async checkSignup(address: string): Promise<LimitDecision> {
    const result = await this.store.admit({ key: `signup:{${address}}`, limit: this.signupLimit });
    return this.decide(result.allowed, this.signupLimit, result.requests.total, result.requests, this.now());
  }

  status(): LimiterStatus {
    return this.store.status();
  }

  async close(): Promise<void> {
    this.blocked.clear();
    await this.store.close();
  }

  // Which store made the decision: a degraded Redis store decides with its in-process fallback.
  private backendNow(): 'memory' | 'redis' {
    return this.store.backend === 'redis' && this.store.status() === 'ok' ? 'redis' : 'memory';
  }

  private decide(allowed: boolean, limit: number, count: number, free: LogState, now: number): LimitDecision {
    const decision: LimitDecision = {
      allowed,
      limit,
      remaining: Math.max(0, limit - count),
      resetAt: resetAtOf(now, free.freeInMs),
      resetAfter: Math.ceil(free.freeInMs / 1000),
      windowSeconds: Math.round(this.windowMs / 1000),
    };
    if (!allowed) {
      // Both describe one instant: Retry-After from now, Reset as a Unix second (each rounded up).
      decision.retryAfter = Math.max(1, decision.resetAfter);
      decision.retryAfterMs = Math.max(1, free.freeInMs);
    }
    return decision;
  }
}

/** The Unix second at (or just after) which the window frees up; never in the past. */
const resetAtOf = (now: number, freeInMs: number) => Math.ceil((now + freeInMs) / 1000);

/** A token log's state as the budget a decision reports. */
function tokenBudget(limit: number, log: LogState, now: number): TokenBudget {
  return {
    limit,
    remaining: Math.max(0, limit - log.total),
    resetAt: resetAtOf(now, log.freeInMs),
    resetAfter: Math.ceil(log.freeInMs / 1000),
  };
}

/** Of a key's and its tenant's token budgets, the one with fewer tokens left (either may be absent). */
function tighterTokens(
  key: TokenBudget | undefined,
  tenant: TokenBudget | undefined,
): TokenBudget | undefined {
  if (!key) return tenant;
  if (!tenant) return key;
  return key.remaining < tenant.remaining ? key : tenant;
}
