import { Agent, errors as undiciErrors } from 'undici';
import { type CancelSignal, TimedSignal } from '../shared/cancel-signal.js';
import { sseEvents } from './sse-parser.js';
import type {
  EventBatch,
  NativeSurface,
  ProviderAdapter,
  UpstreamCall,
  UpstreamFailure,
  UpstreamJsonResult,
  UpstreamStreamResult,
} from './types.js';
import { UpstreamAnswerTooLarge, UpstreamExchange } from './upstream-exchange.js';

export interface OpenAICompatibleOptions {
  id: string;
  /** Base URL including the version segment, e.g. `http://10.0.0.5:8000/v1`. */
  baseUrl: string;
  apiKey?: string | undefined;
  headers?: Record<string, string>;
  timeoutMs: number;
  firstByteTimeoutMs?: number | undefined;
  connections: number;
  /** The field this server reads the completion cap from (OpenAI's reasoning models: `max_completion_tokens`). */
  maxTokensParam?: 'max_tokens' | 'max_completion_tokens';
  /** Surfaces the server speaks itself (`/responses`, `/messages`). */
  surfaces?: readonly NativeSurface[];
  /** Header the API key goes in. */
  apiKeyHeader?: 'authorization' | 'x-api-key';
  /** Largest JSON answer read (default {@link MAX_ANSWER_BYTES}); a larger one fails the route. */
  maxAnswerBytes?: number;
}

/**
 * A whole JSON answer is held in memory before it is checked and passed on, so its size is bounded:
 * far above any real answer (2,048 embeddings of 3,072 floats are about 120 MB of JSON), far below
 * what would let one upstream exhaust the gateway's memory.
 */
export const MAX_ANSWER_BYTES = 256 * 1024 * 1024;
/** An error answer is only read for its message. */
const MAX_ERROR_BODY_BYTES = 1024 * 1024;

/**
 * Any server that speaks the OpenAI HTTP API: vLLM, SGLang, Ollama, llama.cpp server, TGI, OpenAI,
 * Mistral, Groq… One pooled keep-alive agent per provider.
 */
export class OpenAICompatibleProvider implements ProviderAdapter {
  readonly type = 'openai-compatible';
  readonly id: string;
  private readonly agent: Agent;
  private readonly headers: Record<string, string>;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly firstByteTimeoutMs: number | undefined;
  private readonly capInCompletionField: boolean;
  private readonly maxAnswerBytes: number;
  readonly nativeSurfaces: readonly NativeSurface[];

  constructor(opts: OpenAICompatibleOptions) {
    this.id = opts.id;
    this.nativeSurfaces = opts.surfaces ?? [];
    this.capInCompletionField = opts.maxTokensParam === 'max_completion_tokens';
    // Parsed once: the request path is hot.
    const base = new URL(opts.baseUrl);
    this.origin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.firstByteTimeoutMs = opts.firstByteTimeoutMs;
    this.maxAnswerBytes = opts.maxAnswerBytes ?? MAX_ANSWER_BYTES;
    this.agent = new Agent({
      connections: opts.connections,
      keepAliveTimeout: 30_000,
      headersTimeout: opts.firstByteTimeoutMs ?? opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      connectTimeout: Math.min(10_000, opts.timeoutMs),
    });
    this.headers = {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(opts.apiKey
        ? opts.apiKeyHeader === 'x-api-key'
          ? { 'x-api-key': opts.apiKey }
          : { authorization: `Bearer ${opts.apiKey}` }
        : {}),
      ...opts.headers,
    };
  }

  chatCompletion(call: UpstreamCall): Promise<UpstreamJsonResult> {
    return this.postJson('/chat/completions', this.withCapField(call));
  }

  embeddings(call: UpstreamCall): Promise<UpstreamJsonResult> {
    return this.postJson('/embeddings', call);
  }

  native(surface: NativeSurface, call: UpstreamCall): Promise<UpstreamJsonResult> {
    return this.postJson(`/${surface}`, call);
  }

  nativeStream(surface: NativeSurface, call: UpstreamCall): Promise<UpstreamStreamResult> {
    return this.streamFrom(`/${surface}`, call);
  }

  chatCompletionStream(call: UpstreamCall): Promise<UpstreamStreamResult> {
    return this.streamFrom('/chat/completions', this.withCapField(call));
  }

