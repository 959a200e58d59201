import type { FastifyRequest } from 'fastify';
import type { ApiKeyScope } from '../accounts/api-key-store.js';
import { type ApiKeyAuthenticator, type AuthContext, extractApiKey } from '../accounts/authenticator.js';
import type { AuditSignals } from '../audit-flags/audit-signals.js';
import type { RequestLimiter } from '../ratelimit/types.js';
import { ApiError } from '../shared/errors.js';
import { assertAddressAllowed } from './address-guard.js';
import { type Authenticated, type Guard, type GuardHook, guard } from './define-route.js';
import { rateLimitRequest } from './rate-limit.js';

/** What API-key authentication reads. */
export interface ApiKeyAuthDeps {
  authenticator: ApiKeyAuthenticator;
  limiter: RequestLimiter;
  auditSignals?: AuditSignals;
}

/** The guard of API-key routes with `scope`; `request.auth` is set. */
export function apiKeyGuard(deps: ApiKeyAuthDeps, scope: ApiKeyScope): Guard<Authenticated> {
  return guard('apiKey', ...apiKeyAuth(deps, scope));
}

/**
 * The pre-handlers of every API-key route, in order: authenticate the key, count the request against
 * the tenant's rate limit (headers set on the reply before anything is sent), check the key's scope.
 * Counted before the scope check, so a refused scope still answers with the tenant's headers.
 */
export function apiKeyAuth(deps: ApiKeyAuthDeps, scope: ApiKeyScope): GuardHook[] {
  return [authenticateApiKey(deps), rateLimitRequest(deps.limiter), requireScope(scope)];
}

/**
 * Refuses addresses that failed to authenticate too often, then authenticates the key and sets
 * `request.auth`; failures count against the address.
 */
export function authenticateApiKey(deps: ApiKeyAuthDeps): GuardHook {
  return async function authenticateKey(request: FastifyRequest): Promise<void> {
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
  };
}

/** Refuses a request whose key (or access token) lacks `scope` (403). */
export function requireScope(scope: ApiKeyScope): GuardHook {
  return async function checkScope(request: FastifyRequest): Promise<void> {
    if (request.auth?.key.scopes.includes(scope)) return;
    if (request.auth?.oauth)
      throw new ApiError(
        'key_scope',
        `This access token does not have the '${scope === 'admin' ? 'keys' : scope}' scope.`,
        null,
        scope === 'inference'
          ? { 'www-authenticate': 'Bearer error="insufficient_scope", scope="inference"' }
          : {},
      );
    throw new ApiError('key_scope', `This API key does not have the '${scope}' scope.`);
  };
}
