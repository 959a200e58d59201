import type { AuthContext } from '../accounts/authenticator.js';
import type { AdmissionRequest, UsageMeter } from '../billing/meter.js';
import type { ModelConfig } from '../config/schema.js';
import type { GenAiOperation, Tracer } from '../observability/tracing.js';
import type { EventBatch } from '../providers/types.js';
import { limitModelCall } from '../ratelimit/model-call-limit.js';
import type { RequestLimiter } from '../ratelimit/types.js';
import { ApiError } from '../shared/errors.js';
import { Admitted } from './admitted-call.js';
import type { ModelCatalog } from './catalog.js';
import { type ChatChunk, collectDeltaText, completionTextOf, reportedUsage } from './chat-chunks.js';
import type { ChatCompletionRequest, EmbeddingsRequest } from './chat-schema.js';
import type {
  ChatCall,
  ChunkSink,
  EmbeddingsCall,
  InferenceCall,
  JsonAnswer,
  StreamSummary,
} from './inference-call.js';
import type { ModelRouter, NativeOperation, RoutedStream, RouteUsed } from './model-router.js';
import { type MeasuredPrompt, measureChatPrompt, measureEmbeddingsInput } from './prompt-size.js';
import type { CachedAnswer, CacheSlot, ResponseCache } from './response-cache/response-cache.js';
import type { AffinityHints } from './routing/affinity.js';
import { ParsedReader, PassingChatReader, type PassingSink, type StreamReader } from './stream-readers.js';
import { relayStream } from './stream-relay.js';
import { NativeStreamReader, nativeCompletionText, nativeUsage } from './translate/native-usage.js';

/**
 * What the pipeline reads. The container satisfies it; `meter` is read per call, so a process may
 * swap it (the benchmark's no-op meter).
 */
export interface PipelineDeps {
  catalog: ModelCatalog;
  router: ModelRouter;
  limiter: RequestLimiter;
  meter: UsageMeter;
  auditSignals: { onPrompt(auth: AuthContext, text: string): void };
  config: {
    plans: Record<string, { tpm?: number | undefined }>;
    /** `routeHeader`: set each call's `x-simo-route` header (on `InferenceCall.headers`). */
    routing: { routeHeader: boolean };
  };
  /** The response cache; absent when no model caches. */
  responseCache?: ResponseCache | undefined;
  /** Request spans; absent when tracing is off, and then nothing on the request path touches it. */
  tracer?: Tracer | undefined;
}

/**
 * What an inference surface reads: the pipeline, the catalog (model lists, default models) and how
 * long a client that stops reading may hold a stream.
 */
export interface SurfaceDeps {
  pipeline: InferencePipeline;
  catalog: ModelCatalog;
  config: { limits: { writeTimeoutMs: number } };
}

/**
 * The one inference pipeline: resolve the model for the tenant → limit (rpm, tpm) → admit (credits) →
 * route with fallback → relay → settle. Every surface (`/v1/chat/completions`, `/v1/embeddings`, MCP,
 * A2A, the playground) parses its request into a call and renders the result; none of them meters.
 * An admitted call is settled exactly once whichever way it ends: refused by every route, thrown,
 * answered, abandoned by its caller, or cut off mid-stream.
 */
export class InferencePipeline {
  /** Tokens are debited per call only when some plan limits them. */
  private readonly debitsTokens: boolean;

  constructor(private readonly deps: PipelineDeps) {
    this.debitsTokens = Object.values(deps.config.plans).some((p) => p.tpm);
  }

  /** True when every route of the model speaks `surface` itself: its requests are relayed as they are. */
  speaksNatively(model: ModelConfig, surface: NativeOperation['surface']): boolean {
    return this.deps.router.speaksNatively(model, surface);
  }

  /** A non-streamed chat completion. */
  complete(call: ChatCall): Promise<JsonAnswer> {
    if (!this.deps.tracer) return this.completeCall(call);
    return this.traced(call, 'chat', false, () => this.completeCall(call));
  }

