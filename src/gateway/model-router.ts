import type { ModelConfig } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { ProviderEntry } from '../providers/registry.js';
import type { EventBatch, NativeSurface, UpstreamCall, UpstreamFailure } from '../providers/types.js';
import type { CancelSignal } from '../shared/cancel-signal.js';
import { ApiError } from '../shared/errors.js';
import { attemptSignal, releasingIterator } from './attempt-signal.js';
import { type AffinityHints, AffinityMap, conversationKey } from './routing/affinity.js';
import type { BreakerState, RouteHealth, TransitionListener } from './routing/route-health.js';
import { type ModelRoutes, RouteTable, type RouteTarget } from './routing/route-table.js';

/** Where a request was served. */
export interface RouteUsed {
  provider: string;
  upstreamModel: string;
  /** Routes tried for it, this one included. */
  attempts: number;
}

/** No route answered: why, and how many routes were tried (0 when every circuit was open). */
export interface Unrouted {
  ok: false;
  error: ApiError;
  attempts: number;
}

export type RoutedJson = { ok: true; body: Record<string, unknown>; route: RouteUsed } | Unrouted;

export type RoutedStream =
  | {
      ok: true;
      /** The first events, already received: proof the route works before the client sees a byte. */
      first: EventBatch;
      /** The events after them, in batches (see `UpstreamStreamResult`). */
      rest: AsyncIterator<EventBatch>;
      route: RouteUsed;
    }
  | Unrouted;

type JsonOperation = 'chatCompletion' | 'embeddings';

/** A native surface call: which surface, and the client's headers to pass on. */
export interface NativeOperation {
  surface: NativeSurface;
  headers: Record<string, string>;
}

type RouterMetrics = Pick<
  Metrics,
  'upstreamDuration' | 'upstreamTtfb' | 'upstreamFailures' | 'routeBreakerState'
>;

/** One attempt on one route: the call to make, and how to end the attempt once its answer is over. */
interface Attempt {
  target: RouteTarget;
  call: UpstreamCall;
  /** `performance.now()` when the attempt began. */
  startedAt: number;
  /** Stops the attempt's timer and frees the route's slot; idempotent. */
  release: () => void;
}

/** What an attempt produced: a value with its latency (to the whole answer, or to a stream's first event), or a failure. */
type Attempted<T> =
  | { ok: true; value: T; latencyMs: number; whole: boolean }
  | { ok: false; failure: UpstreamFailure };

/** Where one request stands in its walk over the model's routes. */
interface Walk {
  routes: ModelRoutes;
  /** Index of the route tried first. */
  start: number;
  /** The conversation, when the model keeps conversations on one route. */
  conversation: string | undefined;
  maxAttempts: number;
  /** `performance.now()` after which no further route is tried. */
  deadline: number;
  attempts: number;
  /** Routes passed over because their circuit is open. */
  skipped: number;
}

/**
 * Tries a model's routes: the first as its strategy (and the conversation's affinity) picks, then the
 * others as fallback. A route that fails before anything reached the client (connect error, timeout,
 * 5xx, 429, a stream that dies before its first event) falls through to the next, within the model's
 * retry policy; a route whose circuit is open is skipped without trying it.
 */
export class ModelRouter {
  /** Every route's health on this replica. */
  readonly table: RouteTable;
  private readonly affinity = new AffinityMap();

  constructor(
    providers: Map<string, ProviderEntry>,
    private readonly metrics?: RouterMetrics,
    onTransition?: TransitionListener,
  ) {
    this.table = new RouteTable(providers, (health, state, openUntil) => {
      this.metrics?.routeBreakerState.set(breakerLabels(health), breakerValue[state]);
      onTransition?.(health, state, openUntil);
    });
  }

  /** Lists every route of `models` up front, so `/metrics` and the status page show them before traffic. */
  register(models: ModelConfig[]): void {
    this.table.register(models);
    for (const health of this.table.all())
      if (health.breaker)
        this.metrics?.routeBreakerState.set(breakerLabels(health), breakerValue[health.state]);
  }

