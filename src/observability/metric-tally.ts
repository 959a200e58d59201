import {
  Counter,
  type CounterConfiguration,
  type Metric,
  type MetricObjectWithValues,
  type MetricValueWithName,
  type Registry,
} from 'prom-client';

/**
 * Metrics of the request path, kept as plain numbers per label set and handed to prom-client when it
 * collects (a scrape, or `get()`). A request pays one map lookup per metric, not prom-client's label
 * validation and hashing; the registry still serialises, aggregates workers and resets them.
 */

type Labels<L extends string> = Record<L, string>;

/** The key of a label set: its values in the metric's label order. */
function keyOf<L extends string>(names: readonly L[], labels: Labels<L>): string {
  let key = '';
  for (const name of names) key += `${labels[name]}\u0001`;
  return key;
}

/** A prom-client Counter fed from a tally: increments are added to it when it collects. */
export class CounterTally<L extends string> {
  readonly counter: Counter<L>;
  private readonly names: readonly L[];
  private readonly series = new Map<string, { labels: Labels<L>; pending: number }>();

  constructor(config: CounterConfiguration<L> & { labelNames: readonly L[] }) {
    this.names = config.labelNames;
    const flush = () => this.flush();
    this.counter = new Counter<L>({ ...config, collect: flush });
  }

  inc(labels: Labels<L>, by = 1): void {
    const key = keyOf(this.names, labels);
    const found = this.series.get(key);
    if (found) found.pending += by;
    else this.series.set(key, { labels, pending: by });
  }

  /** The counter as prom-client reports it (collected first). */
  get(): Promise<MetricObjectWithValues<MetricValueWithName<L>>> {
    return this.counter.get() as Promise<MetricObjectWithValues<MetricValueWithName<L>>>;
  }

  private flush(): void {
    for (const s of this.series.values())
      if (s.pending !== 0) {
        this.counter.inc(s.labels, s.pending);
        s.pending = 0;
      }
  }
}

interface HistogramSeries<L extends string> {
  labels: Labels<L>;
  /** Observations per bucket (not cumulative); the last one is above every bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

export interface HistogramTallyConfig<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  buckets: readonly number[];
  registers: Registry[];
}

/**
 * A histogram kept as bucket counts per label set and registered with prom-client as a collector:
 * prom-client's Histogram has no way to add counts but one `observe` (validated, hashed) at a time.
 * `get()` answers exactly what a prom-client Histogram answers, so the text and worker aggregation
 * are the same.
 */
export class HistogramTally<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly names: readonly L[];
  private readonly bounds: readonly number[];
  private series = new Map<string, HistogramSeries<L>>();

  constructor(config: HistogramTallyConfig<L>) {
    this.name = config.name;
    this.help = config.help;
    this.names = config.labelNames;
    this.bounds = [...config.buckets].sort((a, b) => a - b);
    // A collector, not one of prom-client's classes: the registry only calls `get()` (and `reset()`).
    for (const registry of config.registers) registry.registerMetric(this as unknown as Metric);
  }

  observe(labels: Labels<L>, value: number): void {
    if (!Number.isFinite(value)) return;
    const key = keyOf(this.names, labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  reset(): void {
    this.series = new Map();
  }

  async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const values: MetricValueWithName<string>[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.counts[i]!;
        values.push({ labels: { le: this.bounds[i]!, ...s.labels }, value: cumulative, metricName: bucket });
      }
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: bucket });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    // Plain data, as prom-client's own `get()` answers: serving workers send it to their primary.
    const metric = { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
    return metric as unknown as MetricObjectWithValues<MetricValueWithName<string>>;
  }
}
