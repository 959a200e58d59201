import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import type { ApiKeyAuthenticator } from '../accounts/authenticator.js';
import type { RevocationBus } from '../accounts/revocation-bus.js';
import type { Db } from '../shared/db.js';
import { SecretBox } from '../webhooks/secret-box.js';
import { OAuthGrants } from './grants.js';
import { createOAuthProvider, RESOURCE_PATHS } from './provider.js';
import { OAuthTokenResolver } from './token-auth.js';

/** The authorization server and the connected apps it authorized. */
export interface OAuthServer {
  /**
   * The authorization server, built by its first use (an OAuth request, an access token to check):
   * oidc-provider and what it brings are ~5 MB of heap, carried for nothing by a gateway whose
   * callers all use API keys.
   */
  provider(): Promise<Provider>;
  grants: OAuthGrants;
}

/**
 * Builds the authorization server and makes the authenticator accept its access tokens wherever
 * keys are accepted. Grants the server ends itself (a reused refresh token, a revoked refresh token)
 * end the connected app, and every replica hears of it.
 */
export async function createOAuthServer(deps: {
  publicUrl: string;
  db: Db;
  serverSecret: string;
  logger: Logger;
  revocations: RevocationBus;
  authenticator: ApiKeyAuthenticator;
}): Promise<OAuthServer> {
  const grants = new OAuthGrants(deps.db, deps.revocations);
  const secrets = new SecretBox(deps.serverSecret, 'oauth-client-secrets/v1');
  let built: Promise<Provider> | undefined;
  const provider = (): Promise<Provider> => {
    if (!built) {
      built = createOAuthProvider({
        publicUrl: deps.publicUrl,
        db: deps.db,
        secrets,
        serverSecret: deps.serverSecret,
        logger: deps.logger,
        // Awaited by the provider: by the time it answers, every replica has dropped the grant's tokens.
        hooks: {
          grantDestroyed: (grantHash) => grants.endedByServer(grantHash),
          tokensDeleted: (grantHash) => grants.dropCached(grantHash),
        },
      });
      // A failed build is tried again by the next use instead of being remembered.
      built.catch(() => {
        built = undefined;
      });
    }
    return built;
  };
  const resources = new Set(RESOURCE_PATHS.map((p) => `${deps.publicUrl}${p}`));
  deps.authenticator.acceptAccessTokens(new OAuthTokenResolver(provider, deps.db, grants, resources));
  return { provider, grants };
}
