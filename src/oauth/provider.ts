import { createPrivateKey, hkdfSync } from 'node:crypto';
import type { ClientInstance, KoaContextLike, default as Provider } from 'oidc-provider';
import type { Logger } from 'pino';
import { PROTECTED_RESOURCES } from '../discovery/well-known.js';
import { escapeHtml } from '../portal/html.js';
import type { Db } from '../shared/db.js';
import { ApiError } from '../shared/errors.js';
import type { SecretBox } from '../webhooks/secret-box.js';
import { type AdapterHooks, databaseAdapter } from './adapter.js';
import { OAUTH_SCOPES } from './scopes.js';

/** Where the authorization server's endpoints live (the metadata is also at the root well-known path). */
export const OAUTH_PREFIX = '/oauth';
export const OAUTH_ROUTES = {
  authorization: `${OAUTH_PREFIX}/authorize`,
  token: `${OAUTH_PREFIX}/token`,
  registration: `${OAUTH_PREFIX}/register`,
  revocation: `${OAUTH_PREFIX}/revoke`,
  jwks: `${OAUTH_PREFIX}/jwks`,
  end_session: `${OAUTH_PREFIX}/logout`,
  userinfo: `${OAUTH_PREFIX}/userinfo`,
  introspection: `${OAUTH_PREFIX}/introspect`,
  pushed_authorization_request: `${OAUTH_PREFIX}/par`,
  challenge: `${OAUTH_PREFIX}/challenge`,
  code_verification: `${OAUTH_PREFIX}/device`,
  device_authorization: `${OAUTH_PREFIX}/device/auth`,
  backchannel_authentication: `${OAUTH_PREFIX}/backchannel`,
};
export const interactionPath = (uid: string) => `${OAUTH_PREFIX}/interaction/${uid}`;

/** The resources tokens can be issued for: those with RFC 9728 metadata (the whole API and its parts). */
export const RESOURCE_PATHS = PROTECTED_RESOURCES;

export const ACCESS_TOKEN_TTL_S = 3600;
const REFRESH_TOKEN_TTL_S = 30 * 24 * 3600;

export interface OAuthProviderOptions {
  publicUrl: string;
  db: Db;
  /** Seals client secrets; its server secret also keys the provider's cookies and signing key. */
  secrets: SecretBox;
  serverSecret: string;
  logger: Logger;
  /** Run before the provider answers when it ends a grant or deletes tokens. */
  hooks: AdapterHooks;
}

const derive = (secret: string, purpose: string, length: number) =>
  Buffer.from(hkdfSync('sha256', secret, 'simosphere', purpose, length));

/** An Ed25519 signing key every replica derives alike from the server secret (ID tokens only). */
function signingKey(serverSecret: string): Record<string, unknown> {
  const pkcs8 = Buffer.concat([
    Buffer.from('302e020100300506032b657004220420', 'hex'),
    derive(serverSecret, 'oauth-signing/v1', 32),
  ]);
  const jwk = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
  return { ...jwk, kid: 'simo-oauth-1', alg: 'EdDSA', use: 'sig' };
}

/**
 * Loads oidc-provider. On Node.js before 22 it prints a warning to the console as it loads, although it
 * works there; the warning goes to our log at info level instead, so one-shot CLI commands keep their
 * one-line errors and the server's output stays structured.
 */
async function loadOidcProvider(logger: Logger): Promise<typeof import('oidc-provider')> {
  const consoleWarn = console.warn;
  console.warn = (...args: unknown[]) => logger.info({ library: 'oidc-provider' }, args.join(' '));
  try {
    return await import('oidc-provider');
  } finally {
    console.warn = consoleWarn;
  }
}

/**
 * The OAuth 2.1 authorization server (oidc-provider): authorization code with PKCE (S256) only,
 * dynamic client registration, refresh tokens rotated on every use (a reused one revokes the grant),
 * revocation, and resource indicators: every token names the resource it was issued for. Access tokens
 * are opaque and stored (hashed) in the shared database, so any replica can check them and a revoked
 * one is gone for all at once.
 */
