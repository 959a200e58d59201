import type { Logger } from 'pino';
import type { ModelCacheConfig, ModelConfig } from '../../config/schema.js';
import type { ChatChunk } from '../chat-chunks.js';
import type { RouteUsed } from '../model-router.js';
import { isDeterministic, responseCacheKey } from './cache-key.js';
import type { ResponseCacheStore } from './cache-store.js';

/** What a client may ask of the cache with `x-simo-cache`. */
export type CacheDirective = 'force' | 'no-store';

/** An answer as it is cached: a whole JSON answer, or a stream's events (the `data:` payloads). */
export type CachedAnswer =
  | { kind: 'json'; body: Record<string, unknown>; route: RouteUsed }
  | { kind: 'stream'; events: string[]; route: RouteUsed };

/** The counters the cache feeds (`/metrics`). */
export interface CacheMetrics {
  lookup(model: string, outcome: 'hit' | 'miss'): void;
  stored(outcome: 'stored' | 'too_large' | 'failed'): void;
}

/** The price share of a hit: `free` → 0, `full` → 1, or the configured fraction. */
export const hitPriceFactor = (billing: ModelCacheConfig['billing']): number =>
  billing === 'free' ? 0 : billing === 'full' ? 1 : billing;

/**
 * The exact-match response cache. A model opts in with `cache`; a request uses it when it is
 * deterministic (or the model caches `always`, or the client sends `x-simo-cache: force`) unless the
 * client sends `x-simo-cache: no-store`. Store failures only cost hits: a lookup that fails is a miss.
 */
export class ResponseCache {
  /** Writes in flight by key: a lookup of the same key waits for it, so a quick repeat is a hit. */
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly store: ResponseCacheStore,
    private readonly opts: { maxEntryBytes: number },
    private readonly metrics: CacheMetrics,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  /**
   * The cache slot of one call, or undefined when the call does not use the cache. A call whose
   * completion the balance caps is not cached: its answer may be cut short.
   */
  slotFor(
    tenantId: string,
    model: ModelConfig,
    body: Record<string, unknown> & { temperature?: number | null; seed?: number | null },
    streamed: boolean,
    directive: CacheDirective | undefined,
    capped: boolean,
  ): CacheSlot | undefined {
    const config = model.cache;
    if (!config || directive === 'no-store' || capped) return undefined;
    if (directive !== 'force' && config.when !== 'always' && !isDeterministic(body)) return undefined;
    const key = responseCacheKey(tenantId, model.id, streamed, body);
    return new CacheSlot(this, key, tenantId, model.id, config);
  }

  /** @internal the stored answer of a slot, counted as a hit or a miss. */
  async lookup(slot: CacheSlot): Promise<CachedAnswer | undefined> {
    let answer: CachedAnswer | undefined;
    try {
      await this.pending.get(slot.key);
      const raw = await this.store.get(slot.key, slot.tenantId);
      answer = raw === undefined ? undefined : (JSON.parse(raw) as CachedAnswer);
    } catch (err) {
      this.logger.warn({ err }, 'response cache lookup failed; answering from the model');
    }
    this.metrics.lookup(slot.modelId, answer ? 'hit' : 'miss');
    return answer;
  }

  /** @internal stores a slot's answer in the background; answers over the size cap are skipped. */
  keep(slot: CacheSlot, answer: CachedAnswer): void {
    const entry = JSON.stringify(answer);
    if (entry.length > this.opts.maxEntryBytes || Buffer.byteLength(entry) > this.opts.maxEntryBytes) {
      this.metrics.stored('too_large');
      return;
    }
    const write = this.store
      .set(slot.key, slot.tenantId, entry, slot.config.ttlSeconds * 1000)
      .then(
        () => this.metrics.stored('stored'),
        (err: unknown) => {
          this.metrics.stored('failed');
          this.logger.warn({ err }, 'response cache store failed');
        },
      )
      .finally(() => {
        if (this.pending.get(slot.key) === write) this.pending.delete(slot.key);
      });
    this.pending.set(slot.key, write);
  }

  /** The largest answer stored, in bytes of JSON. */
  get maxEntryBytes(): number {
    return this.opts.maxEntryBytes;
  }

  /** Waits for the writes in flight (shutdown, tests). */
  async drain(): Promise<void> {
    await Promise.all([...this.pending.values()]);
  }

  /** Whether any model of the catalog caches: without one, no cache is built. */
  static wanted(models: readonly ModelConfig[]): boolean {
    return models.some((m) => m.cache !== undefined);
  }
}

/** One call's place in the cache: look its answer up, or keep the answer it got. */
export class CacheSlot {
  constructor(
    private readonly cache: ResponseCache,
    readonly key: string,
    readonly tenantId: string,
    readonly modelId: string,
    readonly config: ModelCacheConfig,
  ) {}

  /** Share of the normal price a hit costs. */
  get priceFactor(): number {
    return hitPriceFactor(this.config.billing);
  }

  lookup(): Promise<CachedAnswer | undefined> {
    return this.cache.lookup(this);
  }

  keep(answer: CachedAnswer): void {
    this.cache.keep(this, answer);
  }

  /** Collects a live stream's events for `keep`; gives up once they outgrow what could be stored. */
  recorder(): StreamRecorder {
    return new StreamRecorder(this.cache.maxEntryBytes);
  }
}

/**
 * A stream's events as they passed, for the cache. Only a stream that reached a finish reason and
 * ended cleanly is kept, so an abandoned or cut-off answer is never replayed as if whole.
 */
export class StreamRecorder {
  readonly events: string[] = [];
  private bytes = 0;
  /** Over the size cap: nothing will be kept. */
  overflowed = false;
  /** Some choice finished (`finish_reason` seen). */
  finished = false;

  constructor(private readonly maxBytes: number) {}

  /** Records a chunk before the surface renders (and changes) it. */
  add(chunk: ChatChunk): void {
    if (this.overflowed) return;
    const data = JSON.stringify(chunk);
    this.bytes += data.length;
    if (this.bytes > this.maxBytes) {
      this.overflowed = true;
      this.events.length = 0;
      return;
    }
    this.events.push(data);
    if (chunk.choices?.some((c) => c.finish_reason != null)) this.finished = true;
  }
}
