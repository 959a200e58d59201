import type { FastifyInstance } from 'fastify';
import type { Container } from '../../container.js';
import { apiKeyAuth } from '../../http/api-key-auth.js';
import { registerChatCompletionsRoute } from './chat-completions.js';
import { registerCompletionsRoute } from './completions.js';
import { registerEmbeddingsRoute } from './embeddings.js';
import { registerMessagesRoutes } from './messages.js';
import { registerModelRoutes } from './models.js';
import { registerResponsesRoutes } from './responses.js';

/**
 * The data plane: the OpenAI-compatible `/v1` API, plus the Responses, Anthropic Messages and legacy
 * Completions surfaces, each translated onto the inference pipeline.
 */
export function registerGatewayRoutes(app: FastifyInstance, container: Container): void {
  const inference = apiKeyAuth(container, 'inference');
  registerModelRoutes(app, container, inference);
  registerChatCompletionsRoute(app, container, inference);
  registerEmbeddingsRoute(app, container, inference);
  registerResponsesRoutes(app, container, inference);
  registerMessagesRoutes(app, container, inference);
  registerCompletionsRoute(app, container, inference);
}
