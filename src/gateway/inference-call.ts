import type { AuthContext } from '../accounts/authenticator.js';
import type { AdmissionRequest } from '../billing/meter.js';
import type { ModelConfig } from '../config/schema.js';
import type { RequestTrace } from '../observability/tracing.js';
import type { CountedRequest } from '../ratelimit/model-call-limit.js';
import type { CancelSignal } from '../shared/cancel-signal.js';
import { ApiError } from '../shared/errors.js';
import type { ObjectLayout } from '../shared/json-members.js';
import type { ChatChunk, ReportedUsage } from './chat-chunks.js';
import type { ChatCompletionRequest, EmbeddingsRequest } from './chat-schema.js';
import type { RouteUsed } from './model-router.js';
import type { CacheDirective } from './response-cache/response-cache.js';

// What a surface hands the pipeline (a call) and what it gets back (an answer, a stream into its sink).

/** Who calls and how the call can end early: what every surface hands the pipeline. */
export interface InferenceCall {
  auth: AuthContext;
  /** Keys the usage record: one per model call. */
  requestId: string;
  /** `performance.now()` when the request arrived, for latency. */
  startedAt: number;
  /** Fires when the caller gave up: the upstream request is cancelled, a stream stops. */
  signal: CancelSignal;
  /**
   * The HTTP request's own rate-limit count, which covers its first model call. Without it (or for
   * any further call) the call is counted here.
   */
  counted?: CountedRequest | null;
  /** The client's `x-simo-cache` directive, if any. */
  cacheDirective?: CacheDirective | undefined;
  /** The client's session header (`x-session-id`): keeps a conversation on one route. */
  session?: string | undefined;
  /**
   * The answer's headers, for an HTTP surface (a Fastify reply is one), set before the answer starts:
   * `x-simo-cache` when the response cache was asked, and `x-simo-route` when the operator shows routes
   * (`routing.routeHeader`). A reference, not callbacks, so nothing is built per request for them.
   */
  headers?: AnswerHeaders | undefined;
  /** The client's W3C `traceparent`, continued by the call's span when tracing is on. */
  traceparent?: string | undefined;
  /** The call's span, set by the pipeline when tracing is on. */
  trace?: RequestTrace | undefined;
}

/** Where the pipeline sets an answer's headers. */
export interface AnswerHeaders {
  header(name: string, value: string): unknown;
}

/**
 * `x-simo-route`: the provider and upstream model that answered, and how many routes were tried. On a
 * response-cache hit: the route that made the cached answer, `attempts=0` and `cache=hit` (appended, so
 * a reader of the first three pairs reads a hit the same way).
 */
export const routeHeaderValue = (route: RouteUsed, cache?: 'hit'): string =>
  `provider=${route.provider}; model=${route.upstreamModel}; attempts=${route.attempts}${cache ? `; cache=${cache}` : ''}`;

/** A chat call: the request body in Chat Completions terms, as every chat surface translates it. */
export interface ChatCall extends InferenceCall {
  body: ChatCompletionRequest;
  /** The surface the call came in on, as usage records name it; chat by default. */
  endpoint?: ChatEndpoint;
}

/** The surfaces served by chat models, as usage records name them. */
export type ChatEndpoint = Exclude<AdmissionRequest['endpoint'], 'embeddings'>;

export interface EmbeddingsCall extends InferenceCall {
  body: EmbeddingsRequest;
}

/** A whole answer: the upstream's JSON, `model` renamed to the public id. */
export interface JsonAnswer {
  body: Record<string, unknown>;
  usage: ReportedUsage | null;
  route: RouteUsed;
}

/**
 * Where a streamed answer goes. The pipeline calls `open` once the route has produced its first event,
 * then `chunk` for every parsed chunk (the usage-only chunk included), and `failed` when the upstream
 * dies mid-stream; a surface renders them in its wire format.
 */
export interface ChunkSink<E = ChatChunk> {
  open(model: ModelConfig, route: RouteUsed): Promise<void> | void;
  chunk(chunk: E): Promise<void> | void;
  /**
   * Chat only: takes a chunk that carries no usage and no error as its upstream text (`layout` says
   * where its top-level members are), instead of parsed. A sink with it is handed chunks this way
   * unless the call is cached or traced (those read every chunk).
   */
  passOn?(data: string, layout: ObjectLayout): Promise<void> | void;
  /** After the events of one upstream read were handed on: a sink that buffers them writes them now. */
  flush?(): Promise<void> | void;
  /** After the first event was handled, relayed or not (an SSE surface flushes its headers). */
  started?(): void;
  /** The upstream failed after the stream started; no further chunk comes. */
  failed(): Promise<void> | void;
}

/** How a relayed stream ended; the call is already settled when this is returned. */
export interface StreamSummary {
  usage: ReportedUsage | null;
  /**
   * Generated text (content, refusals, tool-call arguments), for token estimates. A chat relay that
   * passes chunks on unparsed reads it all only when the upstream reported no usage.
   */
  completionText: string;
  /** The caller went away before the end. */
  clientAborted: boolean;
  /** The upstream failed after the stream started. */
  upstreamFailed: boolean;
}

/** What a surface tells its client when the upstream fails after the stream started. */
export const midStreamFailure = (): ApiError =>
  new ApiError('upstream_error', 'The model server failed while streaming the answer.');