  private async streamFrom(path: string, call: UpstreamCall): Promise<UpstreamStreamResult> {
    // For a stream the deadline runs until the first event: many servers (vLLM, SGLang…) send the
    // headers at once and the first token only when the model produced it.
    const guard = this.firstByteGuard(call.signal);
    const sent = await this.send(path, call, 'text/event-stream', guard);
    if (!sent.ok) {
      guard?.clearTimer();
      return sent;
    }
    const failure = await streamResponseFailure(sent.response);
    if (failure) {
      guard?.clearTimer();
      return { ok: false, failure };
    }
    const events = sseEvents(sent.response.body);
    return { ok: true, events: guard ? untilFirstEvent(events, guard) : events };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async postJson(path: string, call: UpstreamCall): Promise<UpstreamJsonResult> {
    const guard = this.firstByteGuard(call.signal);
    const sent = await this.send(path, call, 'application/json', guard);
    // A JSON answer's headers are its first byte.
    guard?.clearTimer();
    if (!sent.ok) return sent;
    const { response } = sent;
    if (response.statusCode < 200 || response.statusCode >= 300)
      return { ok: false, failure: await statusFailure(response) };
    try {
      const body = JSON.parse(await response.text(this.maxAnswerBytes)) as unknown;
      if (!body || typeof body !== 'object' || Array.isArray(body))
        return {
          ok: false,
          failure: { kind: 'protocol', message: 'upstream answered a non-object JSON body', retryable: true },
        };
      return { ok: true, status: response.statusCode, body: body as Record<string, unknown> };
    } catch (err) {
      if (err instanceof UpstreamAnswerTooLarge)
        return { ok: false, failure: { kind: 'protocol', message: err.message, retryable: true } };
      return { ok: false, failure: transportFailure(err, call.signal) };
    }
  }

  /** Moves a `max_tokens` cap to `max_completion_tokens` for servers that only accept the latter. */
  private withCapField(call: UpstreamCall): UpstreamCall {
    if (!this.capInCompletionField || call.body.max_tokens === undefined) return call;
    const { max_tokens: cap, ...rest } = call.body;
    if (rest.max_completion_tokens !== undefined) return call;
    return { ...call, body: { ...rest, max_completion_tokens: cap } };
  }

  private firstByteGuard(signal: CancelSignal): FirstByteGuard | undefined {
    return this.firstByteTimeoutMs === undefined
      ? undefined
      : new TimedSignal(signal, this.firstByteTimeoutMs, FIRST_BYTE_TIMEOUT);
  }

  private async send(
    path: string,
    call: UpstreamCall,
    accept: string,
    guard: FirstByteGuard | undefined,
  ): Promise<{ ok: true; response: UpstreamExchange } | { ok: false; failure: UpstreamFailure }> {
    try {
      const response = await UpstreamExchange.send(this.agent, {
        origin: this.origin,
        path: this.basePath + path,
        headers: { ...call.headers, ...this.headers, accept, 'x-request-id': call.requestId },
        body: JSON.stringify(call.body),
        signal: guard ?? call.signal,
      });
      return { ok: true, response };
    } catch (err) {
      if (guard?.timedOut && !call.signal.aborted)
        return { ok: false, failure: { kind: 'timeout', message: FIRST_BYTE_TIMEOUT, retryable: true } };
      return { ok: false, failure: transportFailure(err, call.signal) };
    }
  }
}

/**
 * Aborts a request whose response headers miss the first-byte deadline. undici's own `headersTimeout`
 * ticks in ~0.5 s steps, too coarse for a fallback deadline of a few hundred ms; it stays as a backstop.
 * The guard is the request's signal to its end: `clearTimer` at the first byte ends only the deadline,
 * so the parent (client gone, whole-request timeout) still aborts the request and its body.
 */
type FirstByteGuard = TimedSignal;

const FIRST_BYTE_TIMEOUT = 'upstream sent no first byte in time';

/** Passes events through, ending the first-byte deadline at the first ones; a miss surfaces as a TimeoutError. */
async function* untilFirstEvent(
  events: AsyncGenerator<EventBatch>,
  guard: FirstByteGuard,
): AsyncGenerator<EventBatch> {
  try {
    for await (const batch of events) {
      guard.clearTimer();
      yield batch;
    }
  } catch (err) {
    if (guard.timedOut) throw new DOMException(FIRST_BYTE_TIMEOUT, 'TimeoutError');
    throw err;
  } finally {
    guard.clearTimer();
  }
}

/** A stream request must be answered 200 with an event stream; anything else fails the route. */
async function streamResponseFailure(response: UpstreamExchange): Promise<UpstreamFailure | undefined> {
  if (response.statusCode !== 200) return statusFailure(response);
  const contentType = String(response.headers['content-type'] ?? '');
  if (contentType.includes('text/event-stream')) return undefined;
  response.abort(new undiciErrors.RequestAbortedError());
  return {
    kind: 'protocol',
    message: `upstream answered ${contentType || 'no content type'} to a stream request`,
    retryable: true,
  };
}

async function statusFailure(response: UpstreamExchange): Promise<UpstreamFailure> {
  const status = response.statusCode;
  let body: unknown;
  try {
    const text = await response.text(MAX_ERROR_BODY_BYTES);
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const upstreamMessage = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return {
    kind: 'status',
    status,
    body,
    message: `upstream answered HTTP ${status}${typeof upstreamMessage === 'string' ? `: ${upstreamMessage}` : ''}`,
    // Overload and server faults may pass on another route; a 4xx is about the request itself.
    retryable: status >= 500 || status === 429 || status === 408,
  };
}

/** Classifies a thrown transport error. */
export function transportFailure(err: unknown, signal: CancelSignal): UpstreamFailure {
  if (signal.aborted) {
    const reason = signal.reason as { name?: string } | undefined;
    const timedOut = reason?.name === 'TimeoutError';
    return {
      kind: timedOut ? 'timeout' : 'aborted',
      message: timedOut ? 'upstream did not answer in time' : 'request aborted',
      retryable: timedOut,
    };
  }
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError)
    return { kind: 'timeout', message: 'upstream did not answer in time', retryable: true };
  if (err instanceof undiciErrors.ConnectTimeoutError)
    return { kind: 'timeout', message: 'upstream connection timed out', retryable: true };
  const code = (err as { code?: string }).code ?? '';
  return { kind: 'connect', message: `upstream unreachable${code ? ` (${code})` : ''}`, retryable: true };
}
