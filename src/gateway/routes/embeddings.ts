import type { FastifyInstance } from 'fastify';
import { type Authenticated, defineRoute, type Guard } from '../../http/define-route.js';
import { embeddingsRequestSchema } from '../chat-schema.js';
import type { InferencePipeline } from '../inference-pipeline.js';
import { type EmbeddingsResponse, embeddingsResponseSchema } from '../response-schemas.js';
import { callFor } from './request-call.js';

/** `POST /v1/embeddings`. */
export function registerEmbeddingsRoute(
  app: FastifyInstance,
  deps: { pipeline: InferencePipeline },
  inference: Guard<Authenticated>,
): void {
  defineRoute(app, {
    method: 'POST',
    url: '/v1/embeddings',
    guard: inference,
    doc: {
      summary: 'Create embeddings (OpenAI-compatible)',
      description:
        'One or many inputs (text or token ids) embedded by an embedding model of the catalog; usage counts prompt tokens only.',
      tags: ['Inference'],
    },
    schema: { body: embeddingsRequestSchema, response: { 200: embeddingsResponseSchema } },
    handler: async (request, reply) => {
      const call = callFor(request, reply, request.body);
      try {
        return reply.send((await deps.pipeline.embed(call)).body as EmbeddingsResponse);
      } finally {
        call.signal.dispose();
      }
    },
  });
}
