import type { ModelConfig, RouteConfig } from '../../config/schema.js';
import type { ProviderEntry } from '../../providers/registry.js';
import { RouteHealth, type TransitionListener } from './route-health.js';

/** One route of one model, with what the router needs at hand. */
export interface RouteTarget {
  route: RouteConfig;
  entry: ProviderEntry;
  upstreamModel: string;
  health: RouteHealth;
}

/** Under `least-latency` a route not chosen for this long gets the next request, so a recovery is seen. */
const REMEASURE_AFTER_MS = 1_000;

/**
 * A model's routes and the state its strategy keeps. `start` picks the route tried first; the others
 * follow in list order after it (wrapping), so choosing costs no allocation.
 */
export class ModelRoutes {
  readonly targets: RouteTarget[];
  /** Smooth weighted round-robin (as nginx does it): exact shares, evenly interleaved. */
  private readonly current: number[];
  private readonly totalWeight: number;
  private turn = 0;

  constructor(
    readonly model: ModelConfig,
    targets: RouteTarget[],
  ) {
    this.targets = targets;
    this.current = targets.map(() => 0);
    this.totalWeight = targets.reduce((sum, t) => sum + t.route.weight, 0);
  }

  /** Index of the route to try first under the model's strategy. */
  start(): number {
    if (this.targets.length === 1) return 0;
    switch (this.model.strategy) {
      case 'ordered':
        return 0;
      case 'weighted':
        return this.nextWeighted();
      case 'least-outstanding':
        return this.lowest((t) => t.health.outstanding);
      case 'least-latency':
        return this.fastest();
    }
  }

  /**
   * The closed route with the lowest latency, weighed by its requests in flight; one not chosen for
   * a while (or never measured) goes first, so it is measured again.
   */
  private fastest(): number {
    const now = performance.now();
    for (let i = 0; i < this.targets.length; i++) {
      const h = this.targets[i]!.health;
      if (h.state === 'closed' && now - h.lastChosenAt > REMEASURE_AFTER_MS) {
        h.lastChosenAt = now;
        return i;
      }
    }
    const best = this.lowest((t) => t.health.latencyMs * (t.health.outstanding + 1));
    this.targets[best]!.health.lastChosenAt = now;
    return best;
  }

  private nextWeighted(): number {
    if (this.totalWeight === 0) return 0;
    let best = 0;
    for (let i = 0; i < this.targets.length; i++) {
      this.current[i]! += this.targets[i]!.route.weight;
      if (this.current[i]! > this.current[best]!) best = i;
    }
    this.current[best]! -= this.totalWeight;
    return best;
  }

  /** The closed route with the lowest score; ties go round-robin so idle routes share the load. */
  private lowest(score: (t: RouteTarget) => number): number {
    const n = this.targets.length;
    const offset = this.turn++ % n;
    let best = -1;
    let bestScore = Number.POSITIVE_INFINITY;
    for (let k = 0; k < n; k++) {
      const i = (offset + k) % n;
      const t = this.targets[i]!;
      if (t.health.state !== 'closed') continue;
      const s = score(t);
      if (s < bestScore) {
        best = i;
        bestScore = s;
      }
    }
    return best === -1 ? 0 : best;
  }
}

/**
 * Every route's health on this replica, keyed `provider/upstream-model` (two public models served by
 * the same upstream model share it), and each model's routes, built on first use.
 */
export class RouteTable {
  private readonly byModel = new WeakMap<ModelConfig, ModelRoutes>();
  private readonly health = new Map<string, RouteHealth>();

  constructor(
    private readonly providers: Map<string, ProviderEntry>,
    private readonly onTransition?: TransitionListener,
  ) {}

  routesOf(model: ModelConfig): ModelRoutes {
    let routes = this.byModel.get(model);
    if (!routes) {
      routes = new ModelRoutes(
        model,
        model.routes.map((route) => {
          const upstreamModel = route.model ?? model.id;
          return {
            route,
            entry: this.providers.get(route.provider)!,
            upstreamModel,
            health: this.healthOf(route.provider, upstreamModel),
          };
        }),
      );
      this.byModel.set(model, routes);
    }
    return routes;
  }

  healthOf(provider: string, upstreamModel: string): RouteHealth {
    const key = `${provider}/${upstreamModel}`;
    let health = this.health.get(key);
    if (!health) {
      health = new RouteHealth(
        key,
        provider,
        upstreamModel,
        this.providers.get(provider)?.breaker,
        this.onTransition,
      );
      this.health.set(key, health);
    }
    return health;
  }

  /** Looks a route up by key without creating it (state from other replicas). */
  find(key: string): RouteHealth | undefined {
    return this.health.get(key);
  }

  /** Every route known so far. */
  all(): RouteHealth[] {
    return [...this.health.values()];
  }

  /** Registers every route of every model up front, so status and metrics list them before traffic. */
  register(models: ModelConfig[]): void {
    for (const m of models) this.routesOf(m);
  }
}
