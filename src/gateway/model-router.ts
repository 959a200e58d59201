import type { ModelConfig } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { ProviderEntry } from '../providers/registry.js';
import type { NativeSurface, UpstreamFailure } from '../providers/types.js';
import { ApiError } from '../shared/errors.js';
import { attemptSignal, type CancelSource, releasingIterator } from './attempt-signal.js';

/** Where a request was served. */
export interface RouteUsed {
  provider: string;
  upstreamModel: string;
}

export type RoutedJson =
  | { ok: true; body: Record<string, unknown>; route: RouteUsed }
  | { ok: false; error: ApiError };

export type RoutedStream =
  | {
      ok: true;
      /** The first event, already received: proof the route works before the client sees a byte. */
      first: string;
      rest: AsyncIterator<string>;
      route: RouteUsed;
    }
  | { ok: false; error: ApiError };

type JsonOperation = 'chatCompletion' | 'embeddings';

/** A native surface call: which surface, and the client's headers to pass on. */
export interface NativeOperation {
  surface: NativeSurface;
  headers: Record<string, string>;
}

/**
 * Tries a model's routes in order. A route that fails before anything reached the client
 * (connect error, timeout, 5xx, 429, a stream that dies before its first event) falls through to the next.
 */
export class ModelRouter {
  constructor(
    private readonly providers: Map<string, ProviderEntry>,
    private readonly metrics?: Pick<Metrics, 'upstreamDuration' | 'upstreamTtfb' | 'upstreamFailures'>,
  ) {}

  private observe(provider: string, startedAt: number, failure?: UpstreamFailure): void {
    if (!this.metrics) return;
    const seconds = (performance.now() - startedAt) / 1000;
    if (failure) this.metrics.upstreamFailures.inc({ provider, kind: failure.kind });
    else {
      this.metrics.upstreamTtfb.observe({ provider }, seconds);
      this.metrics.upstreamDuration.observe({ provider }, seconds);
    }
  }

  /** True when every route of the model speaks the surface itself, so requests are relayed as they are. */
  speaksNatively(model: ModelConfig, surface: NativeSurface): boolean {
    return model.routes.every((r) => {
      const adapter = this.providers.get(r.provider)?.adapter;
      return adapter?.nativeSurfaces.includes(surface) === true && adapter.native !== undefined;
    });
  }

  async json(
    model: ModelConfig,
    operation: JsonOperation | NativeOperation,
    body: Record<string, unknown>,
    clientSignal: CancelSource,
    requestId: string,
  ): Promise<RoutedJson> {
    let last: UpstreamFailure | undefined;
    for (const r of model.routes) {
      const entry = this.providers.get(r.provider)!;
      const upstreamModel = r.model ?? model.id;
      const attempt = attemptSignal(clientSignal, entry.timeoutMs);
      const startedAt = performance.now();
      const upstreamCall = { body: { ...body, model: upstreamModel }, signal: attempt.signal, requestId };
      const result =
        typeof operation === 'string'
          ? await entry.adapter[operation](upstreamCall)
          : await entry.adapter.native!(operation.surface, { ...upstreamCall, headers: operation.headers });
      // The adapter has read the whole answer by now.
      attempt.release();
      this.observe(r.provider, startedAt, result.ok ? undefined : result.failure);
      if (result.ok) return { ok: true, body: result.body, route: { provider: r.provider, upstreamModel } };
      last = result.failure;
      if (!result.failure.retryable || clientSignal.aborted) break;
    }
    return { ok: false, error: failureToError(last) };
  }

  async stream(
    model: ModelConfig,
    body: Record<string, unknown>,
    clientSignal: CancelSource,
    requestId: string,
    native?: NativeOperation,
  ): Promise<RoutedStream> {
    let last: UpstreamFailure | undefined;
    for (const r of model.routes) {
      const entry = this.providers.get(r.provider)!;
      const upstreamModel = r.model ?? model.id;
      const attempt = attemptSignal(clientSignal, entry.timeoutMs);
      const startedAt = performance.now();
      const upstreamCall = { body: { ...body, model: upstreamModel }, signal: attempt.signal, requestId };
      const result = native
        ? await entry.adapter.nativeStream!(native.surface, { ...upstreamCall, headers: native.headers })
        : await entry.adapter.chatCompletionStream(upstreamCall);
      if (result.ok) {
        try {
          const first = await result.events.next();
          if (!first.done) {
            // Time to the first event; the stream's full duration is not known here.
            this.metrics?.upstreamTtfb.observe(
              { provider: r.provider },
              (performance.now() - startedAt) / 1000,
            );
            return {
              ok: true,
              first: first.value,
              rest: releasingIterator(result.events, attempt.release),
              route: { provider: r.provider, upstreamModel },
            };
          }
          last = { kind: 'protocol', message: 'upstream stream ended before any event', retryable: true };
        } catch (err) {
          last = streamFailure(err, attempt.signal);
        }
      } else {
        last = result.failure;
      }
      attempt.release();
      this.metrics?.upstreamFailures.inc({ provider: r.provider, kind: last.kind });
      if (!last.retryable || clientSignal.aborted) break;
    }
    return { ok: false, error: failureToError(last) };
  }
}

const isTimeout = (e: unknown) => (e as { name?: unknown } | undefined)?.name === 'TimeoutError';

function streamFailure(err: unknown, signal: AbortSignal): UpstreamFailure {
  // The adapter reports a missed first-event deadline as a TimeoutError of its own.
  if (signal.aborted || isTimeout(err)) {
    const timedOut = isTimeout(err) || isTimeout(signal.reason);
    return {
      kind: timedOut ? 'timeout' : 'aborted',
      message: timedOut ? 'upstream did not answer in time' : 'request aborted',
      retryable: timedOut,
    };
  }
  return { kind: 'connect', message: `upstream stream failed: ${(err as Error).message}`, retryable: true };
}

/** The client-facing error once every route has failed. Upstream internals are not leaked. */
export function failureToError(failure: UpstreamFailure | undefined): ApiError {
  if (!failure) return new ApiError('upstream_unavailable', 'No route could serve this model.');
  switch (failure.kind) {
    case 'timeout':
      return new ApiError('upstream_timeout', 'The model server did not answer in time. Please retry.');
    case 'connect':
    case 'aborted':
      return new ApiError('upstream_unavailable', 'The model server is unavailable. Please retry shortly.');
    case 'protocol':
      return new ApiError('upstream_error', 'The model server sent an invalid response.');
    case 'status': {
      const status = failure.status ?? 502;
      // The upstream rejected the request itself (e.g. context too long): the client can act on it.
      if (status === 400 || status === 413 || status === 422) {
        const err = (failure.body as { error?: { message?: unknown; param?: unknown } } | undefined)?.error;
        const message =
          typeof err?.message === 'string' ? err.message : 'The model server rejected the request.';
        const param = typeof err?.param === 'string' ? err.param : null;
        return new ApiError('invalid_request', message, param);
      }
      if (status === 429 || status === 503)
        return new ApiError('upstream_unavailable', 'The model server is overloaded. Please retry shortly.');
      return new ApiError('upstream_error', `The model server failed (HTTP ${status}).`);
    }
  }
}
