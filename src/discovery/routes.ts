import type { FastifyInstance } from 'fastify';
import { buildAgentCard, hybridAgentCardJson } from '../a2a/agent-card.js';
import type { Container } from '../container.js';
import type { RouteDoc } from '../http/route-docs.js';
import { buildMcpServerCard, SERVER_CARD_MEDIA_TYPE } from '../mcp/server-card.js';
import { docsContextFrom } from './docs-content.js';
import { buildLlmsFullTxt, buildLlmsTxt } from './llms-txt.js';
import { buildOpenApiDocument } from './openapi.js';
import { platformVersion } from './platform-version.js';
import type { RouteRegistry } from './route-registry.js';
import { sendDocument } from './send-document.js';
import {
  API_CATALOG_MEDIA_TYPE,
  aiPluginManifest,
  apiCatalog,
  logoSvg,
  PROTECTED_RESOURCES,
  protectedResourceMetadata,
} from './well-known.js';

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

const doc = (summary: string, responseContentType: string): { openapi: RouteDoc } => ({
  openapi: { summary, tags: ['Discovery'], security: 'none', responseContentType },
});

/**
 * The discovery documents agents read before they have a key: OpenAPI, llms.txt, the well-known
 * files (A2A card, MCP server card, RFC 9728 metadata, RFC 9727 catalog, plugin manifest).
 * Everything is generated from config, so every URL is absolute and built from `publicUrl`.
 */
export function registerDiscoveryRoutes(app: FastifyInstance, c: Container, registry: RouteRegistry): void {
  const { config } = c;
  const version = platformVersion();
  const json = (value: unknown) => JSON.stringify(value, null, 2);
  const docs = docsContextFrom(config);

  // Built on first use: by then every route (and its metadata) has been registered.
  let openapi: string | undefined;
  app.get('/openapi.json', { config: doc('This OpenAPI 3.1 document', 'application/json') }, (req, reply) => {
    // Compact: the document is large (75 KB against 190 KB indented) and read by programs.
    openapi ??= JSON.stringify(
      buildOpenApiDocument(registry.list(), {
        title: config.brand.name,
        version,
        publicUrl: config.publicUrl,
        supportEmail: config.brand.supportEmail,
      }),
    );
    return sendDocument(req, reply, openapi, { contentType: JSON_TYPE, maxAge: 300 });
  });

  const llms = buildLlmsTxt(docs);
  const llmsFull = buildLlmsFullTxt(docs);
  app.get(
    '/llms.txt',
    { config: doc('Documentation index for language models (llms.txt)', TEXT) },
    (req, reply) => sendDocument(req, reply, llms, { contentType: TEXT }),
  );
  app.get(
    '/llms-full.txt',
    { config: doc('The whole developer documentation as markdown', TEXT) },
    (req, reply) => sendDocument(req, reply, llmsFull, { contentType: TEXT }),
  );

  const card = json(hybridAgentCardJson(buildAgentCard(config, version)));
  for (const path of ['/.well-known/agent-card.json', '/.well-known/agent.json'])
    app.get(
      path,
      { config: doc('A2A agent card (v1.0 and v0.3 fields)', 'application/json') },
      (req, reply) =>
        sendDocument(req, reply, card, { contentType: JSON_TYPE, headers: { vary: 'A2A-Version' } }),
    );

  const serverCard = json(buildMcpServerCard(config, version));
  for (const path of ['/.well-known/mcp/server-card.json', '/mcp/server-card']) {
    app.get(path, { config: doc('MCP server card', SERVER_CARD_MEDIA_TYPE) }, (req, reply) =>
      sendDocument(req, reply, serverCard, { contentType: SERVER_CARD_MEDIA_TYPE }),
    );
    // Browsers preflight a cross-origin request that sends If-None-Match.
    app.options(
      path,
      { config: { openapi: { ...doc('CORS preflight', TEXT).openapi, hidden: true } } },
      (_req, reply) =>
        reply
          .code(204)
          .header('access-control-allow-origin', '*')
          .header('access-control-allow-methods', 'GET, HEAD, OPTIONS')
          .header('access-control-allow-headers', 'If-None-Match, A2A-Version')
          .header('access-control-max-age', '86400')
          .send(),
    );
  }

  for (const suffix of PROTECTED_RESOURCES) {
    const body = json(protectedResourceMetadata(config, suffix));
    const summary = `OAuth protected resource metadata (RFC 9728) for ${config.publicUrl}${suffix}`;
    app.get(
      `/.well-known/oauth-protected-resource${suffix}`,
      { config: doc(summary, 'application/json') },
      (req, reply) => sendDocument(req, reply, body, { contentType: JSON_TYPE }),
    );
  }

  const catalog = json(apiCatalog(config));
  const catalogLink = `<${config.publicUrl}/.well-known/api-catalog>; rel="api-catalog"`;
  // HEAD (answered by Fastify from this GET route) carries the same Link header, as RFC 9727 asks.
  app.get(
    '/.well-known/api-catalog',
    { config: doc('API catalog (RFC 9727 linkset)', API_CATALOG_MEDIA_TYPE) },
    (req, reply) =>
      sendDocument(req, reply, catalog, {
        contentType: API_CATALOG_MEDIA_TYPE,
        headers: { link: catalogLink },
      }),
  );

  // The base URL clients are given (and the RFC 9728 resource `/v1`) answers with pointers, not 404.
  const apiRoot = json({
    object: 'api',
    name: `${config.brand.name} API`,
    base_url: `${config.publicUrl}/v1`,
    openapi: `${config.publicUrl}/openapi.json`,
    documentation: `${config.publicUrl}/docs`,
    sign_up: `${config.publicUrl}/register`,
  });
  app.get(
    '/v1',
    { config: doc('Where the API is described and how to get a key', 'application/json') },
    (req, reply) => sendDocument(req, reply, apiRoot, { contentType: JSON_TYPE }),
  );

  const plugin = json(aiPluginManifest(config));
  app.get(
    '/.well-known/ai-plugin.json',
    { config: doc('Legacy OpenAI plugin manifest', 'application/json') },
    (req, reply) => sendDocument(req, reply, plugin, { contentType: JSON_TYPE }),
  );
  const logo = logoSvg(config);
  app.get(
    '/logo.svg',
    { config: doc('Logo referenced by the plugin manifest', 'image/svg+xml') },
    (req, reply) => sendDocument(req, reply, logo, { contentType: 'image/svg+xml', maxAge: 86400 }),
  );
}
