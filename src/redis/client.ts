import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';

export type { Redis };

const require = createRequire(import.meta.url);
let ioredis: typeof import('ioredis') | undefined;
/** ioredis (~1 MB of heap) is loaded by the first Redis connection, not by a gateway without Redis. */
const redisClass = () => {
  ioredis ??= require('ioredis') as typeof import('ioredis');
  return ioredis.Redis;
};

export interface RedisClientOptions {
  /** Shown in `CLIENT LIST`, e.g. `simosphere:limiter`. */
  name: string;
  /**
   * Pub/sub subscribers queue their SUBSCRIBE until connected; command clients fail at once
   * instead, so a dead Redis never stalls a request.
   */
  subscriber?: boolean;
  /** Upper bound on one command's round trip before it counts as a failure. */
  commandTimeoutMs?: number;
}

// A dead or partitioned Redis must cost a request milliseconds, not seconds: a refused connection
// fails at once (no offline queue), a silent one within the command timeout.
const CONNECT_TIMEOUT_MS = 500;
const COMMAND_TIMEOUT_MS = 250;

/**
 * The one place Redis connections are made. Reconnects forever with capped backoff; errors are
 * reported through the client's events (see `watchRedisHealth`), never thrown at start-up.
 */
export function createRedisClient(url: string, opts: RedisClientOptions): Redis {
  const options: RedisOptions = {
    connectionName: opts.name,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: opts.subscriber ? null : 1,
    enableOfflineQueue: opts.subscriber === true,
    retryStrategy: (times) => Math.min(times * 100, 1_000),
    lazyConnect: false,
  };
  if (!opts.subscriber) options.commandTimeout = opts.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
  const RedisClient = redisClass();
  const client = new RedisClient(url, options);
  // Without a listener ioredis prints every connection error; health is tracked by the owners instead.
  client.on('error', () => {});
  return client;
}

/** Resolves true once the client is ready, false after `timeoutMs` (it keeps reconnecting). */
export function waitForRedis(client: Redis, timeoutMs = 1_000): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    client.on('ready', onReady);
  });
}

/**
 * True when `work` (a subscription, a first load) succeeds within `timeoutMs`; false when it fails or
 * is still waiting for a Redis that is down. The work itself goes on: ioredis sends it on reconnect.
 */
export async function doneWithin(work: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const ok = work.then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([ok, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a client politely, or at once when the server is gone. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  await client.quit().catch(() => client.disconnect());
}

/** Creates the shared command client and waits briefly for it; a Redis that is down starts degraded. */
export async function connectRedis(
  url: string,
  name = 'simosphere',
  commandTimeoutMs = COMMAND_TIMEOUT_MS,
): Promise<Redis> {
  const client = createRedisClient(url, { name, commandTimeoutMs });
  await waitForRedis(client, CONNECT_TIMEOUT_MS * 2);
  return client;
}
