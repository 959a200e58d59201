import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../shared/db.js';
import { FLASH_TTL_MS, openFlash, sealFlash } from './flash-store.js';
import { isRole, type Role } from './roles.js';
import { type Tenant, tenantFromRow } from './tenant-store.js';

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
  /** The organization the session is working in (members of several switch between them). */
  tenant: Tenant;
  /** The user's role in that organization. */
  role: Role;
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

/**
 * Server-side sessions for the dashboard: only a hash of the id is stored. Knows nothing of HTTP:
 * the route layer (`http/session-auth.ts`) reads and writes the cookie.
 */
export class SessionService {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

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

  /**
   * The session behind a cookie value, with its user and tenant in one query, or null when unknown,
   * expired or malformed.
   */
  async resolve(cookieValue: string | undefined): Promise<ResolvedSession | null> {
    if (!cookieValue || !SESSION_ID_PATTERN.test(cookieValue)) return null;
    const idHash = hashSessionId(cookieValue);
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .innerJoin('tenants', 'tenants.id', 'sessions.tenant_id')
      // A member removed from the organization has no membership row: their sessions end at once.
      .innerJoin('memberships', (join) =>
        join
          .onRef('memberships.tenant_id', '=', 'sessions.tenant_id')
          .onRef('memberships.user_id', '=', 'sessions.user_id'),
      )
      .selectAll('tenants')
      .select([
        'sessions.user_id as session_user_id',
        'sessions.created_at as session_created_at',
        'sessions.last_seen_at as session_last_seen_at',
        'sessions.expires_at as session_expires_at',
        'users.email as user_email',
        'memberships.role as member_role',
      ])
      .where('sessions.id_hash', '=', idHash)
      .executeTakeFirst();
    if (!row) return null;
    const now = this.now();
    if (Number(row.session_expires_at) <= now) {
      await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
      return null;
    }
    if (now - Number(row.session_last_seen_at) > SLIDE_INTERVAL_MS) {
      const expiresAt = Math.min(now + SESSION_IDLE_MS, Number(row.session_created_at) + SESSION_MAX_MS);
      await this.db
        .updateTable('sessions')
        .set({ last_seen_at: now, expires_at: expiresAt })
        .where('id_hash', '=', idHash)
        .execute();
    }
    const {
      session_user_id,
      session_created_at,
      session_last_seen_at,
      session_expires_at,
      user_email,
      member_role,
      ...tenant
    } = row;
    return {
      user: { id: session_user_id, email: user_email },
      tenant: tenantFromRow(tenant),
      role: isRole(member_role) ? member_role : 'developer',
      csrfToken: csrfTokenFor(cookieValue),
      sessionIdHash: idHash,
    };
  }

  async destroy(cookieValue: string | undefined): Promise<void> {
    if (!cookieValue || !SESSION_ID_PATTERN.test(cookieValue)) return;
    await this.db.deleteFrom('sessions').where('id_hash', '=', hashSessionId(cookieValue)).execute();
  }

  /** Moves a session to another organization of its user (the caller checked the membership). */
  async switchOrganization(sessionIdHash: string, tenantId: string): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ tenant_id: tenantId })
      .where('id_hash', '=', sessionIdHash)
      .execute();
  }

  /** Ends every session of a user, except (optionally) the one by which they just acted. */
  async endAllForUser(userId: string, exceptIdHash?: string, trx: Db = this.db): Promise<void> {
    let query = trx.deleteFrom('sessions').where('user_id', '=', userId);
    if (exceptIdHash) query = query.where('id_hash', '!=', exceptIdHash);
    await query.execute();
  }

  /**
   * Seals a one-time value for the next page view of a new session, on whichever replica serves it:
   * only the holder of the session id can open it. The caller stores the result in a cookie.
   */
  sealFlash(session: NewSession, value: unknown): string {
    return sealFlash(session.sessionId, value, this.now() + FLASH_TTL_MS);
  }

  /** Opens a value sealed by `sealFlash` for this session id; undefined when expired or not its own. */
  openFlash(sessionId: string, sealed: string): unknown {
    return openFlash(sessionId, sealed, this.now());
  }
}
