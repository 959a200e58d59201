import type { FastifyInstance, preHandlerHookHandler } from 'fastify';
import { parseBody } from '../../http/validation.js';
import { embeddingsRequestSchema } from '../chat-schema.js';
import type { InferencePipeline } from '../inference-pipeline.js';
import { embeddingsResponseSchema } from '../response-schemas.js';
import { callFor } from './request-call.js';

/** `POST /v1/embeddings`. */
export function registerEmbeddingsRoute(
  app: FastifyInstance,
  deps: { pipeline: InferencePipeline },
  preHandler: preHandlerHookHandler[],
): void {
  const openapi = {
    summary: 'Create embeddings (OpenAI-compatible)',
    description:
      'One or many inputs (text or token ids) embedded by an embedding model of the catalog; usage counts prompt tokens only.',
    tags: ['Inference'],
    security: 'apiKey' as const,
    body: embeddingsRequestSchema,
    response: embeddingsResponseSchema,
  };
  app.post('/v1/embeddings', { preHandler, config: { openapi } }, async (request, reply) => {
    const body = parseBody(embeddingsRequestSchema, request.body);
    const call = callFor(request, reply, body);
    try {
      return reply.send((await deps.pipeline.embed(call)).body);
    } finally {
      call.signal.dispose();
    }
  });
}
