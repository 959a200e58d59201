import type { FastifyInstance, preHandlerHookHandler } from 'fastify';
import type { RouteDoc } from '../../http/route-docs.js';
import { parseBody } from '../../http/validation.js';
import { chatCompletionRequestSchema } from '../chat-schema.js';
import type { SurfaceDeps } from '../inference-pipeline.js';
import { chatCompletionResponseSchema } from '../response-schemas.js';
import { ChatSseRelay } from '../sse-relay.js';
import { callFor } from './request-call.js';

const chatCompletionsDoc: RouteDoc = {
  summary: 'Create a chat completion (OpenAI-compatible); `"stream": true` answers with Server-Sent Events',
  description:
    'Messages, tools, `response_format`, `max_tokens`, `n`, `stop` and the other OpenAI fields; fields the platform does not know are passed on to the model server. The worst-case cost is held against the credit balance first and the real usage is billed.',
  tags: ['Inference'],
  security: 'apiKey',
  body: chatCompletionRequestSchema,
  response: chatCompletionResponseSchema,
  streams: true,
};

/** `POST /v1/chat/completions`, streamed and not: the request parsed into a pipeline call, rendered back. */
export function registerChatCompletionsRoute(
  app: FastifyInstance,
  deps: Omit<SurfaceDeps, 'catalog'>,
  preHandler: preHandlerHookHandler[],
): void {
  const { pipeline } = deps;
  app.post(
    '/v1/chat/completions',
    { preHandler, config: { openapi: chatCompletionsDoc } },
    async (request, reply) => {
      const body = parseBody(chatCompletionRequestSchema, request.body);
      const call = callFor(request, reply, body);
      try {
        if (body.stream !== true) return reply.send((await pipeline.complete(call)).body);
        const sse = new ChatSseRelay(
          reply,
          body.stream_options?.include_usage === true,
          deps.config.limits.writeTimeoutMs,
        );
        const summary = await pipeline.stream(call, sse);
        await sse.end();
        if (summary.clientAborted)
          request.log.debug({ reqId: request.id }, 'client left mid-stream; upstream aborted');
      } finally {
        call.signal.dispose();
      }
    },
  );
}
