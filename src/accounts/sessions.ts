import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import { ApiError } from '../http/errors.js';
import { clearCookie, cookiesAreSecure, readCookie, setCookie } from './cookies.js';
import { FLASH_COOKIE, FLASH_TTL_MS, type FlashStore, openFlash, sealFlash } from './flash-store.js';
import { submittedCsrfToken, tokensMatch } from './form-csrf.js';
import { type Db, findTenant, type Tenant } from './tenant-store.js';

export const SESSION_COOKIE = 'simo_session';
/** A session ends after this long without use… */
export const SESSION_IDLE_MS = 7 * 24 * 60 * 60 * 1000;
/** …and at the latest this long after sign-in, however active. */
export const SESSION_MAX_MS = 30 * 24 * 60 * 60 * 1000;
// Extending the expiry on every request would write on every page view; once a minute is plenty.
const SLIDE_INTERVAL_MS = 60_000;
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** The signed-in user of a session. */
export interface SessionUser {
  id: string;
  email: string;
}

/** A live dashboard session, as pages and routes see it. */
export interface ResolvedSession {
  user: SessionUser;
  tenant: Tenant;
  /** Synchronizer token: embed as `_csrf` in forms or send as `x-csrf-token` on state changes. */
  csrfToken: string;
  /** SHA-256 of the session id: a stable handle (e.g. for the flash store) that is not the secret. */
  sessionIdHash: string;
}

export interface NewSession {
  /** The cookie value. Never stored or logged. */
  sessionId: string;
  csrfToken: string;
  sessionIdHash: string;
}

export const hashSessionId = (sessionId: string) => createHash('sha256').update(sessionId).digest('hex');

// Derived from the secret id, so it is never stored and a database dump cannot forge it.
const csrfTokenFor = (sessionId: string) =>
  createHash('sha256').update(`csrf:${sessionId}`).digest('base64url');

/** Server-side sessions for the dashboard: only a hash of the id is stored. */
export class SessionService {
  readonly secureCookies: boolean;

  constructor(
    private readonly db: Db,
    opts: { publicUrl: string },
    private readonly now: () => number = Date.now,
  ) {
    this.secureCookies = cookiesAreSecure(opts.publicUrl);
  }

  /** Starts a session; pass `trx` to create it inside a caller's transaction. */
  async create(userId: string, tenantId: string, trx: Db = this.db): Promise<NewSession> {
    const sessionId = randomBytes(32).toString('base64url');
    const sessionIdHash = hashSessionId(sessionId);
    const now = this.now();
    // Sign-ins are rare enough to tidy up expired sessions on the way (indexed on expires_at).
    await trx.deleteFrom('sessions').where('expires_at', '<=', now).execute();
    await trx
      .insertInto('sessions')
      .values({
        id_hash: sessionIdHash,
        user_id: userId,
        tenant_id: tenantId,
        created_at: now,
        last_seen_at: now,
        expires_at: now + SESSION_IDLE_MS,
      })
      .execute();
    return { sessionId, csrfToken: csrfTokenFor(sessionId), sessionIdHash };
  }

  /** The session behind a cookie value, or null when unknown, expired or malformed. */
  async resolve(cookieValue: string | undefined): Promise<ResolvedSession | null> {
    if (!cookieValue || !SESSION_ID_PATTERN.test(cookieValue)) return null;
    const idHash = hashSessionId(cookieValue);
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select([
        'sessions.user_id',
        'sessions.tenant_id',
        'sessions.created_at',
        'sessions.last_seen_at',
        'sessions.expires_at',
        'users.email',
      ])
      .where('sessions.id_hash', '=', idHash)
      .executeTakeFirst();
    if (!row) return null;
    const now = this.now();
    if (Number(row.expires_at) <= now) {
      await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
      return null;
    }
    const tenant = await findTenant(this.db, row.tenant_id);
    if (!tenant) return null;
    if (now - Number(row.last_seen_at) > SLIDE_INTERVAL_MS) {
      const expiresAt = Math.min(now + SESSION_IDLE_MS, Number(row.created_at) + SESSION_MAX_MS);
      await this.db
        .updateTable('sessions')
        .set({ last_seen_at: now, expires_at: expiresAt })
        .where('id_hash', '=', idHash)
        .execute();
    }
    return {
      user: { id: row.user_id, email: row.email },
      tenant,
      csrfToken: csrfTokenFor(cookieValue),
      sessionIdHash: idHash,
    };
  }

  async destroy(cookieValue: string | undefined): Promise<void> {
    if (!cookieValue || !SESSION_ID_PATTERN.test(cookieValue)) return;
    await this.db.deleteFrom('sessions').where('id_hash', '=', hashSessionId(cookieValue)).execute();
  }

  /** Sets the session cookie: HttpOnly, SameSite=Lax, Path=/, Secure on https. */
  writeCookie(reply: FastifyReply, sessionId: string): void {
    setCookie(reply, SESSION_COOKIE, sessionId, {
      secure: this.secureCookies,
      maxAgeSeconds: SESSION_MAX_MS / 1000,
    });
  }

  clearCookie(reply: FastifyReply): void {
    clearCookie(reply, SESSION_COOKIE, { secure: this.secureCookies });
  }

  /**
   * Hands a one-time value to the next page view of this session on any replica: in this process's
   * flash store, and sealed in a short-lived cookie only this session can open.
   */
  putFlash(flash: FlashStore, reply: FastifyReply, session: NewSession, value: unknown): void {
    flash.put(session.sessionIdHash, value);
    const sealed = sealFlash(session.sessionId, value, this.now() + FLASH_TTL_MS);
    setCookie(reply, FLASH_COOKIE, sealed, {
      secure: this.secureCookies,
      maxAgeSeconds: FLASH_TTL_MS / 1000,
    });
  }

  /** Moves a sealed flash value from the request's cookie into the flash store, and drops the cookie. */
  restoreFlash(
    flash: FlashStore,
    request: FastifyRequest,
    reply: FastifyReply,
    session: ResolvedSession,
  ): void {
    const sealed = readCookie(request, FLASH_COOKIE);
    const sessionId = readCookie(request, SESSION_COOKIE);
    if (!sealed || !sessionId) return;
    const value = openFlash(sessionId, sealed, this.now());
    if (value !== undefined) flash.put(session.sessionIdHash, value);
    clearCookie(reply, FLASH_COOKIE, { secure: this.secureCookies });
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireSession` / `tenantAuth` when the caller is signed in to the dashboard. */
    session: ResolvedSession | null;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether a method changes state and so needs a CSRF token when authenticated by cookie. */
export const isStateChanging = (method: string) => !SAFE_METHODS.has(method.toUpperCase());

/** The session of a request (from its `simo_session` cookie), or null. */
export function sessionFromRequest(
  c: { sessions: SessionService },
  request: FastifyRequest,
): Promise<ResolvedSession | null> {
  return c.sessions.resolve(readCookie(request, SESSION_COOKIE));
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
  c: { sessions: SessionService; flash: FlashStore },
  opts: { redirectTo?: string } = {},
): preHandlerHookHandler {
  return async function requireDashboardSession(request, reply) {
    const session = await sessionFromRequest(c, request);
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
    c.sessions.restoreFlash(c.flash, request, reply, session);
    request.session = session;
  };
}