  /** Embeddings. Token-id inputs longer than the model's context are refused before any upstream. */
  embed(call: EmbeddingsCall): Promise<JsonAnswer> {
    if (!this.deps.tracer) return this.embedCall(call);
    return this.traced(call, 'embeddings', false, () => this.embedCall(call));
  }

  /**
   * A streamed chat completion, relayed chunk by chunk into `sink` at the pace the sink takes them.
   * Resolves once the stream is over and settled; throws (settled already) when no route answered.
   */
  stream(call: ChatCall, sink: ChunkSink): Promise<StreamSummary> {
    if (!this.deps.tracer) return this.streamCall(call, sink);
    return this.traced(call, 'chat', true, () => this.streamCall(call, sink));
  }

  /**
   * A request of a surface the model's upstreams speak themselves (see `ModelRouter.speaksNatively`),
   * relayed as it is: admitted on `call.body` (the same request translated to chat, for its size),
   * `body` sent upstream with the model renamed and the completion cap the balance affords, usage read
   * from the answer. Not streamed.
   */
  completeNative(
    call: ChatCall,
    native: NativeOperation,
    body: Record<string, unknown>,
  ): Promise<JsonAnswer> {
    if (!this.deps.tracer) return this.completeNativeCall(call, native, body);
    return this.traced(call, 'chat', false, () => this.completeNativeCall(call, native, body));
  }

  /** Like `completeNative`, streamed: every upstream event is handed to `sink` as parsed JSON. */
  streamNative(
    call: ChatCall,
    native: NativeOperation,
    body: Record<string, unknown>,
    sink: ChunkSink<Record<string, unknown>>,
  ): Promise<StreamSummary> {
    if (!this.deps.tracer) return this.streamNativeCall(call, native, body, sink);
    return this.traced(call, 'chat', true, () => this.streamNativeCall(call, native, body, sink));
  }

  /** Runs a call inside its request span, which ends once the call is over (a stream: relayed and settled). */
  private async traced<R>(
    call: InferenceCall & { body: object },
    operation: GenAiOperation,
    streamed: boolean,
    run: () => Promise<R>,
  ): Promise<R> {
    const trace = this.deps.tracer!.start({
      operation,
      requestId: call.requestId,
      tenantId: call.auth.tenant.id,
      body: call.body as Record<string, unknown>,
      streamed,
      traceparent: call.traceparent,
    });
    call.trace = trace;
    try {
      return await run();
    } catch (err) {
      trace.failed(err);
      throw err;
    } finally {
      trace.end();
    }
  }

  private async completeCall(call: ChatCall): Promise<JsonAnswer> {
    const admitted = await this.admitChat(call, false);
    const slot = this.cacheSlot(call, admitted, false);
    const hit = slot && (await this.lookup(call, admitted, slot));
    const routed =
      hit?.kind === 'json'
        ? { ok: true as const, body: hit.body, route: admitted.fromCache(hit.route) }
        : await admitted.route(() =>
            this.deps.router.json(
              admitted.model,
              'chatCompletion',
              admitted.body,
              call.signal,
              call.requestId,
              hintsOf(call),
            ),
          );
    const usage = reportedUsage(routed.body.usage as ChatChunk['usage']);
    const answer = await admitted.answer(routed, completionTextOf(routed.body), usage);
    if (slot && !hit) slot.keep({ kind: 'json', body: answer.body, route: answer.route });
    return answer;
  }

