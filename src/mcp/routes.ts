import type { FastifyInstance, FastifyRequest } from 'fastify';
import { platformVersion } from '../discovery/platform-version.js';
import { type ApiKeyAuthDeps, apiKeyAuth } from '../http/api-key-auth.js';
import { type Authenticated, defineRoute, guard } from '../http/define-route.js';
import { ApiError } from '../shared/errors.js';
import { MCP_PATH } from './server-card.js';
import type { McpToolDeps } from './tools.js';

// Host names an attacker cannot point at us by DNS rebinding: IP literals and localhost.
const LITERAL_HOST = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\]|localhost)(:\d+)?$/i;

/**
 * Rejects browser pages from other sites (cross-site requests and DNS rebinding): an `Origin`, when
 * sent, must be our public origin, or the very address the request was sent to when that address is
 * an IP literal or localhost (a local deployment whose public URL differs).
 */
export function originGuard(publicUrl: string) {
  const publicOrigin = new URL(publicUrl).origin;
  return async function checkOrigin(request: FastifyRequest): Promise<void> {
    const origin = request.headers.origin;
    if (origin === undefined) return;
    const own = LITERAL_HOST.test(request.host) ? `${request.protocol}://${request.host}` : undefined;
    if (origin !== publicOrigin && origin !== own)
      throw new ApiError('forbidden', `Requests from origin '${origin}' are not allowed on ${MCP_PATH}.`);
  };
}

type McpRuntime = [
  typeof import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
  typeof import('./tools.js'),
  typeof import('./params-check.js'),
];

let runtime: Promise<McpRuntime> | undefined;

/** The MCP SDK and the tools (~4 MB of heap), loaded by the first `/mcp` request instead of at start. */
function loadMcpRuntime(): Promise<McpRuntime> {
  if (!runtime) {
    runtime = Promise.all([
      import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
      import('./tools.js'),
      import('./params-check.js'),
    ]);
    // A failed load is tried again by the next request instead of being remembered.
    runtime.catch(() => {
      runtime = undefined;
    });
  }
  return runtime;
}

/**
 * `POST /mcp`: a stateless MCP server (Streamable HTTP). Each request is authenticated and counted by
 * the rate limiter like any API call, then served by a fresh server instance; tool calls go through
 * the same rate limit and metering as `/v1`, each chat call of a JSON-RPC batch counted on its own. GET (a server-to-client stream) is not offered: Fastify answers 405.
 */
export function registerMcpRoutes(
  app: FastifyInstance,
  deps: McpToolDeps & ApiKeyAuthDeps & { config: { publicUrl: string } },
): void {
  const version = platformVersion();
  const checkOrigin = originGuard(deps.config.publicUrl);
  defineRoute(app, {
    method: 'POST',
    url: MCP_PATH,
    guard: guard<Authenticated>('apiKey', checkOrigin, ...apiKeyAuth(deps, 'inference')),
    doc: {
      summary:
        'MCP server (Streamable HTTP, JSON-RPC): tools chat_completion, list_models, get_usage, get_balance',
      description:
        'A stateless MCP server: each POST carries JSON-RPC requests (a batch allowed) and gets their answers. Tool calls go through the same rate limit and metering as `/v1`.',
      tags: ['Agents'],
      responseContentType: 'application/json',
      streams: true,
      streamEvents: 'SSE: one JSON-RPC 2.0 message an event (Streamable HTTP)',
    },
    handler: async (request, reply) => {
      const [{ StreamableHTTPServerTransport }, { createMcpServer }, { refuseInvalidParams }] =
        await loadMcpRuntime();
      const server = createMcpServer(
        deps,
        {
          auth: request.auth,
          requestId: request.id,
          startedAt: request.startedAt,
          counted: request.counted,
        },
        version,
      );
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      // From here on the SDK writes the response; carry over the headers set so far (rate limits, id).
      reply.hijack();
      for (const [name, value] of Object.entries(reply.getHeaders()))
        if (value !== undefined) reply.raw.setHeader(name, value as string | string[]);
      reply.raw.on('close', () => {
        void transport.close();
        void server.close();
      });
      try {
        await server.connect(transport);
        refuseInvalidParams(transport);
        await transport.handleRequest(request.raw, reply.raw, request.body);
      } catch (err) {
        request.log.error({ err, reqId: request.id }, 'MCP request failed');
        if (!reply.raw.headersSent) {
          reply.raw.statusCode = 500;
          reply.raw.setHeader('content-type', 'application/json');
          reply.raw.end(
            JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32603, message: 'Internal error' } }),
          );
        }
      }
    },
  });
}
