import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { buildAgentCard, hybridAgentCardJson } from '../a2a/agent-card.js';
import type { Container } from '../container.js';
import { defineRoute, publicRoute } from '../http/define-route.js';
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

/** Config only: every discovery document is generated from it. */
export type DiscoveryDeps = Pick<Container, 'config'>;

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

/** What a discovery route says about its document in /openapi.json. */
interface DocumentText {
  summary: string;
  description: string;
  contentType: string;
}

type Send = (request: FastifyRequest, reply: FastifyReply) => FastifyReply | Promise<FastifyReply>;

/** A public `GET` of one generated document (ETag, `304`, CORS: see `sendDocument`). */
function documentRoute(app: FastifyInstance, url: string, text: DocumentText, send: Send): void {
  defineRoute(app, {
    method: 'GET',
    url,
    guard: publicRoute,
    doc: {
      summary: text.summary,
      description: text.description,
      tags: ['Discovery'],
      responseContentType: text.contentType,
    },
    handler: async (request, reply) => send(request, reply),
  });
}

/**
 * The discovery documents agents read before they have a key: OpenAPI, llms.txt, the well-known
 * files (A2A card, MCP server card, RFC 9728 metadata, RFC 9727 catalog, plugin manifest).
 * Everything is generated from config, so every URL is absolute and built from `publicUrl`.
 */