  private async embedCall(call: EmbeddingsCall): Promise<JsonAnswer> {
    await this.limit(call);
    const model = this.deps.catalog.resolve(call.auth.tenant, call.body.model, 'embedding');
    assertTokenInputsFit(call.body.input, model.contextWindow);
    const admitted = await this.admit(
      call,
      model,
      'embeddings',
      measureEmbeddingsInput(call.body.input),
      call.body,
      {
        maxCompletionTokens: 0,
        choices: 1,
        streamed: false,
      },
    );
    const routed = await admitted.route(() =>
      this.deps.router.json(model, 'embeddings', call.body, call.signal, call.requestId),
    );
    // Embeddings have no completion: usage reports prompt tokens only.
    const promptTokens = (routed.body.usage as { prompt_tokens?: unknown } | undefined)?.prompt_tokens;
    const usage = typeof promptTokens === 'number' ? { promptTokens, completionTokens: 0 } : null;
    return admitted.answer(routed, '', usage);
  }

  private async streamCall(call: ChatCall, sink: ChunkSink): Promise<StreamSummary> {
    const admitted = await this.admitChat(call, true);
    // Usage is always asked for, so every stream is billed exactly; a surface drops the chunk if unasked.
    const body = {
      ...admitted.body,
      stream: true,
      stream_options: { ...(admitted.body.stream_options ?? {}), include_usage: true },
    };
    const slot = this.cacheSlot(call, admitted, true);
    const hit = slot && (await this.lookup(call, admitted, slot));
    const routed =
      hit?.kind === 'stream'
        ? replayOf(hit, admitted.fromCache(hit.route))
        : await admitted.route(() =>
            this.deps.router.stream(
              admitted.model,
              body,
              call.signal,
              call.requestId,
              undefined,
              hintsOf(call),
            ),
          );
    const recorder = slot && !hit ? slot.recorder() : undefined;
    // The cache records, and a trace may keep, every chunk: those calls parse them all.
    const reader: StreamReader =
      sink.passOn && !recorder && !call.trace
        ? new PassingChatReader(sink as PassingSink)
        : new ParsedReader(sink, (chunk, texts) => {
            recorder?.add(chunk);
            collectDeltaText(chunk, texts);
            return reportedUsage(chunk.usage);
          });
    const summary = await relayStream(call.signal, admitted, routed, sink, reader);
    // Only a whole answer is kept: never one its client abandoned or its upstream cut off.
    const whole = !summary.clientAborted && !summary.upstreamFailed;
    if (slot && recorder?.finished && !recorder.overflowed && whole)
      slot.keep({ kind: 'stream', events: recorder.events, route: routed.route });
    return summary;
  }

  /** The call's response-cache slot, when its model caches and the request qualifies. */
  private cacheSlot(
    call: ChatCall,
    admitted: Admitted<ChatCompletionRequest>,
    streamed: boolean,
  ): CacheSlot | undefined {
    return this.deps.responseCache?.slotFor(
      call.auth.tenant.id,
      admitted.model,
      call.body,
      streamed,
      call.cacheDirective,
      admitted.ticket.completionCap !== null,
    );
  }

  /** Looks the call up in the cache; a hit is billed per the model's cache pricing. */
  private async lookup(
    call: ChatCall,
    admitted: Admitted<unknown>,
    slot: CacheSlot,
  ): Promise<CachedAnswer | undefined> {
    const hit = await slot.lookup();
    admitted.cacheOutcome(hit ? 'hit' : 'miss', hit ? slot.priceFactor : 1);
    call.headers?.header('x-simo-cache', hit ? 'hit' : 'miss');
    return hit;
  }

  private async completeNativeCall(
    call: ChatCall,
    native: NativeOperation,
    body: Record<string, unknown>,
  ): Promise<JsonAnswer> {
    const admitted = await this.admitChat(call, false);
    const sent = withNativeCap(native.surface, body, admitted.ticket.completionCap);
    const routed = await admitted.route(() =>
      this.deps.router.json(admitted.model, native, sent, call.signal, call.requestId, hintsOf(call)),
    );
    const usage = nativeUsage(native.surface, routed.body.usage);
    return admitted.answer(routed, nativeCompletionText(native.surface, routed.body), usage);
  }

