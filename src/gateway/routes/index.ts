import type { FastifyInstance } from 'fastify';
import type { Container } from '../../container.js';
import { apiKeyAuth } from '../../http/api-key-auth.js';
import { registerChatCompletionsRoute } from './chat-completions.js';
import { registerEmbeddingsRoute } from './embeddings.js';
import { registerModelRoutes } from './models.js';

/** The data plane: the OpenAI-compatible `/v1` API. */
export function registerGatewayRoutes(app: FastifyInstance, c: Container): void {
  const inference = apiKeyAuth(c, 'inference');
  registerModelRoutes(app, c, inference);
  registerChatCompletionsRoute(app, c, inference);
  registerEmbeddingsRoute(app, c, inference);
}
