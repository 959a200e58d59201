import type { FastifyInstance } from 'fastify';
import { type Authenticated, defineRoute, type Guard, type RouteText } from '../../http/define-route.js';
import { chatCompletionRequestSchema } from '../chat-schema.js';
import type { SurfaceDeps } from '../inference-pipeline.js';
import { type ChatCompletionResponse, chatCompletionResponseSchema } from '../response-schemas.js';
import { ChatSseRelay } from '../sse-relay.js';
import { callFor } from './request-call.js';

const chatCompletionsDoc: RouteText = {
  summary: 'Create a chat completion (OpenAI-compatible); `"stream": true` answers with Server-Sent Events',
  description:
    'Messages, tools, `response_format`, `max_tokens`, `n`, `stop` and the other OpenAI fields; fields the platform does not know are passed on to the model server. The worst-case cost is held against the credit balance first and the real usage is billed. On models with a response cache, a repeated deterministic request (temperature 0 or a seed) is answered from the cache: the request header `x-simo-cache: force` caches any request, `x-simo-cache: no-store` bypasses the cache, and the answer says `x-simo-cache: hit` or `miss`.',
  tags: ['Inference'],
  streams: true,
};

/** Where the chat completions handler is served: the API path, or another (the dashboard playground). */
export interface ChatCompletionsAt {
  url: string;
  doc: RouteText;
}

/**
 * `POST /v1/chat/completions`, streamed and not: the request parsed into a pipeline call, rendered
 * back. `at` serves the same handler elsewhere behind another guard.
 */
export function registerChatCompletionsRoute(
  app: FastifyInstance,
  deps: Omit<SurfaceDeps, 'catalog'>,
  inference: Guard<Authenticated>,
  at: ChatCompletionsAt = { url: '/v1/chat/completions', doc: chatCompletionsDoc },
): void {
  const { pipeline } = deps;
  defineRoute(app, {
    method: 'POST',
    url: at.url,
    guard: inference,
    doc: at.doc,
    schema: { body: chatCompletionRequestSchema, response: { 200: chatCompletionResponseSchema } },
    handler: async (request, reply) => {
      const { body } = request;
      const call = callFor(request, reply, body);
      try {
        if (body.stream !== true)
          return reply.send((await pipeline.complete(call)).body as ChatCompletionResponse);
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
  });
}