  /**
   * Applies another replica's transition. Its half-open means it is probing the route: this replica
   * keeps it open for another cooldown, and probes itself only if no outcome arrives by then.
   */
  adoptRemote(key: string, state: BreakerState, openUntil: number): void {
    const health = this.table.find(key);
    if (!health?.breaker) return;
    if (state === 'half-open') health.adopt('open', Date.now() + health.breaker.cooldownMs);
    else health.adopt(state, openUntil);
    this.metrics?.routeBreakerState.set(breakerLabels(health), breakerValue[health.state]);
  }

  /** True when every route of the model speaks the surface itself, so requests are relayed as they are. */
  speaksNatively(model: ModelConfig, surface: NativeSurface): boolean {
    return this.table.routesOf(model).targets.every(({ entry }) => {
      const adapter = entry?.adapter;
      return adapter?.nativeSurfaces.includes(surface) === true && adapter.native !== undefined;
    });
  }

  async json(
    model: ModelConfig,
    operation: JsonOperation | NativeOperation,
    body: Record<string, unknown>,
    clientSignal: CancelSignal,
    requestId: string,
    hints?: AffinityHints,
  ): Promise<RoutedJson> {
    const routed = await this.route(
      model,
      body,
      clientSignal,
      requestId,
      hints,
      async ({ target, call, startedAt }) => {
        const { adapter } = target.entry;
        const result =
          typeof operation === 'string'
            ? await adapter[operation](call)
            : await adapter.native!(operation.surface, { ...call, headers: operation.headers });
        if (!result.ok) return result;
        // The adapter has read the whole answer by now.
        return { ok: true, value: result.body, latencyMs: performance.now() - startedAt, whole: true };
      },
    );
    return routed.ok ? { ok: true, body: routed.value, route: routed.route } : routed;
  }

  async stream(
    model: ModelConfig,
    body: Record<string, unknown>,
    clientSignal: CancelSignal,
    requestId: string,
    native?: NativeOperation,
    hints?: AffinityHints,
  ): Promise<RoutedStream> {
    const routed = await this.route(model, body, clientSignal, requestId, hints, async (attempt) => {
      const { adapter } = attempt.target.entry;
      const result = native
        ? await adapter.nativeStream!(native.surface, { ...attempt.call, headers: native.headers })
        : await adapter.chatCompletionStream(attempt.call);
      if (!result.ok) return result;
      try {
        const first = await result.events.next();
        if (first.done)
          return {
            ok: false,
            failure: { kind: 'protocol', message: 'upstream stream ended before any event', retryable: true },
          };
        const rest = releasingIterator(result.events, attempt.release);
        // Time to the first event; the stream's full duration is not known here.
        const latencyMs = performance.now() - attempt.startedAt;
        return { ok: true, value: { first: first.value, rest }, latencyMs, whole: false };
      } catch (err) {
        return { ok: false, failure: streamFailure(err, attempt.call.signal) };
      }
    });
    return routed.ok ? { ok: true, ...routed.value, route: routed.route } : routed;
  }

  /**
   * The one walk over a model's routes every call takes: pick the next route, run `attempt` on it
   * under its own signal, and on failure feed the breaker and decide whether the next route is tried.
   */
  private async route<T>(
    model: ModelConfig,
    body: Record<string, unknown>,
    clientSignal: CancelSignal,
    requestId: string,
    hints: AffinityHints | undefined,
    attempt: (attempt: Attempt) => Promise<Attempted<T>>,
  ): Promise<{ ok: true; value: T; route: RouteUsed } | Unrouted> {
    const walk = this.walk(model, body, hints);
    let last: UpstreamFailure | undefined;
    for (let target = this.next(walk); target; target = this.next(walk)) {
      const { entry, health, upstreamModel } = target;
      const startedAt = performance.now();
      const signal = attemptSignal(clientSignal, Math.min(entry.timeoutMs, walk.deadline - startedAt));
      health.outstanding++;
      const release = once(() => {
        signal.release();
        health.outstanding--;
      });
      const call = { body: { ...body, model: upstreamModel }, signal, requestId };
      const outcome = await attempt({ target, call, startedAt, release });
      if (outcome.ok) {
        const seconds = outcome.latencyMs / 1000;
        this.metrics?.upstreamTtfb.observe({ provider: health.provider }, seconds);
        // A whole answer is over; a stream's attempt lasts until the stream ends.
        if (outcome.whole) {
          release();
          this.metrics?.upstreamDuration.observe({ provider: health.provider }, seconds);
        }
        health.succeeded(outcome.latencyMs);
        return { ok: true, value: outcome.value, route: this.served(walk, target) };
      }
      release();
      last = outcome.failure;
      this.metrics?.upstreamFailures.inc({ provider: health.provider, kind: last.kind });
      judge(health, last);
      if (!fallsThrough(model, last) || clientSignal.aborted) break;
    }
    return { ok: false, error: walkError(walk, last), attempts: walk.attempts };
  }

