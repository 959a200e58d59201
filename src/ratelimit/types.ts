import type { AuthContext } from '../accounts/authenticator.js';

/** A token budget's state, reported with a decision when the tenant's plan has `tpm`. */
export interface TokenBudget {
  limit: number;
  remaining: number;
  /** Unix seconds when the token window frees up. */
  resetAt: number;
  /** Seconds until then, rounded up. */
  resetAfter: number;
}

/** The outcome of one check-and-count. */
export interface LimitDecision {
  allowed: boolean;
  /** Which budget refused the request, when it was refused. */
  refusedBy?: 'requests' | 'tokens' | 'auth_failures';
  limit: number;
  remaining: number;
  /**
   * Unix seconds when the window frees up: when at least one more request will be admitted
   * (rounded up, so a client that waits until then succeeds).
   */
  resetAt: number;
  /** Seconds until the window frees up, rounded up: the same instant as `resetAt`, relative. */
  resetAfter: number;
  /** Seconds to wait before retrying (= `resetAfter`); set when not allowed. */
  retryAfter?: number;
  /** The same wait in milliseconds, for clients that honour `retry-after-ms`. */
  retryAfterMs?: number;
  /** Window length in seconds, for the `RateLimit-Policy` header. */
  windowSeconds: number;
  tokens?: TokenBudget;
}

/** Health of the limiter: `degraded` while a shared backend is unreachable and a per-process fallback counts. */
export type LimiterStatus = 'ok' | 'degraded' | 'disabled';

/** Admits or refuses one request of a tenant, atomically across every replica sharing the backend. */
export interface RequestLimiter {
  /** Checks the tenant's request (and token) budget and, when admitted, counts the request. */
  check(auth: AuthContext): Promise<LimitDecision>;
  /** Debits the tokens an answered request actually used (plans with `tpm`); never throws. */
  recordTokens(auth: AuthContext, tokens: number): Promise<void>;
  /**
   * The per-address guard in front of authentication: a refusal when the address failed to
   * authenticate too often recently, else undefined. Synchronous, so valid keys pay nothing.
   */
  guardAddress(address: string): LimitDecision | undefined;
  /** Counts one failed authentication of an address; never throws. */
  recordAuthFailure(address: string): Promise<void>;
  /** Checks and counts one sign-up from an address (each sign-up grants trial credits). */
  checkSignup(address: string): Promise<LimitDecision>;
  status(): LimiterStatus;
  close(): Promise<void>;
}

/** A sliding log's state after an operation. */
export interface LogState {
  /** Requests counted (or tokens summed) within the window. */
  total: number;
  /**
   * Milliseconds until the log frees up: until `total` drops below the limit when at or over it,
   * else until its oldest entry leaves the window (0 when empty).
   */
  freeInMs: number;
}

export interface AdmitRequest {
  /** The request log, counted (one entry per admitted request). */
  key: string;
  limit: number;
  /** The token log, weighted; checked but not written (tokens are debited after the response). */
  tokens?: { key: string; limit: number };
}

export interface AdmitResult {
  allowed: boolean;
  refusedBy?: 'requests' | 'tokens';
  requests: LogState;
  tokens?: LogState;
}

/**
 * Sliding-window logs keyed by name: the storage half of the limiter. Each operation is atomic
 * (one Lua script in Redis; one synchronous step in process).
 */
export interface WindowStore {
  readonly backend: 'memory' | 'redis';
  /** Drops expired entries, then counts one request if the request log is under its limit and the token log under its own. */
  admit(req: AdmitRequest): Promise<AdmitResult>;
  /** Counts one event unconditionally (failed authentications). */
  hit(key: string, limit: number): Promise<LogState>;
  /** Adds tokens to a weighted log unconditionally. */
  addTokens(key: string, tokens: number, limit: number): Promise<LogState>;
  status(): 'ok' | 'degraded';
  close(): Promise<void>;
}
