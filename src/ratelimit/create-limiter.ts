import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/load.js';
import type { Metrics } from '../observability/metrics.js';
import { MemoryWindowStore } from './memory-window-store.js';
import { NoopLimiter } from './noop-limiter.js';
import { RedisWindowStore } from './redis-window-store.js';
import { SlidingWindowLimiter } from './sliding-window-limiter.js';
import type { RequestLimiter, WindowStore } from './types.js';

export interface CreateLimiterOptions {
  config: ResolvedConfig;
  logger: Logger;
  metrics?: Pick<Metrics, 'rateLimitDegraded' | 'limiterDecisions'>;
  /** The shared Redis command client, when `SIMO_REDIS_URL` is set. */
  redis?: Redis;
  /** Window length; 60 s (tests shorten it). */
  windowMs?: number;
  /** Logs shared with other processes of this machine (serving workers), used instead of this process's own. */
  sharedStore?: WindowStore;
}

/**
 * Picks the limiter the config asks for: none (`limits.rateLimiting: false`), Redis when a client is
 * given, else in process. A degraded Redis is logged once per transition and shown as a metric.
 */
export function createLimiter(opts: CreateLimiterOptions): RequestLimiter {
  const { config, logger } = opts;
  if (!config.limits.rateLimiting) return new NoopLimiter(config.plans);
  const windowMs = opts.windowMs ?? 60_000;
  const memory = new MemoryWindowStore({ windowMs });
  let store: WindowStore = opts.sharedStore ?? memory;
  if (opts.redis) {
    const gauge = opts.metrics?.rateLimitDegraded;
    store = new RedisWindowStore({
      client: opts.redis,
      fallback: memory,
      keyPrefix: config.redis.keyPrefix,
      windowMs,
      onHealthChange: (degraded, err) => {
        gauge?.set(degraded ? 1 : 0);
        if (degraded)
          logger.warn(
            { err: err instanceof Error ? err.message : String(err) },
            'rate limiter degraded: Redis unreachable, counting per process until it answers again',
          );
        else logger.warn('rate limiter recovered: Redis answers again, limits are shared across replicas');
      },
    });
  }
  return new SlidingWindowLimiter({
    plans: config.plans,
    store,
    windowMs,
    authFailureLimit: config.limits.authFailuresPerMinute,
    signupLimit: config.limits.signupsPerMinute,
    ...(opts.metrics
      ? {
          onDecision: (backend: 'memory' | 'redis', decision: string) =>
            opts.metrics?.limiterDecisions.inc({ backend, decision }),
        }
      : {}),
  });
}
