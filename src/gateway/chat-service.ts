import type { AuthContext } from '../accounts/authenticator.js';
import type { MeterTicket, UsageOutcome } from '../billing/meter.js';
import type { Container } from '../container.js';
import { admitModelCall, type CountedRequest } from '../http/model-call-limit.js';
import { ApiError } from '../shared/errors.js';
import type { CancelSource } from './attempt-signal.js';
import type { ChatCompletionRequest } from './chat-schema.js';
import type { RouteUsed } from './model-router.js';
import { measureChatPrompt } from './prompt-size.js';
import type { ChatChunk } from './translate/chat-shapes.js';

/**
 * The chat pipeline without HTTP: resolve the model for the tenant, admit the request with the meter
 * (credits), route it with fallback, settle the ticket. `/v1/chat/completions`, the MCP tool and the
 * A2A agent all go through here, so every surface is limited and billed alike: each model call counts
 * against the tenant's requests and tokens per minute, however many one HTTP request carries.
 */
export interface ChatCall {
  auth: AuthContext;
  body: ChatCompletionRequest;
  requestId: string;
  /** Fires when the caller gave up; the upstream request is cancelled. */
  signal: CancelSource;
  /** `performance.now()` when the request arrived, for latency. */
  startedAt: number;
  /**
   * The HTTP request's own rate-limit count, which covers its first model call. Without it (or for
   * any further call) the call is counted here.
   */
  counted?: CountedRequest | null;
  /** The API surface the call came in on, for usage records; chat by default. */
  endpoint?: InferenceEndpoint;
}

/** The surfaces served through the chat pipeline, as usage records name them. */
export type InferenceEndpoint = 'chat.completions' | 'responses' | 'messages' | 'completions';

/**
 * Admits a chat request with the rate limiter (429) and the meter (402, …); throws their ApiError
 * when refused. The call a request's pre-handler already counted costs no second look-up. `body` is
 * what to send upstream: the client's, with the completion cap the balance affords when it set none.
 */
export async function admitChat(c: Container, call: ChatCall, streamed: boolean) {
  if (!call.counted?.coversCall()) await admitModelCall(c.limiter, call.auth, call.counted);
  const model = c.catalog.resolve(call.auth.tenant, call.body.model, 'chat');
  const prompt = measureChatPrompt(call.body);
  c.auditSignals.onPrompt(call.auth, prompt.text);
  const ticket = await c.meter.admit({
    auth: call.auth,
    requestId: call.requestId,
    model,
    endpoint: call.endpoint ?? 'chat.completions',
    prompt: prompt.size,
    maxCompletionTokens: call.body.max_completion_tokens ?? call.body.max_tokens ?? 0,
    choices: call.body.n ?? 1,
    streamed,
  });
  // `max_tokens` is the cap every OpenAI-compatible server reads; adapters rename it where needed.
  const body = ticket.completionCap === null ? call.body : { ...call.body, max_tokens: ticket.completionCap };
  return { model, promptText: prompt.text, ticket, body };
}

/** A non-streamed completion: the OpenAI `chat.completion` object, model renamed to its public id. */
export async function completeChat(c: Container, call: ChatCall): Promise<Record<string, unknown>> {
  const { model, promptText, ticket, body } = await admitChat(c, call, false);
  const routed = await c.router
    .json(model, 'chatCompletion', body, call.signal, call.requestId)
    .catch(async (err: unknown) => {
      // A bug, not an upstream failure: release the reservation (nothing was served) and let it surface.
      await ticket.settle(notAnswered(500, call.startedAt, promptText));
      throw err;
    });
  if (!routed.ok) {
    await ticket.settle(notAnswered(routed.error.status, call.startedAt, promptText));
    throw routed.error;
  }
  const answer = routed.body;
  answer.model = model.id;
  const usage = answer.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined;
  await ticket.settle(
    answered(routed.route, call.startedAt, promptText, completionTextOf(answer), {
      promptTokens: usage?.prompt_tokens,
      completionTokens: usage?.completion_tokens,
    }),
  );
  return answer;
}

/**
 * A streamed completion as plain text deltas, for agents that relay text (A2A). The ticket is settled
 * when the iteration ends, however it ends (finished, failed, or abandoned by the consumer).
 */
export async function streamChatText(c: Container, call: ChatCall): Promise<AsyncGenerator<string>> {
  return textOf(await streamChatChunks(c, call));
}

async function* textOf(chunks: AsyncGenerator<ChatChunk>): AsyncGenerator<string> {
  for await (const chunk of chunks) {
    const delta =
      chunk.choices?.map((ch) => (typeof ch.delta?.content === 'string' ? ch.delta.content : '')).join('') ??
      '';
    if (delta) yield delta;
  }
}

