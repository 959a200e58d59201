import { Agent, type Dispatcher, errors as undiciErrors } from 'undici';
import { sseEvents } from './sse-parser.js';
import type {
  ProviderAdapter,
  UpstreamCall,
  UpstreamFailure,
  UpstreamJsonResult,
  UpstreamStreamResult,
} from './types.js';

export interface OpenAICompatibleOptions {
  id: string;
  /** Base URL including the version segment, e.g. `http://10.0.0.5:8000/v1`. */
  baseUrl: string;
  apiKey?: string | undefined;
  headers?: Record<string, string>;
  timeoutMs: number;
  firstByteTimeoutMs?: number | undefined;
  connections: number;
}

/**
 * Any server that speaks the OpenAI HTTP API: vLLM, SGLang, Ollama, llama.cpp server, TGI, OpenAI,
 * Mistral, Groq… One pooled keep-alive agent per provider.
 */
export class OpenAICompatibleProvider implements ProviderAdapter {
  readonly type = 'openai-compatible';
  readonly id: string;
  private readonly agent: Agent;
  private readonly headers: Record<string, string>;
  private readonly baseUrl: string;

  constructor(opts: OpenAICompatibleOptions) {
    this.id = opts.id;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
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
      ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {}),
      ...opts.headers,
    };
  }

  chatCompletion(call: UpstreamCall): Promise<UpstreamJsonResult> {
    return this.postJson('/chat/completions', call);
  }

  embeddings(call: UpstreamCall): Promise<UpstreamJsonResult> {
    return this.postJson('/embeddings', call);
  }

  async chatCompletionStream(call: UpstreamCall): Promise<UpstreamStreamResult> {
    const sent = await this.send('/chat/completions', call, 'text/event-stream');
    if (!sent.ok) return sent;
    const { response } = sent;
    if (response.statusCode !== 200) return { ok: false, failure: await statusFailure(response) };
    const contentType = String(response.headers['content-type'] ?? '');
    if (!contentType.includes('text/event-stream')) {
      await response.body.dump().catch(() => {});
      return {
        ok: false,
        failure: {
          kind: 'protocol',
          message: `upstream answered ${contentType || 'no content type'} to a stream request`,
          retryable: true,
        },
      };
    }
    return { ok: true, events: sseEvents(response.body) };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async postJson(path: string, call: UpstreamCall): Promise<UpstreamJsonResult> {
    const sent = await this.send(path, call, 'application/json');
    if (!sent.ok) return sent;
    const { response } = sent;
    if (response.statusCode < 200 || response.statusCode >= 300)
      return { ok: false, failure: await statusFailure(response) };
    try {
      const body = (await response.body.json()) as unknown;
      if (!body || typeof body !== 'object' || Array.isArray(body))
        return {
          ok: false,
          failure: { kind: 'protocol', message: 'upstream answered a non-object JSON body', retryable: true },
        };
      return { ok: true, status: response.statusCode, body: body as Record<string, unknown> };
    } catch (err) {
      return { ok: false, failure: transportFailure(err, call.signal) };
    }
  }

  private async send(
    path: string,
    call: UpstreamCall,
    accept: string,
  ): Promise<{ ok: true; response: Dispatcher.ResponseData } | { ok: false; failure: UpstreamFailure }> {
    try {
      const response = await this.agent.request({
        origin: originOf(this.baseUrl),
        path: pathOf(this.baseUrl) + path,
        method: 'POST',
        headers: { ...this.headers, accept, 'x-request-id': call.requestId },
        body: JSON.stringify(call.body),
        signal: call.signal,
      });
      return { ok: true, response };
    } catch (err) {
      return { ok: false, failure: transportFailure(err, call.signal) };
    }
  }
}

const originOf = (url: string) => new URL(url).origin;
const pathOf = (url: string) => new URL(url).pathname.replace(/\/+$/, '');

async function statusFailure(response: Dispatcher.ResponseData): Promise<UpstreamFailure> {
  const status = response.statusCode;
  let body: unknown;
  try {
    const text = await response.body.text();
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
export function transportFailure(err: unknown, signal: AbortSignal): UpstreamFailure {
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
