import type { Logger } from 'pino';
import {
  InProcessRevocationBus,
  type RevocationBus,
  type RevocationEvent,
} from '../accounts/revocation-bus.js';
import { randomBase62 } from '../shared/ids.js';
import { closeRedis, createRedisClient, doneWithin, type Redis } from './client.js';

export interface RedisRevocationBusOptions {
  url: string;
  /** The shared command client, used to publish. */
  publisher: Redis;
  /** Key prefix of the deployment; the channel is `<prefix>revocations`. */
  keyPrefix: string;
  logger: Logger;
  /**
   * Called when the subscription comes back after a disconnection: events published meanwhile
   * were missed, so every cached credential must be dropped.
   */
  onResync?: () => void;
}

interface Envelope {
  origin: string;
  event: RevocationEvent;
}

/**
 * Revocations over Redis pub/sub: a rotated or revoked key is dropped from every replica's cache as
 * soon as the message arrives (about a millisecond). Local subscribers are told synchronously, so
 * this replica never depends on Redis for its own revocations.
 */
export class RedisRevocationBus implements RevocationBus {
  readonly channel: string;
  private readonly handlers: Array<(event: RevocationEvent) => void> = [];
  private readonly origin = randomBase62(12);
  private readonly subscriber: Redis;
  private readonly publisher: Redis;
  private readonly logger: Logger;
  private lostConnection = false;

  constructor(opts: RedisRevocationBusOptions) {
    this.channel = `${opts.keyPrefix}revocations`;
    this.publisher = opts.publisher;
    this.logger = opts.logger;
    this.subscriber = createRedisClient(opts.url, { name: 'simosphere:revocations', subscriber: true });
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.receive(message);
    });
    this.subscriber.on('close', () => {
      this.lostConnection = true;
    });
    // ioredis re-subscribes on reconnect; what was published in between is lost, so start afresh.
    this.subscriber.on('ready', () => {
      if (!this.lostConnection) return;
      this.lostConnection = false;
      opts.onResync?.();
    });
  }

  /** Subscribes to the channel; resolves false when Redis did not confirm within `timeoutMs`. */
  start(timeoutMs = 1_000): Promise<boolean> {
    return doneWithin(this.subscriber.subscribe(this.channel), timeoutMs);
  }

  async publish(event: RevocationEvent): Promise<void> {
    this.deliver(event);
    const envelope: Envelope = { origin: this.origin, event };
    try {
      await this.publisher.publish(this.channel, JSON.stringify(envelope));
    } catch (err) {
      // Other replicas still drop the entry when their key cache expires (limits.keyCacheTtlMs).
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err), kind: event.kind },
        'revocation not broadcast: Redis unreachable',
      );
    }
  }

  subscribe(handler: (event: RevocationEvent) => void): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    this.handlers.length = 0;
    await closeRedis(this.subscriber);
  }

  private receive(message: string): void {
    let envelope: unknown;
    try {
      envelope = JSON.parse(message);
    } catch {
      return;
    }
    if (!isEnvelope(envelope) || envelope.origin === this.origin) return;
    this.deliver(envelope.event);
  }

  private deliver(event: RevocationEvent): void {
    for (const handler of this.handlers) {
      try {
        handler(event);
      } catch (err) {
        this.logger.error({ err }, 'revocation handler failed');
      }
    }
  }
}

function isEnvelope(value: unknown): value is Envelope {
  if (!value || typeof value !== 'object') return false;
  const { origin, event } = value as {
    origin?: unknown;
    event?: { kind?: unknown; keyId?: unknown; tenantId?: unknown };
  };
  if (typeof origin !== 'string' || !event || typeof event !== 'object') return false;
  return (
    (event.kind === 'key' && typeof event.keyId === 'string') ||
    (event.kind === 'tenant' && typeof event.tenantId === 'string')
  );
}

/** The bus the deployment needs: Redis pub/sub with a shared Redis, else in process. */
export async function createRevocationBus(opts: {
  redisUrl: string | undefined;
  redis: Redis | undefined;
  keyPrefix: string;
  logger: Logger;
  onResync?: () => void;
}): Promise<RevocationBus> {
  if (!opts.redisUrl || !opts.redis) return new InProcessRevocationBus();
  const bus = new RedisRevocationBus({
    url: opts.redisUrl,
    publisher: opts.redis,
    keyPrefix: opts.keyPrefix,
    logger: opts.logger,
    ...(opts.onResync ? { onResync: opts.onResync } : {}),
  });
  if (!(await bus.start()))
    opts.logger.warn('revocation broadcast not subscribed yet: Redis unreachable, will retry');
  return bus;
}
