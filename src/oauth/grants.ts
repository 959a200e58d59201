import { recordAudit } from '../accounts/audit-log.js';
import type { RevocationBus } from '../accounts/revocation-bus.js';
import type { Role } from '../accounts/roles.js';
import type { Db } from '../shared/db.js';
import { randomBase62 } from '../shared/ids.js';
import { claimInteraction, deleteGrantRecords, oauthHash } from './adapter.js';
import { type OAuthScope, parseScopes } from './scopes.js';

/** An app authorized for an organization, as the dashboard lists it. */
export interface ConnectedApp {
  id: string;
  clientId: string;
  clientName: string | null;
  redirectUri: string | null;
  scopes: OAuthScope[];
  userId: string;
  userEmail: string | null;
  createdAt: number;
  lastUsedAt: number | null;
}

/** What the token check needs of a live grant. */
export interface ActiveGrant {
  id: string;
  tenantId: string;
  userId: string;
  clientId: string;
  clientName: string | null;
  scopes: OAuthScope[];
  role: Role;
  createdAt: number;
}

export interface NewGrant {
  grantId: string;
  tenantId: string;
  userId: string;
  clientId: string;
  clientName: string | null;
  redirectUri: string | null;
  scopes: OAuthScope[];
  ip: string | null;
}

/**
 * Connected apps: which organization and member each grant of the authorization server acts for,
 * with the scopes approved. Revoking one deletes every code and token of its grant and tells every
 * replica at once (the revocation bus drops the grant's tokens from their caches).
 */
export class OAuthGrants {
  constructor(
    private readonly db: Db,
    private readonly revocations: RevocationBus,
  ) {}

