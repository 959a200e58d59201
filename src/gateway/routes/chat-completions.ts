import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import type { MeterTicket } from '../../billing/meter.js';
import type { ModelConfig } from '../../config/schema.js';
import type { Container } from '../../container.js';
import type { RouteDoc } from '../../http/route-docs.js';
import { parseBody } from '../../http/validation.js';
import { ApiError } from '../../shared/errors.js';
import { type ChatCompletionRequest, chatCompletionRequestSchema } from '../chat-schema.js';
import { admitChat, completeChat, notAnswered, streamOutcome } from '../chat-service.js';
import { chatCompletionResponseSchema } from '../response-schemas.js';
import { relayChatStream } from '../sse-relay.js';
import { ClientDisconnect } from './request-helpers.js';

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

/** `POST /v1/chat/completions`, streamed and not. */
export function registerChatCompletionsRoute(
  app: FastifyInstance,
  c: Container,
  preHandler: preHandlerHookHandler,
): void {
  app.post(
    '/v1/chat/completions',
    { preHandler, config: { openapi: chatCompletionsDoc } },
    async (request, reply) => {
      const auth = request.auth!;
      const body = parseBody(chatCompletionRequestSchema, request.body);
      const abort = new ClientDisconnect(reply);
      const call = {
        auth,
        body,
        requestId: request.id,
        signal: abort,
        startedAt: request.startedAt,
        counted: request.counted,
      };
      if (body.stream !== true) {
        try {
          return reply.send(await completeChat(c, call));
        } finally {
          abort.dispose();
        }
      }
      const admitted = await admitChat(c, call, true).catch((err: unknown) => {
        abort.dispose();
        throw err;
      });
      const { model, promptText, ticket } = admitted;
      return streamCompletion(c, request, reply, admitted.body, model, ticket, promptText, abort);
    },
  );
}

async function streamCompletion(
  c: Container,
  request: FastifyRequest,
  reply: FastifyReply,
  body: ChatCompletionRequest,
  model: ModelConfig,
  ticket: MeterTicket,
  promptText: string,
  abort: ClientDisconnect,
) {
  const clientWantsUsage = body.stream_options?.include_usage === true;
  // We always ask for usage so every stream can be billed exactly; the extra chunk is dropped if unasked.
  const upstreamBody = {
    ...body,
    stream: true,
    stream_options: { ...(body.stream_options ?? {}), include_usage: true },
  };
  const routed = await c.router.stream(model, upstreamBody, abort, request.id).catch(async (err: unknown) => {
    // A bug, not an upstream failure: release the reservation (nothing was served) and let it surface.
    abort.dispose();
    await ticket.settle(notAnswered(500, request.startedAt, promptText));
    throw err;
  });
  if (!routed.ok) {
    abort.dispose();
    await ticket.settle(notAnswered(routed.error.status, request.startedAt, promptText));
    throw routed.error;
  }

  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  // No flushHeaders(): the first event is written in this same tick, and Node sends the headers
  // with it in one write instead of a system call of their own.
  const summary = await relayChatStream({
    res,
    first: routed.first,
    rest: routed.rest,
    publicModel: model.id,
    clientWantsUsage,
    midStreamError: () =>
      new ApiError('upstream_error', 'The model server failed while streaming the answer.'),
    isClientGone: () => abort.aborted,
    writeTimeoutMs: c.config.limits.writeTimeoutMs,
    // Metered before `[DONE]`: a client that saw the whole stream always has its usage record.
    // After an abort or failure the upstream's usage never came; what was generated is estimated.
    beforeDone: (summary) =>
      ticket.settle(
        streamOutcome(
          routed.route,
          request.startedAt,
          promptText,
          summary.completionText,
          summary.usage,
          summary.upstreamFailed,
        ),
      ),
  });
  abort.dispose();
  if (summary.clientAborted)
    request.log.debug({ reqId: request.id }, 'client left mid-stream; upstream aborted');
}
