import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import type { RouteDoc } from '../http/route-docs.js';
import { ApiError } from '../shared/errors.js';
import { OAUTH_PREFIX, OAUTH_ROUTES } from './provider.js';

const METHODS = ['GET', 'POST', 'OPTIONS', 'DELETE', 'PUT'] as const;

/**
 * Hands the authorization server's requests to oidc-provider (a Koa application) untouched: its
 * endpoints under `/oauth/`, its OpenID configuration, and the RFC 8414 metadata at the root
 * well-known path. Bodies are left unread here, for the provider's own parser. The provider builds
 * every URL it answers with from the public URL, whatever `Host` the request carried.
 */
export function registerOAuthServerRoutes(
  app: FastifyInstance,
  deps: { oauth: { provider(): Promise<Provider> }; config: { publicUrl: string } },
): void {
  const publicUrl = new URL(deps.config.publicUrl);
  let handle: ReturnType<Provider['callback']> | undefined;
  const providerHandler = async () => {
    if (handle) return handle;
    const provider = await deps.oauth.provider();
    // Koa reads the scheme from X-Forwarded-Proto only when told to trust it; we set it ourselves.
    provider.proxy = true;
    handle ??= provider.callback();
    return handle;
  };

  // Endpoints that only take POST answer a GET with 405, like every other route (the provider says 404).
  const postOnly = new Set([
    OAUTH_ROUTES.token,
    OAUTH_ROUTES.registration,
    OAUTH_ROUTES.revocation,
    OAUTH_ROUTES.pushed_authorization_request,
  ]);
  const forward = (rewriteTo?: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '';
    if ((request.method === 'GET' || request.method === 'HEAD') && postOnly.has(path)) {
      reply.header('allow', 'POST, OPTIONS');
      throw new ApiError('method_not_allowed', `Method ${request.method} is not allowed on ${path}.`);
    }
    const handle = await providerHandler();
    reply.hijack();
    const req = request.raw;
    const headers = reply.getHeaders();
    for (const [name, value] of Object.entries(headers))
      if (value !== undefined) reply.raw.setHeader(name, value as string | string[]);
    req.headers.host = publicUrl.host;
    req.headers['x-forwarded-proto'] = publicUrl.protocol.slice(0, -1);
    delete req.headers['x-forwarded-host'];
    if (rewriteTo) req.url = rewriteTo;
    handle(req, reply.raw);
  };

  const doc = (summary: string): RouteDoc => ({
    summary,
    description: 'Served by the OAuth 2.1 authorization server; described by its RFC 8414 metadata.',
    tags: ['Discovery'],
    hidden: true,
    security: 'none',
  });

  app.register(async (scope) => {
    // The provider reads request bodies itself.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    scope.route({
      method: [...METHODS],
      url: `${OAUTH_PREFIX}/*`,
      config: { openapi: doc('OAuth authorization server endpoints') },
      handler: forward(),
    });
    scope.route({
      method: ['GET', 'OPTIONS'],
      url: '/.well-known/openid-configuration',
      config: { openapi: doc('OpenID Connect discovery of the authorization server') },
      handler: forward(),
    });
    // RFC 8414 metadata for the issuer (the public URL): the same document as the OpenID configuration.
    scope.route({
      method: ['GET', 'OPTIONS'],
      url: '/.well-known/oauth-authorization-server',
      config: { openapi: doc('OAuth authorization server metadata (RFC 8414)') },
      handler: forward('/.well-known/openid-configuration'),
    });
  });
}