  /** Records an approved grant (and audits it); answers the connected app's id. */
  async record(grant: NewGrant, at = Date.now()): Promise<string> {
    const id = `oag_${randomBase62(20)}`;
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('oauth_grants')
        .values({
          id,
          grant_hash: oauthHash(grant.grantId),
          tenant_id: grant.tenantId,
          user_id: grant.userId,
          client_id: grant.clientId,
          client_name: grant.clientName,
          redirect_uri: grant.redirectUri,
          scopes: JSON.stringify(grant.scopes),
          created_at: at,
          last_used_at: null,
          revoked_at: null,
        })
        .execute();
      await recordAudit(
        trx,
        {
          tenantId: grant.tenantId,
          actor: `user:${grant.userId}`,
          action: 'oauth.app_authorized',
          target: id,
          ip: grant.ip,
          detail: { client_id: grant.clientId, client_name: grant.clientName, scopes: grant.scopes },
        },
        at,
      );
    });
    return id;
  }

  /** Claims the decision on an authorization request: only one of parallel approvals records an app. */
  decide(interactionUid: string): Promise<boolean> {
    return claimInteraction(this.db, interactionUid, Date.now());
  }

  /** The live grant behind an authorization-server grant id, with the member's current role. */
  async findActive(grantId: string): Promise<ActiveGrant | undefined> {
    const row = await this.db
      .selectFrom('oauth_grants')
      .innerJoin('memberships', (join) =>
        join
          .onRef('memberships.tenant_id', '=', 'oauth_grants.tenant_id')
          .onRef('memberships.user_id', '=', 'oauth_grants.user_id'),
      )
      .select([
        'oauth_grants.id',
        'oauth_grants.tenant_id',
        'oauth_grants.user_id',
        'oauth_grants.client_id',
        'oauth_grants.client_name',
        'oauth_grants.scopes',
        'oauth_grants.created_at',
        'memberships.role',
      ])
      .where('oauth_grants.grant_hash', '=', oauthHash(grantId))
      .where('oauth_grants.revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      id: row.id,
      tenantId: row.tenant_id,
      userId: row.user_id,
      clientId: row.client_id,
      clientName: row.client_name,
      scopes: parseScopes((JSON.parse(row.scopes) as string[]).join(' ')),
      role: row.role as Role,
      createdAt: Number(row.created_at),
    };
  }

  /** The organization's connected apps, newest first; `userId` narrows them to one member's. */
  async list(tenantId: string, userId?: string): Promise<ConnectedApp[]> {
    let query = this.db
      .selectFrom('oauth_grants')
      .leftJoin('users', 'users.id', 'oauth_grants.user_id')
      .select([
        'oauth_grants.id',
        'oauth_grants.client_id',
        'oauth_grants.client_name',
        'oauth_grants.redirect_uri',
        'oauth_grants.scopes',
        'oauth_grants.user_id',
        'users.email',
        'oauth_grants.created_at',
        'oauth_grants.last_used_at',
      ])
      .where('oauth_grants.tenant_id', '=', tenantId)
      .where('oauth_grants.revoked_at', 'is', null);
    if (userId) query = query.where('oauth_grants.user_id', '=', userId);
    const rows = await query.orderBy('oauth_grants.created_at', 'desc').limit(200).execute();
    return rows.map((r) => ({
      id: r.id,
      clientId: r.client_id,
      clientName: r.client_name,
      redirectUri: r.redirect_uri,
      scopes: parseScopes((JSON.parse(r.scopes) as string[]).join(' ')),
      userId: r.user_id,
      userEmail: r.email ?? null,
      createdAt: Number(r.created_at),
      lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
    }));
  }

  /**
   * Revokes a connected app of the organization: false when there is none by that id (or, with
   * `userId`, none of that member's). Its codes and tokens are deleted before this returns.
   */
  async revoke(
    tenantId: string,
    id: string,
    by: { actor: string; ip: string | null; userId?: string },
  ): Promise<boolean> {
    const row = await this.db
      .selectFrom('oauth_grants')
      .select(['grant_hash', 'user_id', 'client_id'])
      .where('id', '=', id)
      .where('tenant_id', '=', tenantId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row || (by.userId !== undefined && row.user_id !== by.userId)) return false;
    await this.end(row.grant_hash, tenantId, id, by.actor, by.ip, row.client_id);
    return true;
  }

  /**
   * The authorization server ended a grant itself (a reused refresh token or code, or the client
   * revoking its refresh token, RFC 7009): the connected app ends too.
   */
  async endedByServer(grantHash: string): Promise<void> {
    const row = await this.db
      .selectFrom('oauth_grants')
      .select(['id', 'tenant_id', 'client_id'])
      .where('grant_hash', '=', grantHash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (row) await this.end(grantHash, row.tenant_id, row.id, 'oauth-server', null, row.client_id);
  }

  /** Access tokens of a grant were deleted: every replica drops the grant's cached tokens. */
  async dropCached(grantHash: string): Promise<void> {
    const row = await this.db
      .selectFrom('oauth_grants')
      .select('id')
      .where('grant_hash', '=', grantHash)
      .executeTakeFirst();
    if (row) await this.revocations.publish({ kind: 'key', keyId: row.id });
  }

  /**
   * A member's role changed: their apps act with the new role from the next request on, on every
   * replica, instead of keeping the old one for as long as the key cache holds their tokens.
   */
  async memberRoleChanged(tenantId: string, userId: string): Promise<void> {
    for (const app of await this.list(tenantId, userId))
      await this.revocations.publish({ kind: 'key', keyId: app.id });
  }

  /** Ends the grants of a member (removed from the organization). */
  async revokeMember(tenantId: string, userId: string, actor: string): Promise<void> {
    for (const app of await this.list(tenantId, userId))
      await this.revoke(tenantId, app.id, { actor, ip: null });
  }

  async touch(id: string, at: number): Promise<void> {
    await this.db.updateTable('oauth_grants').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  private async end(
    grantHash: string,
    tenantId: string,
    id: string,
    actor: string,
    ip: string | null,
    clientId: string,
  ): Promise<void> {
    const at = Date.now();
    const ended = await this.db.transaction().execute(async (trx) => {
      // Only the request that marks the grant revoked goes on: parallel revocations audit it once.
      const marked = await trx
        .updateTable('oauth_grants')
        .set({ revoked_at: at })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(marked.numUpdatedRows) !== 1) return false;
      await deleteGrantRecords(trx, grantHash);
      await recordAudit(
        trx,
        { tenantId, actor, action: 'oauth.app_revoked', target: id, ip, detail: { client_id: clientId } },
        at,
      );
      return true;
    });
    if (ended) await this.revocations.publish({ kind: 'key', keyId: id });
  }
}
