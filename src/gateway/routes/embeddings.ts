import type { FastifyInstance, preHandlerHookHandler } from 'fastify';
import type { Container } from '../../container.js';
import { parseBody } from '../../http/validation.js';
import { embeddingsRequestSchema } from '../chat-schema.js';
import { embeddingsResponseSchema } from '../response-schemas.js';
import { ClientDisconnect, estimatePromptTokens } from './request-helpers.js';

/** `POST /v1/embeddings`. */
export function registerEmbeddingsRoute(
  app: FastifyInstance,
  c: Container,
  preHandler: preHandlerHookHandler,
): void {
  const openapi = {
    summary: 'Create embeddings (OpenAI-compatible)',
    tags: ['Inference'],
    security: 'apiKey' as const,
    body: embeddingsRequestSchema,
    response: embeddingsResponseSchema,
  };
  app.post('/v1/embeddings', { preHandler, config: { openapi } }, async (request, reply) => {
    const auth = request.auth!;
    const body = parseBody(embeddingsRequestSchema, request.body);
    const model = c.catalog.resolve(auth.tenant, body.model, 'embedding');
    const promptText = typeof body.input === 'string' ? body.input : JSON.stringify(body.input);
    const ticket = await c.meter.admit({
      auth,
      requestId: request.id,
      model,
      endpoint: 'embeddings',
      estimatedPromptTokens: estimatePromptTokens(promptText),
      maxCompletionTokens: 0,
      streamed: false,
    });
    const abort = new ClientDisconnect(reply);
    const base = { provider: null, upstreamModel: null, promptText, completionText: '', latencyMs: 0 };
    const notAnswered = (status: number) =>
      ticket.settle({
        ...base,
        status,
        answered: false,
        usage: null,
        latencyMs: performance.now() - request.startedAt,
      });
    let routed: Awaited<ReturnType<typeof c.router.json>>;
    try {
      routed = await c.router.json(model, 'embeddings', body, abort, request.id);
    } catch (err) {
      // A bug below must still release the reservation; the error handler answers 500.
      await notAnswered(500);
      throw err;
    } finally {
      abort.dispose();
    }
    if (!routed.ok) {
      await notAnswered(routed.error.status);
      throw routed.error;
    }
    const answer = routed.body;
    answer.model = model.id;
    const usage = answer.usage as { prompt_tokens?: unknown } | undefined;
    await ticket.settle({
      ...base,
      status: 200,
      answered: true,
      provider: routed.route.provider,
      upstreamModel: routed.route.upstreamModel,
      usage:
        typeof usage?.prompt_tokens === 'number'
          ? { promptTokens: usage.prompt_tokens, completionTokens: 0 }
          : null,
      latencyMs: performance.now() - request.startedAt,
    });
    return reply.send(answer);
  });
}
