import type { FastifyInstance } from 'fastify';
import { type ApiKeyAuthDeps, apiKeyGuard } from '../../http/api-key-auth.js';
import { registerChatCompletionsRoute } from './chat-completions.js';
import { registerCompletionsRoute } from './completions.js';
import { registerEmbeddingsRoute } from './embeddings.js';
import { type MessagesDeps, registerMessagesRoutes } from './messages.js';
import { registerModelRoutes } from './models.js';
import { type ResponsesDeps, registerResponsesRoutes } from './responses.js';

/** What the data plane reads: API-key authentication and what its surfaces read. */
export type GatewayDeps = ApiKeyAuthDeps & MessagesDeps & ResponsesDeps;

/**
 * The data plane: the OpenAI-compatible `/v1` API, plus the Responses, Anthropic Messages and legacy
 * Completions surfaces, each translated onto the inference pipeline.
 */
export function registerGatewayRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  const inference = apiKeyGuard(deps, 'inference');
  registerModelRoutes(app, deps, inference);
  registerChatCompletionsRoute(app, deps, inference);
  registerEmbeddingsRoute(app, deps, inference);
  registerResponsesRoutes(app, deps, inference);
  registerMessagesRoutes(app, deps, inference);
  registerCompletionsRoute(app, deps, inference);
}
