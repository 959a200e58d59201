/** A route's circuit: `closed` serves, `open` is skipped, `half-open` lets one probe request through. */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerConfig {
  /** Failures in a row that open the circuit. */
  failures: number;
  /** How long an open circuit skips the route before a probe. */
  cooldownMs: number;
}

/** Told whenever a route's circuit changes state on this replica (metrics, other replicas). */
export type TransitionListener = (health: RouteHealth, state: BreakerState, openUntil: number) => void;

/** Weight of the newest sample in the moving averages. */
const EWMA_ALPHA = 0.2;
/** Latency falls back this fast towards lower samples (it rises to a higher one at once). */
const LATENCY_DECAY = 0.5;

/**
 * What this replica knows of one route (a provider and its upstream model): requests in flight, the
 * moving average of its time to first byte, error rate, and its circuit breaker. Plain fields and
 * arithmetic only: it is read and updated on every request.
 */
export class RouteHealth {
  /** Requests sent to the route and not finished yet. */
  outstanding = 0;
  /**
   * Time to the first byte (whole answers: their duration), ms, as a peak-sensitive moving average: a
   * slower sample counts at once, faster ones pull it down gradually. 0 before any.
   */
  latencyMs = 0;
  /**
   * `performance.now()` when a strategy last chose this route first; never, at first (not 0: in a
   * process younger than the re-measure interval, 0 would read as chosen just now).
   */
  lastChosenAt = Number.NEGATIVE_INFINITY;
  /** Moving average of failures per attempt (0–1). */
  errorRate = 0;
  attempts = 0;
  failures = 0;
  state: BreakerState = 'closed';
  /** While open: when the next probe may go (epoch ms). */
  openUntil = 0;
  private failuresInRow = 0;
  private probing = false;

  constructor(
    /** `provider/upstream-model`. */
    readonly key: string,
    readonly provider: string,
    readonly upstreamModel: string,
    readonly breaker: BreakerConfig | undefined,
    private readonly onTransition: TransitionListener | undefined,
  ) {}

  /**
   * Whether a request may use the route now. An open circuit whose cooldown has passed turns half-open
   * and this request becomes its one probe; others skip the route until the probe has an outcome.
   */
  admit(now: number): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (now < this.openUntil) return false;
      this.transition('half-open', 0);
    }
    if (this.probing) return false;
    this.probing = true;
    return true;
  }

  /** The route answered (first byte, or the whole answer) after `latencyMs`. */
  succeeded(latencyMs: number): void {
    this.attempts++;
    this.latencyMs =
      latencyMs >= this.latencyMs ? latencyMs : this.latencyMs + LATENCY_DECAY * (latencyMs - this.latencyMs);
    if (this.errorRate !== 0) this.errorRate -= EWMA_ALPHA * this.errorRate;
    this.failuresInRow = 0;
    this.probing = false;
    if (this.state !== 'closed') this.transition('closed', 0);
  }

  /** The route failed in a way that says it is unhealthy (connect error, timeout, 5xx, 429). */
  failed(now: number): void {
    this.attempts++;
    this.failures++;
    this.errorRate += EWMA_ALPHA * (1 - this.errorRate);
    this.failuresInRow++;
    const wasProbe = this.probing;
    this.probing = false;
    if (!this.breaker) return;
    if (wasProbe || (this.state === 'closed' && this.failuresInRow >= this.breaker.failures))
      this.transition('open', now + this.breaker.cooldownMs);
  }

  /** The attempt ended without saying anything about the route's health (the client left, a 400). */
  released(): void {
    this.probing = false;
  }

  /** An active health check's outcome: a pass closes an open circuit, a miss counts as a failure. */
  checked(ok: boolean, now: number): void {
    if (!ok) {
      this.failuresInRow++;
      if (this.breaker && this.state === 'closed' && this.failuresInRow >= this.breaker.failures)
        this.transition('open', now + this.breaker.cooldownMs);
      return;
    }
    if (this.state === 'closed') return;
    this.failuresInRow = 0;
    this.probing = false;
    this.transition('closed', 0);
  }

  /** Adopts a state another replica (or a health check) decided, without telling anyone back. */
  adopt(state: BreakerState, openUntil: number): void {
    if (!this.breaker || (state === this.state && openUntil === this.openUntil)) return;
    this.state = state;
    this.openUntil = openUntil;
    this.probing = false;
    if (state === 'closed') this.failuresInRow = 0;
  }

  private transition(state: BreakerState, openUntil: number): void {
    this.state = state;
    this.openUntil = openUntil;
    this.onTransition?.(this, state, openUntil);
  }
}
