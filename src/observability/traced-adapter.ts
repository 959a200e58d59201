import type { ProviderEntry } from '../providers/registry.js';
import type {
  EventBatch,
  NativeSurface,
  ProviderAdapter,
  UpstreamCall,
  UpstreamJsonResult,
  UpstreamStreamResult,
} from '../providers/types.js';
import type { AttemptTrace, Tracer } from './tracing.js';

/**
 * Wraps every provider's adapter so each upstream attempt is a span of its request's trace and carries
 * its `traceparent` upstream. Installed only when tracing is on; routing never knows about it.
 */
export function traceAdapters(providers: Map<string, ProviderEntry>, tracer: Tracer): void {
  for (const entry of providers.values()) entry.adapter = new TracedAdapter(entry.adapter, tracer);
}

class TracedAdapter implements ProviderAdapter {
  readonly id: string;
  readonly type: string;
  readonly nativeSurfaces: readonly NativeSurface[];
  native?: ProviderAdapter['native'];
  nativeStream?: ProviderAdapter['nativeStream'];

  constructor(
    private readonly inner: ProviderAdapter,
    private readonly tracer: Tracer,
  ) {
    this.id = inner.id;
    this.type = inner.type;
    this.nativeSurfaces = inner.nativeSurfaces;
    // Present exactly when the inner adapter has them: routing checks for them.
    const { native, nativeStream } = inner;
    if (native) this.native = (surface, call) => this.json(call, (c) => native.call(inner, surface, c));
    if (nativeStream)
      this.nativeStream = (surface, call) => this.stream(call, (c) => nativeStream.call(inner, surface, c));
  }

  chatCompletion(call: UpstreamCall): Promise<UpstreamJsonResult> {
    return this.json(call, (c) => this.inner.chatCompletion(c));
  }

  chatCompletionStream(call: UpstreamCall): Promise<UpstreamStreamResult> {
    return this.stream(call, (c) => this.inner.chatCompletionStream(c));
  }

  embeddings(call: UpstreamCall): Promise<UpstreamJsonResult> {
    return this.json(call, (c) => this.inner.embeddings(c));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private attempt(call: UpstreamCall): AttemptTrace | undefined {
    return this.tracer.attempt(call.requestId, this.id, String(call.body.model));
  }

  private async json(
    call: UpstreamCall,
    send: (call: UpstreamCall) => Promise<UpstreamJsonResult>,
  ): Promise<UpstreamJsonResult> {
    const attempt = this.attempt(call);
    if (!attempt) return send(call);
    try {
      const result = await send(withHeaders(call, attempt));
      attempt.end(result.ok ? undefined : result.failure);
      return result;
    } catch (err) {
      attempt.end({ kind: 'exception' });
      throw err;
    }
  }

  private async stream(
    call: UpstreamCall,
    send: (call: UpstreamCall) => Promise<UpstreamStreamResult>,
  ): Promise<UpstreamStreamResult> {
    const attempt = this.attempt(call);
    if (!attempt) return send(call);
    let result: UpstreamStreamResult;
    try {
      result = await send(withHeaders(call, attempt));
    } catch (err) {
      attempt.end({ kind: 'exception' });
      throw err;
    }
    if (!result.ok) {
      attempt.end(result.failure);
      return result;
    }
    return { ok: true, events: endingSpan(result.events, attempt) };
  }
}

const withHeaders = (call: UpstreamCall, attempt: AttemptTrace): UpstreamCall => ({
  ...call,
  headers: { ...call.headers, ...attempt.headers },
});

/** The stream's events; the attempt's span ends with the stream, however it ends. */
async function* endingSpan(events: AsyncIterableIterator<EventBatch>, attempt: AttemptTrace) {
  let failure: { kind: string } | undefined;
  try {
    yield* events;
  } catch (err) {
    failure = { kind: 'stream' };
    throw err;
  } finally {
    attempt.end(failure);
  }
}
