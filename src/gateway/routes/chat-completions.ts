import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import type { MeterTicket } from '../../billing/meter.js';
import type { Container } from '../../container.js';
import { ApiError } from '../../http/errors.js';
import { parseBody } from '../../http/validation.js';
import { type ChatCompletionRequest, chatCompletionRequestSchema } from '../chat-schema.js';
import { relayChatStream } from '../sse-relay.js';
import { clientAbortSignal, estimatePromptTokens, promptTextOf } from './request-helpers.js';

/** `POST /v1/chat/completions`, streamed and not. */
export function registerChatCompletionsRoute(
  app: FastifyInstance,
  c: Container,
  preHandler: preHandlerHookHandler,
): void {
  app.post('/v1/chat/completions', { preHandler }, async (request, reply) => {
    const auth = request.auth!;
    const body = parseBody(chatCompletionRequestSchema, request.body);
    const model = c.catalog.resolve(auth.tenant, body.model, 'chat');
    const stream = body.stream === true;
    const promptText = promptTextOf(body.messages);
    c.auditSignals.onPrompt(auth, promptText);
    const ticket = await c.meter.admit({
      auth,
      requestId: request.id,
      model,
      endpoint: 'chat.completions',
      estimatedPromptTokens: estimatePromptTokens(promptText),
      maxCompletionTokens: body.max_completion_tokens ?? body.max_tokens ?? 0,
      streamed: stream,
    });
    return stream
      ? streamCompletion(c, request, reply, body, ticket, promptText)
      : completeOnce(c, request, reply, body, ticket, promptText);
  });
}

async function completeOnce(
  c: Container,
  request: FastifyRequest,
  reply: FastifyReply,
  body: ChatCompletionRequest,
  ticket: MeterTicket,
  promptText: string,
) {
  const model = c.catalog.get(body.model)!;
  const abort = clientAbortSignal(reply);
  let routed: Awaited<ReturnType<typeof c.router.json>>;
  try {
    routed = await c.router.json(model, 'chatCompletion', body, abort.signal, request.id);
  } finally {
    abort.dispose();
  }
  if (!routed.ok) {
    ticket.settle(notAnswered(routed.error.status, request, promptText));
    throw routed.error;
  }
  const answer = routed.body;
  answer.model = model.id;
  const usage = answer.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined;
  ticket.settle({
    status: 200,
    answered: true,
    provider: routed.route.provider,
    upstreamModel: routed.route.upstreamModel,
    usage:
      typeof usage?.prompt_tokens === 'number' && typeof usage.completion_tokens === 'number'
        ? { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens }
        : null,
    promptText,
    completionText: completionTextOf(answer),
    latencyMs: performance.now() - request.startedAt,
  });
  return reply.send(answer);
}

async function streamCompletion(
  c: Container,
  request: FastifyRequest,
  reply: FastifyReply,
  body: ChatCompletionRequest,
  ticket: MeterTicket,
  promptText: string,
) {
  const model = c.catalog.get(body.model)!;
  const clientWantsUsage = body.stream_options?.include_usage === true;
  // We always ask for usage so every stream can be billed exactly; the extra chunk is dropped if unasked.
  const upstreamBody = {
    ...body,
    stream: true,
    stream_options: { ...(body.stream_options ?? {}), include_usage: true },
  };
  const abort = clientAbortSignal(reply);
  const routed = await c.router.stream(model, upstreamBody, abort.signal, request.id);
  if (!routed.ok) {
    abort.dispose();
    ticket.settle(notAnswered(routed.error.status, request, promptText));
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
  res.flushHeaders();
  const summary = await relayChatStream({
    res,
    first: routed.first,
    rest: routed.rest,
    publicModel: model.id,
    clientWantsUsage,
    midStreamError: () =>
      new ApiError('upstream_error', 'The model server failed while streaming the answer.'),
    isClientGone: () => abort.signal.aborted,
  });
  abort.dispose();
  if (summary.clientAborted)
    request.log.debug({ reqId: request.id }, 'client left mid-stream; upstream aborted');
  ticket.settle({
    status: 200,
    answered: true,
    provider: routed.route.provider,
    upstreamModel: routed.route.upstreamModel,
    // After an abort or failure the upstream's usage never came; what was generated is estimated.
    usage: summary.usage,
    promptText,
    completionText: summary.completionText,
    latencyMs: performance.now() - request.startedAt,
  });
}

function notAnswered(status: number, request: FastifyRequest, promptText: string) {
  return {
    status,
    answered: false,
    provider: null,
    upstreamModel: null,
    usage: null,
    promptText,
    completionText: '',
    latencyMs: performance.now() - request.startedAt,
  };
}

function completionTextOf(answer: Record<string, unknown>): string {
  const choices = Array.isArray(answer.choices)
    ? (answer.choices as Array<{ message?: Record<string, unknown> }>)
    : [];
  return choices
    .map((ch) => {
      const m = ch.message ?? {};
      const calls = Array.isArray(m.tool_calls)
        ? (m.tool_calls as Array<{ function?: { arguments?: unknown } }>)
        : [];
      return [m.content, m.refusal, ...calls.map((t) => t.function?.arguments)]
        .filter((v) => typeof v === 'string')
        .join('');
    })
    .join('');
}
