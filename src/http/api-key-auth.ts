import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyScope } from '../accounts/api-key-store.js';
import { type ApiKeyAuthenticator, type AuthContext, extractApiKey } from '../accounts/authenticator.js';
import type { AuditSignals } from '../audit-flags/audit-signals.js';
import { rateLimitHeaders } from '../ratelimit/headers.js';
import { CountedRequest, rateLimitExceeded } from '../ratelimit/model-call-limit.js';
import type { RequestLimiter } from '../ratelimit/types.js';
import { ApiError } from '../shared/errors.js';
import { assertAddressAllowed } from './address-guard.js';
import { type Authenticated, type Guard, type GuardHook, guard } from './define-route.js';

/**
 * Counts the request against the tenant's limits and sets the rate-limit headers on the reply
 * (they flow into streamed responses too, which copy `reply.getHeaders()`); throws the 429. An
 * admitted request carries its `CountedRequest`, which covers its first model call.
 */
export async function enforceRateLimit(
  limiter: RequestLimiter,
  auth: AuthContext,
  reply: FastifyReply,
): Promise<void> {
  const decision = await limiter.check(auth);
  const headers = rateLimitHeaders(decision);
  reply.headers(headers);
  if (!decision.allowed) throw rateLimitExceeded(decision, headers);
  reply.request.counted = new CountedRequest(reply.raw);
}

/** What API-key authentication reads. */
export interface ApiKeyAuthDeps {
  authenticator: ApiKeyAuthenticator;
  limiter: RequestLimiter;
  auditSignals?: AuditSignals;
}

/** The guard of API-key routes with `scope`; `request.auth` is set. */
export function apiKeyGuard(deps: ApiKeyAuthDeps, scope: ApiKeyScope): Guard<Authenticated> {
  return guard('apiKey', apiKeyAuth(deps, scope));
}

/**
 * The pre-handler of every API-key route: refuses addresses that failed to authenticate too often,
 * authenticates, checks the key's scope, then counts the request against the tenant's rate limit.
 * Headers are set on the reply before anything is sent.
 */
export function apiKeyAuth(deps: ApiKeyAuthDeps, scope: ApiKeyScope): GuardHook {
  return async function authenticateApiKey(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    // Key guessing: an address with too many recent failures is refused before its key is looked at.
    assertAddressAllowed(deps.limiter, request.addressKey);
    let auth: AuthContext;
    const presented = extractApiKey(request.headers);
    try {
      auth = await deps.authenticator.authenticate(presented);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_api_key') {
        deps.auditSignals?.onAuthFailure(request.ip, presented);
        await deps.limiter.recordAuthFailure(request.addressKey);
      }
      throw err;
    }
    request.auth = auth;
    deps.auditSignals?.onRequest(auth, request.addressKey);
    // Counted before the scope check, so a refused scope still answers with the tenant's headers.
    await enforceRateLimit(deps.limiter, auth, reply);
    if (!auth.key.scopes.includes(scope))
      throw new ApiError('key_scope', `This API key does not have the '${scope}' scope.`);
  };
}