  private async streamNativeCall(
    call: ChatCall,
    native: NativeOperation,
    body: Record<string, unknown>,
    sink: ChunkSink<Record<string, unknown>>,
  ): Promise<StreamSummary> {
    const admitted = await this.admitChat(call, true);
    const sent = { ...withNativeCap(native.surface, body, admitted.ticket.completionCap), stream: true };
    const routed = await admitted.route(() =>
      this.deps.router.stream(admitted.model, sent, call.signal, call.requestId, native, hintsOf(call)),
    );
    const events = new NativeStreamReader(native.surface);
    const reader = new ParsedReader(sink, (event, texts) => {
      events.read(event, texts);
      return events.usage;
    });
    return relayStream(call.signal, admitted, routed, sink, reader);
  }

  /** Counts the call against the tenant's requests and tokens per minute unless its request already was. */
  private async limit(call: InferenceCall): Promise<void> {
    if (!call.counted?.coversCall()) await limitModelCall(this.deps.limiter, call.auth, call.counted);
  }

  private async admitChat(call: ChatCall, streamed: boolean): Promise<Admitted<ChatCompletionRequest>> {
    await this.limit(call);
    const model = this.deps.catalog.resolve(call.auth.tenant, call.body.model, 'chat');
    const prompt = measureChatPrompt(call.body);
    this.deps.auditSignals.onPrompt(call.auth, prompt.text);
    const admitted = await this.admit(call, model, call.endpoint ?? 'chat.completions', prompt, call.body, {
      maxCompletionTokens: call.body.max_completion_tokens ?? call.body.max_tokens ?? 0,
      choices: call.body.n ?? 1,
      streamed,
    });
    // `max_tokens` is the cap every OpenAI-compatible server reads; adapters rename it where needed.
    const cap = admitted.ticket.completionCap;
    if (cap !== null) admitted.body = { ...call.body, max_tokens: cap };
    return admitted;
  }

  private async admit<B>(
    call: InferenceCall,
    model: ModelConfig,
    endpoint: AdmissionRequest['endpoint'],
    prompt: MeasuredPrompt,
    body: B,
    shape: Pick<AdmissionRequest, 'maxCompletionTokens' | 'choices' | 'streamed'>,
  ): Promise<Admitted<B>> {
    const ticket = await this.deps.meter.admit({
      auth: call.auth,
      requestId: call.requestId,
      model,
      endpoint,
      prompt: prompt.size,
      ...shape,
    });
    return new Admitted(
      call,
      model,
      body,
      ticket,
      prompt,
      // A key with its own tokens-per-minute is debited too.
      this.debitsTokens || call.auth.key.limits?.tpm ? this.deps.limiter : undefined,
      this.deps.config.routing.routeHeader,
    );
  }
}

/** What keeps a conversation on one route: its tenant and session header (the body holds the rest). */
const hintsOf = (call: InferenceCall): AffinityHints => ({
  tenantId: call.auth.tenant.id,
  session: call.session,
});

/**
 * The cap on a native request's output: Anthropic requires `max_tokens` (so the client's always
 * stands); a Responses request without `max_output_tokens` gets the one the balance affords.
 */
function withNativeCap(
  surface: NativeOperation['surface'],
  body: Record<string, unknown>,
  cap: number | null,
): Record<string, unknown> {
  if (cap === null) return body;
  if (surface === 'responses') return { ...body, max_output_tokens: cap };
  return { ...body, max_tokens: cap };
}

/** A cached stream as if routed: its events replayed in order, as fast as the client takes them. */
function replayOf(hit: CachedAnswer & { kind: 'stream' }, route: RouteUsed): RoutedStream & { ok: true } {
  async function* rest(): AsyncGenerator<EventBatch> {}
  return {
    ok: true,
    first: Object.assign([...hit.events], { last: true as const }),
    rest: rest(),
    route,
  };
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
