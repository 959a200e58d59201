import type { Redis } from 'ioredis';
import { randomBase62 } from '../shared/ids.js';
import type { MemoryWindowStore } from './memory-window-store.js';
import { ADD_TOKENS_SCRIPT, ADMIT_SCRIPT, HIT_SCRIPT } from './redis-scripts.js';
import type { AdmitRequest, AdmitResult, LogState, WindowStore } from './types.js';

type Reply = Array<number | string>;

/** The scripts registered with `defineCommand` (EVALSHA, falling back to EVAL after a Redis restart). */
interface LimiterCommands {
  simoAdmit(
    k1: string,
    k2: string,
    k3: string,
    limit: number,
    windowMs: number,
    member: string,
    tokenLimit: number,
  ): Promise<Reply>;
  simoHit(k1: string, limit: number, windowMs: number, member: string): Promise<Reply>;
  simoAddTokens(
    k1: string,
    k2: string,
    limit: number,
    windowMs: number,
    member: string,
    tokens: number,
  ): Promise<Reply>;
}

export interface RedisWindowStoreOptions {
  client: Redis;
  /** Counts while Redis is unreachable; per process, so N replicas then admit up to N × the limit. */
  fallback: MemoryWindowStore;
  /** Prepended to every key, so deployments (and tests) can share one Redis. */
  keyPrefix: string;
  windowMs?: number;
  /** Called on every transition between healthy and degraded (never twice in a row for one state). */
  onHealthChange?: (degraded: boolean, err?: unknown) => void;
}

/**
 * Sliding-window logs in Redis: one Lua script per decision, so replicas sharing the Redis admit
 * exactly the limit together. When Redis fails or is unreachable the request is decided by the
 * per-process fallback instead of failing, and the store reports itself degraded until Redis answers again.
 */
export class RedisWindowStore implements WindowStore {
  readonly backend = 'redis';
  private readonly client: Redis & LimiterCommands;
  private readonly fallback: MemoryWindowStore;
  private readonly prefix: string;
  private readonly windowMs: number;
  private readonly onHealthChange: (degraded: boolean, err?: unknown) => void;
  // Members must be unique across replicas: a random instance id plus a counter.
  private readonly instance = randomBase62(10);
  private seq = 0;
  private degraded = false;
  private readonly onReady = () => this.setDegraded(false);
  private readonly onClose = () => this.setDegraded(true, new Error('connection to Redis lost'));

  constructor(opts: RedisWindowStoreOptions) {
    const client = opts.client as Redis & Partial<LimiterCommands>;
    if (!client.simoAdmit) {
      client.defineCommand('simoAdmit', { numberOfKeys: 3, lua: ADMIT_SCRIPT });
      client.defineCommand('simoHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
      client.defineCommand('simoAddTokens', { numberOfKeys: 2, lua: ADD_TOKENS_SCRIPT });
    }
    this.client = client as Redis & LimiterCommands;
    this.fallback = opts.fallback;
    this.prefix = `${opts.keyPrefix}rl:`;
    this.windowMs = opts.windowMs ?? 60_000;
    this.onHealthChange = opts.onHealthChange ?? (() => {});
    this.client.on('ready', this.onReady);
    this.client.on('close', this.onClose);
    if (this.client.status !== 'ready') this.setDegraded(true, new Error(`Redis is ${this.client.status}`));
  }

  async admit(req: AdmitRequest): Promise<AdmitResult> {
    if (!this.usable()) return this.fallback.admitNow(req);
    const key = this.key(req.key);
    const tokens = req.tokens;
    const tokenKey = tokens ? this.key(tokens.key) : `${key}:none`;
    try {
      const r = await this.client.simoAdmit(
        key,
        tokenKey,
        `${tokenKey}:sum`,
        req.limit,
        this.windowMs,
        this.member(),
        tokens?.limit ?? 0,
      );
      this.setDegraded(false);
      const result: AdmitResult = {
        allowed: Number(r[0]) === 1,
        requests: { total: Number(r[2]), freeInMs: Number(r[3]) },
      };
      if (r[1] === 'requests' || r[1] === 'tokens') result.refusedBy = r[1];
      if (tokens) result.tokens = { total: Number(r[4]), freeInMs: Number(r[5]) };
      return result;
    } catch (err) {
      this.setDegraded(true, err);
      return this.fallback.admitNow(req);
    }
  }

  async hit(key: string, limit: number): Promise<LogState> {
    if (!this.usable()) return this.fallback.addNow(key, 1, limit);
    try {
      const r = await this.client.simoHit(this.key(key), limit, this.windowMs, this.member());
      this.setDegraded(false);
      return { total: Number(r[0]), freeInMs: Number(r[1]) };
    } catch (err) {
      this.setDegraded(true, err);
      return this.fallback.addNow(key, 1, limit);
    }
  }

  async addTokens(key: string, tokens: number, limit: number): Promise<LogState> {
    if (!this.usable()) return this.fallback.addNow(key, tokens, limit);
    const k = this.key(key);
    try {
      const r = await this.client.simoAddTokens(
        k,
        `${k}:sum`,
        limit,
        this.windowMs,
        `${this.member()}:${tokens}`,
        tokens,
      );
      this.setDegraded(false);
      return { total: Number(r[0]), freeInMs: Number(r[1]) };
    } catch (err) {
      this.setDegraded(true, err);
      return this.fallback.addNow(key, tokens, limit);
    }
  }

  status(): 'ok' | 'degraded' {
    return this.degraded ? 'degraded' : 'ok';
  }

  /** Detaches from the client; the client itself belongs to whoever created it. */
  async close(): Promise<void> {
    this.client.off('ready', this.onReady);
    this.client.off('close', this.onClose);
    await this.fallback.close();
  }

  // A client that is not connected would fail the command anyway; skipping it saves the attempt.
  private usable(): boolean {
    if (this.client.status === 'ready') return true;
    this.setDegraded(true, new Error(`Redis is ${this.client.status}`));
    return false;
  }

  private key(name: string): string {
    return this.prefix + name;
  }

  private member(): string {
    this.seq = (this.seq + 1) % Number.MAX_SAFE_INTEGER;
    return `${this.instance}:${this.seq}`;
  }

  private setDegraded(degraded: boolean, err?: unknown): void {
    if (this.degraded === degraded) return;
    this.degraded = degraded;
    this.onHealthChange(degraded, err);
  }
}
