import type { PlanConfig } from '../config/schema.js';
import { MemoryWindowStore } from './memory-window-store.js';
import { SlidingWindowLimiter } from './sliding-window-limiter.js';

export interface InProcessLimiterOptions {
  windowMs?: number;
  authFailureLimit?: number;
  now?: () => number;
}

/** The default limiter: sliding-window logs kept in this process, exact for one replica. */
export class InProcessLimiter extends SlidingWindowLimiter {
  constructor(plans: Record<string, PlanConfig>, opts: InProcessLimiterOptions = {}) {
    const store = new MemoryWindowStore({
      ...(opts.windowMs ? { windowMs: opts.windowMs } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    });
    super({ plans, store, ...opts });
  }
}
