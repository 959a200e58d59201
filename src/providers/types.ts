import type { CancelSignal } from '../shared/cancel-signal.js';

/** Token counts as OpenAI reports them. */
export interface TokenUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  [detail: string]: unknown;
}

/** Why an upstream call failed; `retryable` failures let the router try the model's next route. */
export interface UpstreamFailure {
  kind: 'connect' | 'timeout' | 'status' | 'protocol' | 'aborted';
  /** The upstream's HTTP status, for `status` failures. */
  status?: number;
  /** The upstream's own error body, when it sent one (passed to the client for 4xx). */
  body?: unknown;
  message: string;
  retryable: boolean;
}

/** A call the gateway makes: the OpenAI request body with the upstream's model name filled in. */
export interface UpstreamCall {
  body: Record<string, unknown>;
  /** Aborted when the client goes away or the gateway gives up (an AbortSignal or a lighter look-alike). */
  signal: CancelSignal;
  requestId: string;
  /** Headers of the client's request to pass on (e.g. `anthropic-version`, `anthropic-beta`). */
  headers?: Record<string, string>;
}

export type UpstreamJsonResult =
  | { ok: true; status: number; body: Record<string, unknown> }
  | { ok: false; failure: UpstreamFailure };

/**
 * Events that arrived together (never none), which a relay handles and writes at once. `last` marks
 * the events the upstream ended its stream with (`[DONE]` followed, and the body ended): a relay may
 * hold them for its closing write.
 */
export type EventBatch = string[] & { readonly last?: true };

/** A streamed answer: the `data:` payloads of the SSE events, `[DONE]` excluded, in arrival order, in batches. */
export type UpstreamStreamResult =
  | { ok: true; events: AsyncIterableIterator<EventBatch> }
  | { ok: false; failure: UpstreamFailure };

/**
 * What every model provider implements. Adapters only translate and transport; routing, fallback,
 * metering and error shaping live in the gateway pipeline.
 */
export interface ProviderAdapter {
  readonly id: string;
  readonly type: string;
  chatCompletion(call: UpstreamCall): Promise<UpstreamJsonResult>;
  chatCompletionStream(call: UpstreamCall): Promise<UpstreamStreamResult>;
  embeddings(call: UpstreamCall): Promise<UpstreamJsonResult>;
  /** The surfaces besides chat this upstream speaks itself, relayed as they are. */
  readonly nativeSurfaces: readonly NativeSurface[];
  /** A native surface's request, relayed (JSON answer). */
  native?(surface: NativeSurface, call: UpstreamCall): Promise<UpstreamJsonResult>;
  /** A native surface's request, relayed (its event stream, in batches of events' data). */
  nativeStream?(surface: NativeSurface, call: UpstreamCall): Promise<UpstreamStreamResult>;
  close(): Promise<void>;
}

/** API surfaces an upstream may serve natively: OpenAI Responses and Anthropic Messages. */
export type NativeSurface = 'responses' | 'messages';
