import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyScope } from '../accounts/api-key-store.js';
import { type ApiKeyAuthenticator, extractApiKey } from '../accounts/authenticator.js';
import type { LimitDecision, RequestLimiter } from '../ratelimit/types.js';
import { ApiError } from './errors.js';

/** Rate-limit headers: ours (the contract) and OpenAI's, so OpenAI-aware clients throttle themselves. */
export function rateLimitHeaders(d: LimitDecision, nowMs = Date.now()): Record<string, string> {
  const resetIn = Math.max(0, d.resetAt - Math.floor(nowMs / 1000));
  const headers: Record<string, string> = {
    'x-ratelimit-limit': String(d.limit),
    'x-ratelimit-remaining': String(d.remaining),
    'x-ratelimit-reset': String(d.resetAt),
    'x-ratelimit-limit-requests': String(d.limit),
    'x-ratelimit-remaining-requests': String(d.remaining),
    'x-ratelimit-reset-requests': formatDuration(resetIn),
  };
  if (!d.allowed && d.retryAfter !== undefined) headers['retry-after'] = String(d.retryAfter);
  return headers;
}

/** OpenAI's duration style: `1s`, `6m0s`. */
export function formatDuration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m > 0 ? `${m}m${s}s` : `${s}s`;
}

/**
 * The pre-handler of every API-key route: authenticates, checks the key's scope, then counts the
 * request against the tenant's rate limit. Headers are set on the reply before anything is sent.
 */
export function apiKeyAuth(
  deps: { authenticator: ApiKeyAuthenticator; limiter: RequestLimiter },
  scope: ApiKeyScope,
) {
  return async function authenticateApiKey(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const auth = await deps.authenticator.authenticate(extractApiKey(request.headers));
    if (!auth.key.scopes.includes(scope))
      throw new ApiError('key_scope', `This API key does not have the '${scope}' scope.`);
    request.auth = auth;
    const decision = await deps.limiter.check(auth);
    const headers = rateLimitHeaders(decision);
    reply.headers(headers);
    if (!decision.allowed)
      throw new ApiError(
        'rate_limit_exceeded',
        `Rate limit reached: ${decision.limit} requests per minute. Retry after ${decision.retryAfter ?? 1} seconds.`,
        null,
        headers,
      );
  };
}