export function registerDiscoveryRoutes(
  app: FastifyInstance,
  deps: DiscoveryDeps,
  registry: RouteRegistry,
): void {
  const { config } = deps;
  const version = platformVersion();
  const json = (value: unknown) => JSON.stringify(value, null, 2);
  const docs = docsContextFrom(config);

  // Built on first use: by then every route (and its metadata) has been registered.
  let openapi: string | undefined;
  documentRoute(
    app,
    '/openapi.json',
    {
      summary: 'This OpenAPI 3.1 document',
      description:
        'Every public operation with its request and response schemas, generated from the schemas that validate the requests.',
      contentType: 'application/json',
    },
    (req, reply) => {
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
    },
  );

  const llms = buildLlmsTxt(docs);
  const llmsFull = buildLlmsFullTxt(docs);
  documentRoute(
    app,
    '/llms.txt',
    {
      summary: 'Documentation index for language models (llms.txt)',
      description: 'A short markdown index of the documentation, with links, in the llms.txt format.',
      contentType: TEXT,
    },
    (req, reply) => sendDocument(req, reply, llms, { contentType: TEXT }),
  );
  documentRoute(
    app,
    '/llms-full.txt',
    {
      summary: 'The whole developer documentation as markdown',
      description:
        'The developer documentation in one markdown file, for language models and offline reading.',
      contentType: TEXT,
    },
    (req, reply) => sendDocument(req, reply, llmsFull, { contentType: TEXT }),
  );

  // Built on first use, like the MCP card: it needs the A2A SDK.
  let card: Promise<string> | undefined;
  const agentCard = () => {
    if (!card) {
      card = hybridAgentCardJson(buildAgentCard(config, version)).then(json);
      card.catch(() => {
        card = undefined;
      });
    }
    return card;
  };
  for (const path of ['/.well-known/agent-card.json', '/.well-known/agent.json'])
    documentRoute(
      app,
      path,
      {
        summary: 'A2A agent card (v1.0 and v0.3 fields)',
        description: `The A2A agent card of \`/a2a\`: skills, transports and security, for A2A clients of either protocol version.${
          path.endsWith('agent.json') ? ' The path older A2A clients read.' : ''
        }`,
        contentType: 'application/json',
      },
      async (req, reply) =>
        sendDocument(req, reply, await agentCard(), {
          contentType: JSON_TYPE,
          headers: { vary: 'A2A-Version' },
        }),
    );

  // Built on first use: the card needs the MCP SDK, which a gateway nobody asks about MCP never loads.
  let serverCard: Promise<string> | undefined;
  const mcpServerCard = () => {
    if (!serverCard) {
      serverCard = buildMcpServerCard(config, version).then(json);
      serverCard.catch(() => {
        serverCard = undefined;
      });
    }
    return serverCard;
  };
  for (const path of ['/.well-known/mcp/server-card.json', '/mcp/server-card']) {
    documentRoute(
      app,
      path,
      {
        summary: 'MCP server card',
        description: `Describes the MCP server at \`/mcp\` (transport, tools, authentication) before a client connects${
          path.startsWith('/mcp') ? '; the same card as `/.well-known/mcp/server-card.json`' : ''
        }.`,
        contentType: SERVER_CARD_MEDIA_TYPE,
      },
      async (req, reply) =>
        sendDocument(req, reply, await mcpServerCard(), { contentType: SERVER_CARD_MEDIA_TYPE }),
    );
    // Browsers preflight a cross-origin request that sends If-None-Match.
    defineRoute(app, {
      method: 'OPTIONS',
      url: path,
      guard: publicRoute,
      doc: {
        summary: 'CORS preflight',
        description: 'Lets browser-based agents read the card cross-origin.',
        tags: ['Discovery'],
        hidden: true,
      },
      handler: async (_req, reply) =>
        reply
          .code(204)
          .header('access-control-allow-origin', '*')
          .header('access-control-allow-methods', 'GET, HEAD, OPTIONS')
          .header('access-control-allow-headers', 'If-None-Match, A2A-Version')
          .header('access-control-max-age', '86400')
          .send(),
    });
  }

  for (const suffix of PROTECTED_RESOURCES) {
    const body = json(protectedResourceMetadata(config, suffix));
    documentRoute(
      app,
      `/.well-known/oauth-protected-resource${suffix}`,
      {
        summary: `OAuth protected resource metadata (RFC 9728) for ${config.publicUrl}${suffix}`,
        description:
          'How to authenticate to this resource (bearer API keys), the document a 401 points to in `WWW-Authenticate`.',
        contentType: 'application/json',
      },
      (req, reply) => sendDocument(req, reply, body, { contentType: JSON_TYPE }),
    );
  }

  const catalog = json(apiCatalog(config));
  const catalogLink = `<${config.publicUrl}/.well-known/api-catalog>; rel="api-catalog"`;
  // HEAD (answered by Fastify from this GET route) carries the same Link header, as RFC 9727 asks.
  documentRoute(
    app,
    '/.well-known/api-catalog',
    {
      summary: 'API catalog (RFC 9727 linkset)',
      description:
        'Links to this API, its OpenAPI document, documentation and status; `HEAD` carries the same `Link`.',
      contentType: API_CATALOG_MEDIA_TYPE,
    },
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
  documentRoute(
    app,
    '/v1',
    {
      summary: 'Where the API is described and how to get a key',
      description:
        'The base URL clients are given answers with links to the OpenAPI document, the docs and sign-up.',
      contentType: 'application/json',
    },
    (req, reply) => sendDocument(req, reply, apiRoot, { contentType: JSON_TYPE }),
  );

  const plugin = json(aiPluginManifest(config));
  documentRoute(
    app,
    '/.well-known/ai-plugin.json',
    {
      summary: 'Legacy OpenAI plugin manifest',
      description:
        'The ChatGPT plugin manifest some agent frameworks still read; it points to `/openapi.json`.',
      contentType: 'application/json',
    },
    (req, reply) => sendDocument(req, reply, plugin, { contentType: JSON_TYPE }),
  );
  const logo = logoSvg(config);
  documentRoute(
    app,
    '/logo.svg',
    {
      summary: 'Logo referenced by the plugin manifest',
      description: 'The platform logo as SVG.',
      contentType: 'image/svg+xml',
    },
    (req, reply) => sendDocument(req, reply, logo, { contentType: 'image/svg+xml', maxAge: 86400 }),
  );
}