export async function createOAuthProvider(opts: OAuthProviderOptions): Promise<Provider> {
  const { default: Provider, errors } = await loadOidcProvider(opts.logger);
  const resources = new Set(RESOURCE_PATHS.map((p) => `${opts.publicUrl}${p}`));
  const allScopes = OAUTH_SCOPES.join(' ');
  const provider = new Provider(opts.publicUrl, {
    adapter: databaseAdapter(
      opts.db,
      opts.secrets,
      opts.hooks,
      (model) =>
        new errors.InvalidGrant(
          model === 'RefreshToken' ? 'refresh token already used' : 'authorization code already consumed',
        ),
    ),
    clients: [],
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
    scopes: ['openid', ...OAUTH_SCOPES],
    claims: { openid: ['sub'] },
    responseTypes: ['code'],
    pkce: { required: () => true },
    routes: OAUTH_ROUTES,
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true, initialAccessToken: false },
      revocation: { enabled: true },
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // Without a `resource` parameter the token is for the whole API.
        defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string[]) => oneOf ?? opts.publicUrl,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => {
          if (!resources.has(resource))
            throw new errors.InvalidTarget(`resource must be one of ${[...resources].join(', ')}`);
          return {
            scope: allScopes,
            audience: resource,
            accessTokenTTL: ACCESS_TOKEN_TTL_S,
            accessTokenFormat: 'opaque',
          };
        },
      },
    },
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'EdDSA',
    },
    enabledJWA: { idTokenSigningAlgValues: ['EdDSA'] },
    jwks: { keys: [signingKey(opts.serverSecret)] },
    cookies: {
      keys: [derive(opts.serverSecret, 'oauth-cookies/v1', 32).toString('base64url')],
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL_S,
      AuthorizationCode: 60,
      RefreshToken: REFRESH_TOKEN_TTL_S,
      Grant: REFRESH_TOKEN_TTL_S,
      Interaction: 3600,
      Session: 24 * 3600,
      IdToken: 3600,
    },
    // OAuth 2.1: a redirect URI is always named, and always one the client registered.
    allowOmittingSingleRegisteredRedirectUri: false,
    issueRefreshToken: async (_ctx: unknown, client: ClientInstance) =>
      client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    // Tokens outlive the browser session at the authorization server; the grant is what ends them.
    expiresWithSession: async () => false,
    // Every authorization asks the member again (the grant of an earlier one may have been revoked
    // or been for another organization): only the grant made by this interaction is used.
    loadExistingGrant: async (ctx: KoaContextLike) => {
      const grantId = ctx.oidc.result?.consent?.grantId;
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => interactionPath(interaction.uid) },
    // Browser-based clients may call the token endpoint from the origin of a registered redirect URI.
    clientBasedCORS: (_ctx: unknown, origin: string, client: ClientInstance) =>
      origin !== 'null' && client.redirectUris.some((uri) => URL.parse(uri)?.origin === origin),
    renderError: async (ctx: KoaContextLike, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = errorPage(out.error ?? 'server_error', out.error_description ?? '');
    },
  });
  provider.on('server_error', (_ctx, err) => opts.logger.error({ err }, 'authorization server error'));
  // A path under /oauth/ the provider does not serve (an unknown endpoint, a disabled feature such as
  // introspection, a method an endpoint does not take) gets the API's 404 envelope, not Koa's
  // plain-text "Not Found".
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.status !== 404 || ctx.body != null) return;
    ctx.status = 404;
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = new ApiError('not_found', `No route for ${ctx.method} ${ctx.path}.`).toBody();
  });
  return provider;
}

/** The page a browser sees when the authorization request itself is wrong (nothing to redirect to). */
function errorPage(error: string, description: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Authorization failed</title></head><body><main><h1>Authorization failed</h1><p><code>${escapeHtml(error)}</code></p><p>${escapeHtml(description)}</p><p><a href="/">Back to the home page</a></p></main></body></html>`;
}
