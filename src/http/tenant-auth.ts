import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ApiKeyRecord, keyRole } from '../accounts/api-key-store.js';
import type { AuthContext } from '../accounts/authenticator.js';
import { can, type Permission, permissionForRoute, type Role } from '../accounts/roles.js';
import type { ResolvedSession, SessionService } from '../accounts/sessions.js';
import { scopeForRoute } from '../oauth/scopes.js';
import { ApiError } from '../shared/errors.js';
import { type ApiKeyAuthDeps, authenticateApiKey, requireScope } from './api-key-auth.js';
import { type Authenticated, type Guard, type GuardHook, guard } from './define-route.js';
import { rateLimitRequest } from './rate-limit.js';
import { assertSessionCsrf, isStateChanging, sessionFromRequest } from './session-auth.js';

/**
 * The pre-handlers of tenant self-service routes (`/admin/*`): authenticate (an API key, or the
 * dashboard session cookie), count the request against the tenant's rate limit, check the `admin`
 * scope (a session's stand-in key has it) and the caller's role for the route. A request that sends a key is judged by the key alone.
 * With a session, state-changing methods must carry the session's CSRF token (`_csrf` or
 * `x-csrf-token`). (Dashboard pages never come through here: they read the services directly.)
 */
export function tenantAuth(deps: TenantAuthDeps): GuardHook[] {
  return [authenticateTenant(deps), rateLimitRequest(deps.limiter), requireAdminScope, authorizeRoute];
}

const keyNeedsAdmin = requireScope('admin');

/** A key needs the `admin` scope; an access token is held to the scope of the route (`authorizeRoute`). */
async function requireAdminScope(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.auth?.oauth) return;
  return keyNeedsAdmin(request, reply);
}

/** Sets `request.auth` from an API key or, without one, from the session (and `request.session`). */
function authenticateTenant(deps: TenantAuthDeps): GuardHook {
  const byKey = authenticateApiKey(deps);
  return async function authenticateKeyOrSession(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    if (request.headers.authorization !== undefined || request.headers['x-api-key'] !== undefined)
      return byKey(request, reply);
    const session = await sessionFromRequest(deps, request);
    if (!session)
      throw new ApiError(
        'missing_api_key',
        'You did not provide an API key. Send it as "Authorization: Bearer sk-simo-…" or sign in to the dashboard.',
      );
    if (session.tenant.suspended)
      throw new ApiError('tenant_suspended', 'This account is suspended. Contact support.');
    if (isStateChanging(request.method)) assertSessionCsrf(request, session);
    request.session = session;
    request.auth = sessionAuthContext(session);
  };
}

/** The role of the caller of a tenant route: the session's member role, or the key's. */
export function callerRole(request: FastifyRequest): Role {
  if (request.session) return request.session.role;
  return request.auth ? keyRole(request.auth.key) : 'developer';
}

/** The member behind a tenant request: the signed-in user, or the creator of the calling key. */
export function callerUserId(request: FastifyRequest): string | null {
  return request.auth?.key.createdBy ?? null;
}

/** Throws 403 `permission_denied` unless the caller's role has `permission`. */
export function assertPermission(request: FastifyRequest, permission: Permission): void {
  const role = callerRole(request);
  if (!can(role, permission))
    throw new ApiError(
      'permission_denied',
      `Your role in this organization (${role}) does not allow this. Ask an owner or admin.`,
    );
}

/**
 * Checks the caller's role against the permission the route needs (see `roles.ts`); an OAuth access
 * token must also carry the scope that covers the route.
 */
async function authorizeRoute(request: FastifyRequest): Promise<void> {
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  const permission = permissionForRoute(method, request.routeOptions.url ?? request.url);
  assertPermission(request, permission);
  const oauth = request.auth?.oauth;
  if (!oauth) return;
  const scope = scopeForRoute(permission, method);
  if (scope === null || !oauth.scopes.includes(scope))
    throw new ApiError(
      'key_scope',
      scope === null
        ? 'Access tokens cannot be used here; use an API key or the dashboard.'
        : `This access token does not have the '${scope}' scope.`,
      null,
      scope === null ? {} : { 'www-authenticate': `Bearer error="insufficient_scope", scope="${scope}"` },
    );
}

/** What tenant authentication reads: API keys, the rate limiter, and dashboard sessions. */
export interface TenantAuthDeps extends ApiKeyAuthDeps {
  sessions: SessionService;
}

/** The guard of tenant self-service routes: an `admin` key or a session; `request.auth` is set. */
export function tenantGuard(deps: TenantAuthDeps): Guard<Authenticated> {
  return guard('tenant', ...tenantAuth(deps));
}

/** Id of the stand-in key record of a session-authenticated request; never a real key id. */
export const SESSION_KEY_ID = 'session';

/** An AuthContext for a dashboard session: the tenant, and a stand-in key that holds no secret. */
export function sessionAuthContext(session: ResolvedSession): AuthContext {
  const key: ApiKeyRecord = {
    id: SESSION_KEY_ID,
    tenantId: session.tenant.id,
    name: 'Dashboard session',
    hash: '',
    prefix: '',
    last4: '',
    scopes: ['admin'],
    createdAt: 0,
    lastUsedAt: null,
    revokedAt: null,
    createdBy: session.user.id,
    role: session.role,
  };
  return { tenant: session.tenant, key };
}

/** Who made a tenant request, for the audit log: `user:<id>` (session) or `key:<id>`. */
export function tenantActor(request: FastifyRequest): string {
  if (request.session) return `user:${request.session.user.id}`;
  return request.auth ? `key:${request.auth.key.id}` : 'anonymous';
}

/** The API key the request authenticated with, or null for a session. */
export function callingKeyId(request: FastifyRequest): string | null {
  return request.session || !request.auth ? null : request.auth.key.id;
}
