import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { CounterTally, HistogramTally } from './metric-tally.js';

/**
 * The Prometheus metrics of one process. Each container owns its registry, so several apps in one
 * test process never collide; `/metrics` serialises it.
 */
export interface Metrics {
  registry: Registry;
  /**
   * What `/metrics` serves, in the Prometheus text format: this registry, or with serving workers
   * (`--workers`), every worker's registry aggregated by the primary.
   */
  text(): Promise<string>;
  // Per request: tallies, handed to prom-client at scrape time.
  httpRequests: CounterTally<'route' | 'method' | 'status'>;
  httpDuration: HistogramTally<'route' | 'method'>;
  gatewayRequests: CounterTally<'model' | 'status' | 'streamed'>;
  upstreamDuration: HistogramTally<'provider'>;
  upstreamTtfb: HistogramTally<'provider'>;
  upstreamFailures: Counter<'provider' | 'kind'>;
  /** 0 closed, 1 half-open, 2 open; routes whose provider has a breaker. */
  routeBreakerState: Gauge<'provider' | 'upstream_model'>;
  limiterDecisions: CounterTally<'backend' | 'decision'>;
  rateLimitDegraded: Gauge;
  creditsDebitedMicros: CounterTally<'model'>;
  usageJournalDegraded: Gauge;
  usageRecordsRecovered: Counter<'source'>;
  webhookDeliveries: Counter<'outcome'>;
  dbPoolConnections: Gauge<'state'>;
  responseCacheLookups: Counter<'model' | 'outcome'>;
  responseCacheStores: Counter<'outcome'>;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  // Process, heap, GC and event-loop lag metrics.
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'simosphere_' });
  const registers = [registry];
  const responseCacheLookups = new Counter({
    name: 'simosphere_response_cache_lookups_total',
    help: 'Response-cache lookups by public model and outcome (hit, miss)',
    labelNames: ['model', 'outcome'],
    registers,
  });
  new Gauge({
    name: 'simosphere_response_cache_hit_ratio',
    help: 'Response-cache hits over lookups since start (0 before the first lookup)',
    registers,
    // Serving workers' ratios are averaged; the lookup counters sum exactly.
    aggregator: 'average',
    async collect() {
      let hits = 0;
      let total = 0;
      for (const v of (await responseCacheLookups.get()).values) {
        total += v.value;
        if (v.labels.outcome === 'hit') hits += v.value;
      }
      this.set(total === 0 ? 0 : hits / total);
    },
  });
  return {
    registry,
    text: () => registry.metrics(),
    httpRequests: new CounterTally({
      name: 'simosphere_http_requests_total',
      help: 'HTTP requests by route pattern, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
    httpDuration: new HistogramTally({
      name: 'simosphere_http_request_duration_seconds',
      help: 'Time from request to response end (streams: until the last byte)',
      labelNames: ['route', 'method'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    gatewayRequests: new CounterTally({
      name: 'simosphere_gateway_requests_total',
      help: 'Metered data-plane requests by public model and status',
      labelNames: ['model', 'status', 'streamed'],
      registers,
    }),
    upstreamDuration: new HistogramTally({
      name: 'simosphere_upstream_duration_seconds',
      help: 'Upstream request duration per provider',
      labelNames: ['provider'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    upstreamTtfb: new HistogramTally({
      name: 'simosphere_upstream_time_to_first_byte_seconds',
      help: 'Time to the first upstream byte (streams: first event) per provider',
      labelNames: ['provider'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    upstreamFailures: new Counter({
      name: 'simosphere_upstream_failures_total',
      help: 'Upstream route failures by provider and kind (connect, timeout, status, protocol)',
      labelNames: ['provider', 'kind'],
      registers,
    }),
    routeBreakerState: new Gauge({
      name: 'simosphere_route_breaker_state',
      help: 'Circuit breaker of each route on this replica: 0 closed, 1 half-open (probing), 2 open',
      labelNames: ['provider', 'upstream_model'],
      registers,
    }),
    limiterDecisions: new CounterTally({
      name: 'simosphere_ratelimit_decisions_total',
      help: 'Rate-limiter decisions by backend and outcome',
      labelNames: ['backend', 'decision'],
      registers,
    }),
    rateLimitDegraded: new Gauge({
      name: 'simosphere_ratelimit_degraded',
      help: '1 while the shared (Redis) limiter is unreachable and a per-process fallback is used',
      registers,
    }),
    creditsDebitedMicros: new CounterTally({
      name: 'simosphere_credits_debited_micros_total',
      help: 'Credits debited for usage, in micro-dollars',
      labelNames: ['model'],
      registers,
    }),
    usageJournalDegraded: new Gauge({
      name: 'simosphere_usage_journal_degraded',
      help: '1 while Redis is unreachable and settled usage is kept in the local write-ahead log only',
      registers,
    }),
    usageRecordsRecovered: new Counter({
      name: 'simosphere_usage_records_recovered_total',
      help: 'Usage records replayed after a process died before committing them (local log or Redis)',
      labelNames: ['source'],
      registers,
    }),
    webhookDeliveries: new Counter({
      name: 'simosphere_webhook_delivery_attempts_total',
      help: 'Webhook delivery attempts by outcome (success, failure, gave_up)',
      labelNames: ['outcome'],
      registers,
    }),
    responseCacheLookups,
    responseCacheStores: new Counter({
      name: 'simosphere_response_cache_stores_total',
      help: 'Answers offered to the response cache by outcome (stored, too_large, failed)',
      labelNames: ['outcome'],
      registers,
    }),
    dbPoolConnections: new Gauge({
      name: 'simosphere_db_pool_connections',
      help: 'PostgreSQL pool connections by state (total, idle, waiting)',
      labelNames: ['state'],
      registers,
    }),
  };
}
