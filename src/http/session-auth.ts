import type { FastifyReply, FastifyRequest } from 'fastify';
import { FLASH_COOKIE, FLASH_TTL_MS, type FlashStore } from '../accounts/flash-store.js';
import {
  type NewSession,
  type ResolvedSession,
  SESSION_MAX_MS,
  type SessionService,
} from '../accounts/sessions.js';
import { ApiError } from '../shared/errors.js';
import { type Guard, type GuardHook, guard } from './define-route.js';
import { submittedCsrfToken, tokensMatch } from './form-csrf.js';

/** The dashboard session cookie: holds the session id, which the database knows only by its hash. */
export const SESSION_COOKIE = 'simo_session';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireSession` / `tenantAuth` when the caller is signed in to the dashboard. */
    session: ResolvedSession | null;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether a method changes state and so needs a CSRF token when authenticated by cookie. */
export const isStateChanging = (method: string) => !SAFE_METHODS.has(method.toUpperCase());

/** The session id a request presents in its cookie, if any. */
export const sessionCookieOf = (request: FastifyRequest): string | undefined =>
  request.cookies[SESSION_COOKIE];

/** The session of a request (from its `simo_session` cookie), or null. */
export function sessionFromRequest(
  deps: { sessions: SessionService },
  request: FastifyRequest,
): Promise<ResolvedSession | null> {
  return deps.sessions.resolve(sessionCookieOf(request));
}

/** Sets the session cookie for the whole absolute lifetime of the session. */
export function writeSessionCookie(reply: FastifyReply, session: NewSession): void {
  reply.setCookie(SESSION_COOKIE, session.sessionId, { maxAge: SESSION_MAX_MS / 1000 });
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE);
}

/**
 * Hands a one-time value to the next page view of a new session on any replica: in this process's
 * flash store, and sealed in a short-lived cookie only this session can open.
 */
export function putFlash(
  deps: { sessions: SessionService; flash: FlashStore },
  reply: FastifyReply,
  session: NewSession,
  value: unknown,
): void {
  deps.flash.put(session.sessionIdHash, value);
  reply.setCookie(FLASH_COOKIE, deps.sessions.sealFlash(session, value), { maxAge: FLASH_TTL_MS / 1000 });
}

/** Moves a sealed flash value from the request's cookie into the flash store, and drops the cookie. */
function restoreFlash(
  deps: { sessions: SessionService; flash: FlashStore },
  request: FastifyRequest,
  reply: FastifyReply,
  session: ResolvedSession,
): void {
  const sealed = request.cookies[FLASH_COOKIE];
  const sessionId = sessionCookieOf(request);
  if (!sealed || !sessionId) return;
  const value = deps.sessions.openFlash(sessionId, sealed);
  if (value !== undefined) deps.flash.put(session.sessionIdHash, value);
  reply.clearCookie(FLASH_COOKIE);
}

/** Throws 403 `csrf_failed` unless the request carries the session's CSRF token. */
export function assertSessionCsrf(request: FastifyRequest, session: ResolvedSession): void {
  if (!tokensMatch(submittedCsrfToken(request), session.csrfToken))
    throw new ApiError(
      'csrf_failed',
      'Missing or invalid CSRF token. Send the form field "_csrf" or the "x-csrf-token" header.',
    );
}

/**
 * Pre-handler for dashboard pages and form posts: requires a live session and sets
 * `request.session`. Without one it redirects (303) to `redirectTo` when given, else answers 401.
 * State-changing methods must also carry the session's CSRF token.
 */
export function requireSession(
  deps: { sessions: SessionService; flash: FlashStore },
  opts: { redirectTo?: string } = {},
): GuardHook {
  return async function requireDashboardSession(request, reply) {
    const session = await sessionFromRequest(deps, request);
    if (!session) {
      if (opts.redirectTo) {
        await reply.redirect(opts.redirectTo, 303);
        return;
      }
      throw new ApiError('invalid_credentials', 'Sign in to continue.');
    }
    if (session.tenant.suspended)
      throw new ApiError('tenant_suspended', 'This account is suspended. Contact support.');
    if (isStateChanging(request.method)) assertSessionCsrf(request, session);
    restoreFlash(deps, request, reply, session);
    request.session = session;
  };
}

/** What a page behind the session guard may rely on: the session is set. */
export interface SignedIn {
  session: ResolvedSession;
}

/** The guard of dashboard pages and form posts (see `requireSession`); `request.session` is set. */
export function sessionGuard(
  deps: { sessions: SessionService; flash: FlashStore },
  opts: { redirectTo?: string } = {},
): Guard<SignedIn> {
  return guard('session', requireSession(deps, opts));
}
