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
 * Completions surfaces, each translated onto the chat pipeline.
 */
export function registerGatewayRoutes(app: FastifyInstance, c: Container): void {
  const inference = apiKeyAuth(c, 'inference');
  registerModelRoutes(app, c, inference);
  registerChatCompletionsRoute(app, c, inference);
  registerEmbeddingsRoute(app, c, inference);
  registerResponsesRoutes(app, c, inference);
  registerMessagesRoutes(app, c, inference);
  registerCompletionsRoute(app, c, inference);
}
