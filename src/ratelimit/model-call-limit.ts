import type { ServerResponse } from 'node:http';
import type { AuthContext } from '../accounts/authenticator.js';
import { ApiError } from '../shared/errors.js';
import { nounFor } from '../shared/plural.js';
import { rateLimitHeaders } from './headers.js';
import type { LimitDecision, RequestLimiter } from './types.js';

/** The 429 of a refused decision, carrying the decision's headers (Retry-After included). */
export function rateLimitExceeded(
  decision: LimitDecision,
  headers: Record<string, string> = rateLimitHeaders(decision),
): ApiError {
  const what =
    decision.refusedBy === 'tokens'
      ? `${decision.tokens?.limit ?? 0} ${nounFor(decision.tokens?.limit ?? 0, 'token')} per minute`
      : `${decision.limit} ${nounFor(decision.limit, 'request')} per minute`;
  const retryAfter = decision.retryAfter ?? 1;
  return new ApiError(
    'rate_limit_exceeded',
    `Rate limit reached: ${what}. Retry after ${retryAfter} ${nounFor(retryAfter, 'second')}.`,
    null,
    headers,
  );
}

/**
 * The one rate-limit unit an HTTP request was counted for by its pre-handler. It covers the first
 * model call the request makes, so a `/v1` request is counted once; every further call (a JSON-RPC
 * batch can hold a hundred) is counted on its own by `limitModelCall`.
 */
export class CountedRequest {
  private spent = false;

  constructor(private readonly res: ServerResponse) {}

  /** True the first time only: that call is the one the pre-handler already counted. */
  coversCall(): boolean {
    if (this.spent) return false;
    this.spent = true;
    return true;
  }

  /** Shows a later call's budget in the response's rate-limit headers while they can still change. */
  show(headers: Record<string, string>): void {
    if (this.res.headersSent) return;
    // A partly refused batch still answers 200: Retry-After belongs to the refused calls only.
    for (const [name, value] of Object.entries(headers))
      if (name !== 'retry-after' && name !== 'retry-after-ms') this.res.setHeader(name, value);
  }
}

/**
 * Counts one model call against the tenant's requests and tokens per minute, exactly as the
 * pre-handler counts a request; throws the 429 when the budget is spent. Callers skip it for the call
 * their request's `CountedRequest` covers.
 */
export async function limitModelCall(
  limiter: RequestLimiter,
  auth: AuthContext,
  counted: CountedRequest | null | undefined,
): Promise<void> {
  const decision = await limiter.check(auth);
  const headers = rateLimitHeaders(decision);
  counted?.show(headers);
  if (!decision.allowed) throw rateLimitExceeded(decision, headers);
}
