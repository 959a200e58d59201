import type { Logger } from 'pino';
import type { BreakerState, RouteHealth } from '../gateway/routing/route-health.js';
import { randomBase62 } from '../shared/ids.js';
import { closeRedis, createRedisClient, doneWithin, type Redis } from './client.js';

/** What the replicas tell each other about one route's circuit. */
interface BreakerMessage {
  origin: string;
  key: string;
  state: BreakerState;
  openUntil: number;
}

/** Where a replica applies what another one decided. */
export interface BreakerSink {
  /** Routes known on this replica (those with a breaker are loaded at start). */
  routes(): RouteHealth[];
  /** Applies another replica's transition of the route `key`. */
  adoptRemote(key: string, state: BreakerState, openUntil: number): void;
}

/**
 * Circuit breaker state shared by the replicas over Redis: a transition on one replica is published
 * (pub/sub, about a millisecond) and applied by the others, so a dead upstream found by one replica is
 * skipped by all. An open circuit is also kept under `<prefix>breaker:<route>` until its cooldown ends,
 * for replicas that start meanwhile. Requests never wait for Redis: failures are counted per replica,
 * and a Redis that is down leaves each replica with its own breakers.
 */
export class RedisBreakerSync {
  private readonly channel: string;
  private readonly keyPrefix: string;
  private readonly origin = randomBase62(12);
  private readonly subscriber: Redis;
  private warned = false;

  constructor(
    url: string,
    private readonly publisher: Redis,
    keyPrefix: string,
    private readonly sink: BreakerSink,
    private readonly logger: Logger,
  ) {
    this.channel = `${keyPrefix}breakers`;
    this.keyPrefix = `${keyPrefix}breaker:`;
    this.subscriber = createRedisClient(url, { name: 'simosphere:breakers', subscriber: true });
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.receive(message);
    });
  }

  /** Subscribes and loads the circuits other replicas opened; resolves false when Redis did not answer. */
  start(timeoutMs = 1_000): Promise<boolean> {
    return doneWithin(this.subscribeAndLoad(), timeoutMs);
  }

  private async subscribeAndLoad(): Promise<void> {
    await this.subscriber.subscribe(this.channel);
    const routes = this.sink.routes().filter((h) => h.breaker);
    if (routes.length === 0) return;
    const stored = await this.publisher.mget(...routes.map((h) => this.keyPrefix + h.key));
    stored.forEach((value, i) => {
      const openUntil = Number(value);
      if (value !== null && openUntil > Date.now()) this.sink.adoptRemote(routes[i]!.key, 'open', openUntil);
    });
  }

  /** Tells the other replicas about a transition on this one; never waits, never throws. */
  publish(health: RouteHealth, state: BreakerState, openUntil: number): void {
    const message: BreakerMessage = { origin: this.origin, key: health.key, state, openUntil };
    const key = this.keyPrefix + health.key;
    const stored =
      state === 'open'
        ? this.publisher.set(key, String(openUntil), 'PX', Math.max(1, openUntil - Date.now()))
        : state === 'closed'
          ? this.publisher.del(key)
          : Promise.resolve();
    Promise.all([stored, this.publisher.publish(this.channel, JSON.stringify(message))]).catch((err) => {
      if (this.warned) return;
      this.warned = true;
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'circuit breaker state not shared: Redis unreachable; each replica keeps its own until it answers',
      );
    });
  }

  async close(): Promise<void> {
    await closeRedis(this.subscriber);
  }

  private receive(raw: string): void {
    let message: Partial<BreakerMessage>;
    try {
      message = JSON.parse(raw) as Partial<BreakerMessage>;
    } catch {
      return;
    }
    if (message.origin === this.origin || typeof message.key !== 'string') return;
    if (message.state !== 'open' && message.state !== 'half-open' && message.state !== 'closed') return;
    this.warned = false;
    this.sink.adoptRemote(message.key, message.state, Number(message.openUntil) || 0);
  }
}