/**
 * A streamed completion as the upstream's parsed chunks (usage included), for surfaces that translate
 * them (Responses, Messages, Completions). The ticket is settled when the iteration ends, however it
 * ends, before the iterator reports done: a surface writes its closing event after that, so a client
 * that saw the whole stream always has its usage record. An upstream failure mid-stream is thrown.
 */
export async function streamChatChunks(c: Container, call: ChatCall): Promise<AsyncGenerator<ChatChunk>> {
  const { model, promptText, ticket, body: admitted } = await admitChat(c, call, true);
  const body = { ...admitted, stream: true, stream_options: { include_usage: true } };
  const routed = await c.router
    .stream(model, body, call.signal, call.requestId)
    .catch(async (err: unknown) => {
      // A bug, not an upstream failure: release the reservation and let it surface.
      await ticket.settle(notAnswered(500, call.startedAt, promptText));
      throw err;
    });
  if (!routed.ok) {
    await ticket.settle(notAnswered(routed.error.status, call.startedAt, promptText));
    throw routed.error;
  }
  return relayChunks(routed.first, routed.rest, routed.route, ticket, promptText, call.startedAt);
}

async function* relayChunks(
  first: string,
  rest: AsyncIterator<string>,
  route: RouteUsed,
  ticket: MeterTicket,
  promptText: string,
  startedAt: number,
): AsyncGenerator<ChatChunk> {
  const texts: string[] = [];
  let usage: { promptTokens?: unknown; completionTokens?: unknown } | null = null;
  let failed = true;
  try {
    let data: string | undefined = first;
    while (data !== undefined) {
      const chunk = parseChunk(data);
      if (chunk?.error) throw new ApiError('upstream_error', 'The model server failed while answering.');
      if (chunk) {
        if (chunk.usage)
          usage = {
            promptTokens: chunk.usage.prompt_tokens,
            completionTokens: chunk.usage.completion_tokens,
          };
        for (const ch of chunk.choices ?? []) {
          const d = ch.delta;
          if (typeof d?.content === 'string') texts.push(d.content);
          if (typeof d?.refusal === 'string') texts.push(d.refusal);
          for (const t of Array.isArray(d?.tool_calls) ? d.tool_calls : [])
            if (typeof t.function?.arguments === 'string') texts.push(t.function.arguments);
        }
        yield chunk;
      }
      const next = await rest.next();
      data = next.done ? undefined : next.value;
    }
    failed = false;
  } finally {
    await rest.return?.().catch(() => undefined);
    await ticket.settle(streamOutcome(route, startedAt, promptText, texts.join(''), usage, failed));
  }
}

function parseChunk(data: string): (ChatChunk & { error?: unknown }) | undefined {
  try {
    const chunk = JSON.parse(data) as unknown;
    return chunk && typeof chunk === 'object' ? (chunk as ChatChunk & { error?: unknown }) : undefined;
  } catch {
    return undefined; // keep-alives and vendor comments carry nothing to relay
  }
}

export function answered(
  route: RouteUsed,
  startedAt: number,
  promptText: string,
  completionText: string,
  usage: { promptTokens?: unknown; completionTokens?: unknown },
): UsageOutcome {
  return {
    status: 200,
    answered: true,
    provider: route.provider,
    upstreamModel: route.upstreamModel,
    usage:
      typeof usage.promptTokens === 'number' && typeof usage.completionTokens === 'number'
        ? { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens }
        : null,
    promptText,
    completionText,
    latencyMs: performance.now() - startedAt,
  };
}

/**
 * How a stream ended, for the meter: what was generated is billed, but a stream that failed before
 * producing anything (no text, no usage) was not answered and costs nothing.
 */
export function streamOutcome(
  route: RouteUsed,
  startedAt: number,
  promptText: string,
  completionText: string,
  usage: { promptTokens?: unknown; completionTokens?: unknown } | null,
  upstreamFailed: boolean,
): UsageOutcome {
  if (upstreamFailed && usage === null && completionText === '')
    return notAnswered(502, startedAt, promptText);
  return answered(route, startedAt, promptText, completionText, usage ?? {});
}

/** The outcome of a request no upstream answered: it costs nothing. */
export function notAnswered(status: number, startedAt: number, promptText: string): UsageOutcome {
  return {
    status,
    answered: false,
    provider: null,
    upstreamModel: null,
    usage: null,
    promptText,
    completionText: '',
    latencyMs: performance.now() - startedAt,
  };
}

/** Generated text of an answer (content, refusals, tool-call arguments), for token estimates. */
export function completionTextOf(answer: Record<string, unknown>): string {
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
