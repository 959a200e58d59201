import type { AuthContext } from '../accounts/authenticator.js';

/** The outcome of one check-and-count. */
export interface LimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Unix seconds when the window frees up. */
  resetAt: number;
  /** Seconds to wait before retrying; set when not allowed. */
  retryAfter?: number;
}

/** Admits or refuses one request of a tenant, atomically across every replica sharing the backend. */
export interface RequestLimiter {
  check(auth: AuthContext): Promise<LimitDecision>;
  close(): Promise<void>;
}
