import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { TokenCounter } from '../../billing/token-counter.js';
import { type Authenticated, defineRoute, type Guard, type RouteText } from '../../http/define-route.js';
import { namedEvents, openSse, type SseWriter } from '../../http/sse.js';
import { anthropicErrorBody } from '../../shared/anthropic-errors.js';
import { type ChatCall, midStreamFailure } from '../inference-call.js';
import type { SurfaceDeps } from '../inference-pipeline.js';
import type { NativeOperation } from '../model-router.js';
import { measureChatPrompt } from '../prompt-size.js';
import { normalUsage } from '../translate/chat-shapes.js';
import {
  countTokensRequestSchema,
  type MessagesRequest,
  messagesRequestSchema,
  messagesToChat,
} from '../translate/messages-request.js';
import { MessagesStreamTranslator, messageOfChat, newMessageId } from '../translate/messages-response.js';
import { callFor } from './request-call.js';

const messageSchema = z.looseObject({
  id: z.string(),
  type: z.literal('message'),
  role: z.literal('assistant'),
  model: z.string(),
  content: z.array(z.looseObject({ type: z.string() })),
  stop_reason: z.string().nullable(),
  usage: z.looseObject({ input_tokens: z.int(), output_tokens: z.int() }),
});

const messagesDoc: RouteText = {
  summary: 'Create a message (Anthropic Messages API); `"stream": true` answers with Server-Sent Events',
  description:
    "System prompt, text, image, `tool_use` and `tool_result` blocks, tools and `tool_choice`, `stop_sequences`; `max_tokens` is required. Authenticate with `x-api-key`; errors use Anthropic's envelope.",
  tags: ['Inference'],
  streams: true,
  streamEvents:
    'SSE: named events as Anthropic sends them: `message_start`, `ping`, `content_block_start|delta|stop`, `message_delta`, then `message_stop` (an `error` event if the model fails midway)',
};

const countDoc: RouteText = {
  summary: 'Count the input tokens of a message (Anthropic Messages API)',
  description:
    "The input tokens the message would use with the model's tokenizer; no model is called and nothing is billed.",
  tags: ['Inference'],
};

/** What the Messages routes read: a surface's dependencies and the tokenizer (`count_tokens`). */
export type MessagesDeps = SurfaceDeps & { tokens: Pick<TokenCounter, 'count' | 'estimate'> };

/** `POST /v1/messages` (Claude Code adds `?beta=true`) and `POST /v1/messages/count_tokens`. */
export function registerMessagesRoutes(
  app: FastifyInstance,
  deps: MessagesDeps,
  inference: Guard<Authenticated>,
): void {
  defineRoute(app, {
    method: 'POST',
    url: '/v1/messages',
    guard: inference,
    doc: messagesDoc,
    errorFormat: 'anthropic',
    keepSentBody: true,
    schema: { body: messagesRequestSchema, response: { 200: messageSchema } },
    handler: (request, reply) => createMessage(deps, request, reply),
  });
  defineRoute(app, {
    method: 'POST',
    url: '/v1/messages/count_tokens',
    guard: inference,
    doc: countDoc,
    errorFormat: 'anthropic',
    schema: { body: countTokensRequestSchema, response: { 200: z.object({ input_tokens: z.int() }) } },
    handler: async (request) => {
      const req = request.body;
      const model = deps.catalog.resolve(request.auth.tenant, req.model, 'chat');
      const prompt = measureChatPrompt(messagesToChat(req));
      const counted = await deps.tokens
        .count(model.id, prompt.text)
        .catch(() => deps.tokens.estimate(prompt.text));
      return { input_tokens: counted + prompt.size.framingTokens };
    },
  });
}

async function createMessage(
  deps: MessagesDeps,
  request: FastifyRequest & Authenticated & { body: MessagesRequest },
  reply: FastifyReply,
) {
  const req = request.body;
  const call = callFor(request, reply, messagesToChat(req), 'messages');
  const id = newMessageId();
  const model = deps.catalog.resolve(call.auth.tenant, req.model, 'chat');
  try {
    if (deps.pipeline.speaksNatively(model, 'messages')) {
      const native = { surface: 'messages' as const, headers: anthropicHeaders(request) };
      const body = request.sentBody as Record<string, unknown>;
      if (req.stream !== true)
        return reply.send((await deps.pipeline.completeNative(call, native, body)).body);
      return await relayNativeMessage(deps, request, reply, call, native, body);
    }
    if (req.stream === true) return await streamMessage(deps, request, reply, req, call, id);
    const answer = (await deps.pipeline.complete(call)).body;
    return reply.send(
      messageOfChat(answer, {
        id,
        model: req.model,
        stopSequences: req.stop_sequences,
        usage: normalUsage(answer.usage as never),
      }),
    );
  } finally {
    call.signal.dispose();
  }
}

async function streamMessage(
  deps: MessagesDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  req: MessagesRequest,
  call: ChatCall,
  id: string,
) {
  const translator = new MessagesStreamTranslator(id, req.model, req.stop_sequences);
  let sse!: SseWriter;
  const summary = await deps.pipeline.stream(call, {
    open: () => {
      sse = openSse(reply, deps.config.limits.writeTimeoutMs);
      return sse.write(namedEvents(translator.start()));
    },
    chunk: (chunk) => sse.write(namedEvents(translator.chunk(chunk))),
    // Anthropic reports a failure after the stream started as one `error` event.
    failed: () => sse.write(namedEvents([anthropicErrorBody(midStreamFailure(), request.id)])),
  });
  if (!summary.upstreamFailed && !call.signal.aborted) await sse.write(namedEvents(translator.finish()));
  sse.end();
}

/** The client's Anthropic headers, passed to an Anthropic-native upstream (`anthropic-beta` only there). */
function anthropicHeaders(request: FastifyRequest): Record<string, string> {
  const version = request.headers['anthropic-version'];
  const beta = request.headers['anthropic-beta'];
  return {
    'anthropic-version': typeof version === 'string' ? version : '2023-06-01',
    ...(typeof beta === 'string' ? { 'anthropic-beta': beta } : {}),
  };
}

/** An Anthropic-native upstream's event stream, relayed as it is with the model renamed. */
async function relayNativeMessage(
  deps: MessagesDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  call: ChatCall,
  native: NativeOperation,
  body: Record<string, unknown>,
) {
  let sse!: SseWriter;
  let publicModel = '';
  await deps.pipeline.streamNative(call, native, body, {
    open: (model) => {
      publicModel = model.id;
      sse = openSse(reply, deps.config.limits.writeTimeoutMs);
    },
    chunk: (event) => {
      const message = event.message as Record<string, unknown> | undefined;
      if (event.type === 'message_start' && message) message.model = publicModel;
      return sse.write(namedEvents([event as { type: string }]));
    },
    failed: () => sse.write(namedEvents([anthropicErrorBody(midStreamFailure(), request.id)])),
  });
  sse.end();
}
