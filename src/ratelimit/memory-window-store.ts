import { SlidingLog } from './sliding-log.js';
import type { AdmitRequest, AdmitResult, LogState, WindowStore } from './types.js';

export interface MemoryWindowStoreOptions {
  /** Window length; 60 s for per-minute limits (tests shorten it). */
  windowMs?: number;
  /** Clock in milliseconds (tests inject one). */
  now?: () => number;
}

/**
 * Sliding-window logs in this process. Every operation runs synchronously between two awaits,
 * so check-and-count is atomic without locks: exact for one replica.
 */
export class MemoryWindowStore implements WindowStore {
  readonly backend = 'memory';
  private readonly logs = new Map<string, SlidingLog>();
  private readonly windowMs: number;
  private readonly now: () => number;
  private lastSweep: number;

  constructor(opts: MemoryWindowStoreOptions = {}) {
    this.windowMs = opts.windowMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    this.lastSweep = this.now();
  }

  async admit(req: AdmitRequest): Promise<AdmitResult> {
    return this.admitNow(req);
  }

  /** The synchronous core of `admit`, also used as the Redis store's fallback. */
  admitNow(req: AdmitRequest): AdmitResult {
    const now = this.now();
    this.sweep(now);
    const requests = this.log(req.key, now);
    let tokens: SlidingLog | undefined;
    let refusedBy: AdmitResult['refusedBy'];
    if (req.tokens) {
      tokens = this.log(req.tokens.key, now);
      if (tokens.total >= req.tokens.limit) refusedBy = 'tokens';
    }
    if (!refusedBy && requests.size >= req.limit) refusedBy = 'requests';
    if (!refusedBy) requests.add(now, 1);
    const result: AdmitResult = {
      allowed: !refusedBy,
      requests: requests.state(now, this.windowMs, req.limit),
    };
    if (refusedBy) result.refusedBy = refusedBy;
    if (tokens && req.tokens) result.tokens = tokens.state(now, this.windowMs, req.tokens.limit);
    return result;
  }

  async hit(key: string, limit: number): Promise<LogState> {
    return this.addNow(key, 1, limit);
  }

  async addTokens(key: string, tokens: number, limit: number): Promise<LogState> {
    return this.addNow(key, tokens, limit);
  }

  addNow(key: string, weight: number, limit: number): LogState {
    const now = this.now();
    this.sweep(now);
    const log = this.log(key, now);
    log.add(now, weight);
    return log.state(now, this.windowMs, limit);
  }

  status(): 'ok' {
    return 'ok';
  }

  async close(): Promise<void> {
    this.logs.clear();
  }

  private log(key: string, now: number): SlidingLog {
    let log = this.logs.get(key);
    if (!log) {
      log = new SlidingLog();
      this.logs.set(key, log);
    }
    log.expire(now, this.windowMs);
    return log;
  }

  /** Forgets idle keys (tenants and addresses with nothing in the window) once per window. */
  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    for (const [key, log] of this.logs) {
      const newest = log.newest;
      if (newest === undefined || newest <= now - this.windowMs) this.logs.delete(key);
    }
  }
}
