import type { FastifyInstance, preHandlerHookHandler } from 'fastify';
import type { Container } from '../../container.js';
import { parseBody } from '../../http/validation.js';
import { ApiError } from '../../shared/errors.js';
import { type EmbeddingsRequest, embeddingsRequestSchema } from '../chat-schema.js';
import { answered, notAnswered } from '../chat-service.js';
import { measureEmbeddingsInput } from '../prompt-size.js';
import { embeddingsResponseSchema } from '../response-schemas.js';
import { ClientDisconnect } from './request-helpers.js';

/** `POST /v1/embeddings`. */
export function registerEmbeddingsRoute(
  app: FastifyInstance,
  c: Container,
  preHandler: preHandlerHookHandler,
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
    const auth = request.auth!;
    const body = parseBody(embeddingsRequestSchema, request.body);
    const model = c.catalog.resolve(auth.tenant, body.model, 'embedding');
    assertTokenInputsFit(body.input, model.contextWindow);
    const { text: promptText, size } = measureEmbeddingsInput(body.input);
    const ticket = await c.meter.admit({
      auth,
      requestId: request.id,
      model,
      endpoint: 'embeddings',
      prompt: size,
      maxCompletionTokens: 0,
      choices: 1,
      streamed: false,
    });
    const abort = new ClientDisconnect(reply);
    const notAnsweredWith = (status: number) =>
      ticket.settle(notAnswered(status, request.startedAt, promptText));
    let routed: Awaited<ReturnType<typeof c.router.json>>;
    try {
      routed = await c.router.json(model, 'embeddings', body, abort, request.id);
    } catch (err) {
      // A bug below must still release the reservation; the error handler answers 500.
      await notAnsweredWith(500);
      throw err;
    } finally {
      abort.dispose();
    }
    if (!routed.ok) {
      await notAnsweredWith(routed.error.status);
      throw routed.error;
    }
    const answer = routed.body;
    answer.model = model.id;
    const usage = answer.usage as { prompt_tokens?: unknown } | undefined;
    // Embeddings have no completion: usage reports prompt tokens only.
    await ticket.settle(
      answered(routed.route, request.startedAt, promptText, '', {
        promptTokens: usage?.prompt_tokens,
        completionTokens: typeof usage?.prompt_tokens === 'number' ? 0 : undefined,
      }),
    );
    return reply.send(answer);
  });
}

/** Token-id inputs longer than the model's context cannot be embedded: refused before any upstream. */
function assertTokenInputsFit(input: EmbeddingsRequest['input'], contextWindow: number): void {
  if (!Array.isArray(input) || input.length === 0 || typeof input[0] === 'string') return;
  const single = typeof input[0] === 'number';
  const lists = (single ? [input] : input) as number[][];
  lists.forEach((ids, i) => {
    if (ids.length <= contextWindow) return;
    const param = single ? 'input' : `input[${i}]`;
    throw new ApiError(
      'invalid_parameter',
      `Invalid value for '${param}': ${ids.length} tokens, more than the model's context of ${contextWindow}.`,
      param,
    );
  });
}
