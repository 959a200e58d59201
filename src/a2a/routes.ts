import type { FastifyInstance } from 'fastify';
import type { ResolvedConfig } from '../config/load.js';
import type { SurfaceDeps } from '../gateway/inference-pipeline.js';
import { type ApiKeyAuthDeps, apiKeyGuard } from '../http/api-key-auth.js';
import { defineRoute } from '../http/define-route.js';
import { A2A_PATH } from './agent-card.js';
import type { A2aHandler } from './agent-handler.js';

/**
 * `POST /a2a`: the A2A JSON-RPC agent, for protocol 1.0 (`SendMessage`, `SendStreamingMessage`) and,
 * when the client sends no `A2A-Version` or `0.3`, the v0.3 methods (`message/send`, `message/stream`).
 * This is the SDK's Express JSON-RPC handler rewritten for Fastify (agent-handler.ts), with our API-key
 * authentication and rate limiting in front. The agent and the A2A SDK (~2 MB of heap) are loaded by
 * the first A2A request.
 */
export function registerA2aRoutes(
  app: FastifyInstance,
  deps: SurfaceDeps & ApiKeyAuthDeps & { config: ResolvedConfig },
): void {
  let agent: Promise<A2aHandler> | undefined;
  const loadAgent = () => {
    if (!agent) {
      agent = import('./agent-handler.js').then((m) => m.createA2aHandler(deps));
      // A failed load is tried again by the next request instead of being remembered.
      agent.catch(() => {
        agent = undefined;
      });
    }
    return agent;
  };

  defineRoute(app, {
    method: 'POST',
    url: A2A_PATH,
    guard: apiKeyGuard(deps, 'inference'),
    doc: {
      summary: 'A2A agent (JSON-RPC 2.0): SendMessage/SendStreamingMessage and message/send/message/stream',
      description:
        'Chat with the models as an A2A agent; streaming methods answer with Server-Sent Events. `A2A-Version: 1.0` selects the v1.0 methods, otherwise v0.3 applies. Metered like `/v1`.',
      tags: ['Agents'],
      responseContentType: 'application/json',
      streams: true,
      streamEvents: 'SSE: one JSON-RPC 2.0 response an event (the task, its status and message updates)',
    },
    handler: async (request, reply) => (await loadAgent())(request, reply),
  });
}
