import type Provider from 'oidc-provider';
import type { ApiKeyRecord } from '../accounts/api-key-store.js';
import type { AccessTokenResolver, AuthContext } from '../accounts/authenticator.js';
import { findTenant } from '../accounts/tenant-store.js';
import type { Db } from '../shared/db.js';
import type { OAuthGrants } from './grants.js';
import { keyScopesFor, parseScopes } from './scopes.js';

/**
 * Checks an OAuth access token the way a key is checked: issued by our authorization server, not
 * expired, for one of our resources, its grant still live and its member still in the organization.
 * The caller is the organization, acting through a stand-in key that carries the grant's id (so
 * usage, limits and revocation events name the connected app) and only the scopes the token has.
 */
export class OAuthTokenResolver implements AccessTokenResolver {
  constructor(
    private readonly provider: () => Promise<Provider>,
    private readonly db: Db,
    private readonly grants: OAuthGrants,
    private readonly resources: ReadonlySet<string>,
  ) {}

  async resolve(value: string): Promise<{ auth: AuthContext; expiresAt: number } | undefined> {
    const token = await (await this.provider()).AccessToken.find(value);
    if (!token?.isValid || !token.grantId) return undefined;
    const audiences = Array.isArray(token.aud) ? token.aud : token.aud ? [token.aud] : [];
    if (!audiences.some((aud) => this.resources.has(aud))) return undefined;
    const grant = await this.grants.findActive(token.grantId);
    if (!grant || grant.clientId !== token.clientId) return undefined;
    const tenant = await findTenant(this.db, grant.tenantId);
    if (!tenant) return undefined;
    // The token's scopes, never more than the member approved.
    const scopes = parseScopes(token.scope).filter((s) => grant.scopes.includes(s));
    const key: ApiKeyRecord = {
      id: grant.id,
      tenantId: tenant.id,
      name: `OAuth app ${grant.clientName ?? grant.clientId}`,
      hash: '',
      prefix: '',
      last4: '',
      scopes: keyScopesFor(scopes),
      createdAt: grant.createdAt,
      lastUsedAt: null,
      revokedAt: null,
      createdBy: grant.userId,
      role: grant.role,
    };
    return {
      auth: { tenant, key, oauth: { grantId: grant.id, clientId: grant.clientId, scopes } },
      expiresAt: token.exp * 1000,
    };
  }

  touch(grantId: string, at: number): Promise<void> {
    return this.grants.touch(grantId, at);
  }
}