  private walk(model: ModelConfig, body: Record<string, unknown>, hints: AffinityHints | undefined): Walk {
    const routes = this.table.routesOf(model);
    const n = routes.targets.length;
    // Under `ordered` the first healthy route serves every request anyway: no affinity to keep.
    const conversation =
      hints && model.affinity && n > 1 && model.strategy !== 'ordered'
        ? conversationKey(model.id, body, hints)
        : undefined;
    let start = -1;
    if (conversation !== undefined) {
      const kept = this.affinity.get(conversation, Date.now());
      if (kept !== undefined && kept < n && routes.targets[kept]!.health.state === 'closed') start = kept;
    }
    if (start === -1) start = routes.start();
    const retry = model.retry;
    return {
      routes,
      start,
      conversation,
      maxAttempts: retry?.attempts ?? n,
      deadline:
        retry?.deadlineMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + retry.deadlineMs,
      attempts: 0,
      skipped: 0,
    };
  }

  /** The next route to try, or undefined when the walk is over; open circuits are passed over. */
  private next(walk: Walk): RouteTarget | undefined {
    const { targets } = walk.routes;
    const n = targets.length;
    if (walk.attempts >= walk.maxAttempts) return undefined;
    // Without a retry deadline (the usual case) no clock is read.
    if (walk.deadline !== Number.POSITIVE_INFINITY && performance.now() >= walk.deadline) return undefined;
    // `attempts + skipped routes` routes have been looked at; the walk visits each at most once.
    while (walk.attempts + walk.skipped < n) {
      const target = targets[(walk.start + walk.attempts + walk.skipped) % n]!;
      // A closed circuit (every route without a breaker) admits without reading the clock.
      if (target.health.state === 'closed' || target.health.admit(Date.now())) {
        walk.attempts++;
        return target;
      }
      walk.skipped++;
    }
    return undefined;
  }

  private served(walk: Walk, target: RouteTarget): RouteUsed {
    if (walk.conversation !== undefined)
      this.affinity.set(walk.conversation, walk.routes.targets.indexOf(target), Date.now());
    return { provider: target.health.provider, upstreamModel: target.upstreamModel, attempts: walk.attempts };
  }
}

const breakerValue = { closed: 0, 'half-open': 1, open: 2 } as const;

const breakerLabels = (h: RouteHealth) => ({ provider: h.provider, upstream_model: h.upstreamModel });

/** Feeds an attempt's failure to the route's health: only failures that say the route is unwell count. */
function judge(health: RouteHealth, failure: UpstreamFailure): void {
  const clientSide =
    failure.kind === 'aborted' ||
    (failure.kind === 'status' &&
      failure.status !== undefined &&
      failure.status < 500 &&
      failure.status !== 429 &&
      failure.status !== 408);
  if (clientSide) health.released();
  else health.failed(Date.now());
}

/** Whether a failure lets the next route be tried: the model's statuses if it lists them, else the adapter's say. */
function fallsThrough(model: ModelConfig, failure: UpstreamFailure): boolean {
  const statuses = model.retry?.statuses;
  if (failure.kind === 'status' && statuses && failure.status !== undefined)
    return statuses.includes(failure.status);
  return failure.retryable;
}

function walkError(walk: Walk, last: UpstreamFailure | undefined): ApiError {
  if (!last && walk.skipped > 0)
    return new ApiError('upstream_unavailable', 'The model server is unavailable. Please retry shortly.');
  return failureToError(last);
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

const isTimeout = (e: unknown) => (e as { name?: unknown } | undefined)?.name === 'TimeoutError';

function streamFailure(err: unknown, signal: CancelSignal): UpstreamFailure {
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
