/**
 * Small in-memory counters for the audit rules. They live per replica and cost a map lookup per
 * call; each keeps at most `maxKeys` subjects so a flood of distinct keys cannot grow memory.
 */

/** Counts events per subject within a sliding time window (timestamps kept per subject). */
export class SlidingCounter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** Records one event and returns how many fell in the window, this one included. */
  add(subject: string, now: number): number {
    let list = this.hits.get(subject);
    if (!list) {
      if (this.hits.size >= this.maxKeys) this.prune(now);
      list = [];
      this.hits.set(subject, list);
    }
    const from = now - this.windowMs;
    let drop = 0;
    while (drop < list.length && list[drop]! <= from) drop++;
    if (drop > 0) list.splice(0, drop);
    list.push(now);
    return list.length;
  }

  reset(subject: string): void {
    this.hits.delete(subject);
  }

  private prune(now: number): void {
    const from = now - this.windowMs;
    for (const [k, list] of this.hits) if ((list.at(-1) ?? 0) <= from) this.hits.delete(k);
    // Still full of live subjects: forget the oldest-inserted ones.
    for (const k of this.hits.keys()) {
      if (this.hits.size < this.maxKeys) break;
      this.hits.delete(k);
    }
  }
}

/** Distinct values (e.g. client IPs) seen per subject within a sliding window. */
export class DistinctCounter {
  private readonly seen = new Map<string, Map<string, number>>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
    private readonly maxValues = 1_000,
  ) {}

  /** Records a value and returns the number of distinct values in the window. */
  add(subject: string, value: string, now: number): number {
    let values = this.seen.get(subject);
    if (!values) {
      if (this.seen.size >= this.maxKeys) {
        const oldest = this.seen.keys().next().value;
        if (oldest !== undefined) this.seen.delete(oldest);
      }
      values = new Map();
      this.seen.set(subject, values);
    }
    values.delete(value);
    values.set(value, now);
    // Insertion order is last-seen order, so expired values sit at the front.
    const from = now - this.windowMs;
    for (const [v, at] of values) {
      if (at > from && values.size <= this.maxValues) break;
      values.delete(v);
    }
    return values.size;
  }

  reset(subject: string): void {
    this.seen.delete(subject);
  }
}

/** Requests per fixed window per subject, with the recent history that makes up the usual rate. */
export class RateHistory {
  private readonly subjects = new Map<string, RateSubject>();

  constructor(
    private readonly windowMs: number,
    private readonly baselineWindows: number,
    private readonly maxKeys = 10_000,
  ) {}

  /**
   * Records a request; returns the count of the current window, the mean per earlier window (over up
   * to `baselineWindows`, or as many as this replica has seen) and how many earlier windows that is.
   * The baseline is computed once per subject and window, so most calls are a map lookup and an add.
   */
  add(subject: string, now: number): { current: number; baseline: number; history: number } {
    const window = Math.floor(now / this.windowMs);
    let s = this.subjects.get(subject);
    if (!s) {
      if (this.subjects.size >= this.maxKeys) {
        const oldest = this.subjects.keys().next().value;
        if (oldest !== undefined) this.subjects.delete(oldest);
      }
      s = { firstWindow: window, window, current: 0, baseline: 0, history: 0, counts: new Map() };
      this.subjects.set(subject, s);
    }
    if (window !== s.window) {
      s.counts.set(s.window, s.current);
      s.window = window;
      s.current = 0;
      const oldestKept = window - this.baselineWindows;
      let total = 0;
      for (const [w, n] of s.counts) {
        if (w < oldestKept) s.counts.delete(w);
        else if (w < window) total += n;
      }
      s.history = Math.min(this.baselineWindows, window - s.firstWindow);
      s.baseline = s.history > 0 ? total / s.history : 0;
    }
    s.current++;
    return { current: s.current, baseline: s.baseline, history: s.history };
  }
}

interface RateSubject {
  firstWindow: number;
  /** The window `current` counts; earlier windows' counts are in `counts`. */
  window: number;
  current: number;
  baseline: number;
  history: number;
  counts: Map<number, number>;
}
