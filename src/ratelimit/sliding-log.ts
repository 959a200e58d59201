import type { LogState } from './types.js';

// Compact the backing arrays once this many expired slots sit at the front.
const COMPACT_AT = 1024;

/**
 * The timestamps (and weights) of events within a sliding window, oldest first. A queue over
 * plain arrays with a moving head, so expiring is O(expired) and appending O(1).
 */
export class SlidingLog {
  private times: number[] = [];
  private weights: number[] = [];
  private head = 0;
  /** Sum of the live weights. */
  total = 0;

  /** Drops entries at or before `now - windowMs`. */
  expire(now: number, windowMs: number): void {
    const cutoff = now - windowMs;
    while (this.head < this.times.length && this.times[this.head]! <= cutoff) {
      this.total -= this.weights[this.head]!;
      this.head++;
    }
    if (this.head === this.times.length) {
      this.times = [];
      this.weights = [];
      this.head = 0;
      this.total = 0;
    } else if (this.head >= COMPACT_AT && this.head * 2 >= this.times.length) {
      this.times = this.times.slice(this.head);
      this.weights = this.weights.slice(this.head);
      this.head = 0;
    }
  }

  add(now: number, weight: number): void {
    this.times.push(now);
    this.weights.push(weight);
    this.total += weight;
  }

  get size(): number {
    return this.times.length - this.head;
  }

  /** The newest entry's time, or undefined when empty. */
  get newest(): number | undefined {
    return this.size > 0 ? this.times[this.times.length - 1] : undefined;
  }

  /** See `LogState.freeInMs`. */
  state(now: number, windowMs: number, limit: number): LogState {
    if (this.size === 0) return { total: 0, freeInMs: 0 };
    let i = this.head;
    if (this.total >= limit) {
      // Walk until enough weight has left the window for the total to drop below the limit.
      let remaining = this.total;
      while (i < this.times.length - 1 && remaining - this.weights[i]! >= limit) {
        remaining -= this.weights[i]!;
        i++;
      }
    }
    return { total: this.total, freeInMs: Math.max(0, Math.ceil(this.times[i]! + windowMs - now)) };
  }
}
