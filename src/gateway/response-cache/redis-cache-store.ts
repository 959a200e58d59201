import type { Redis } from '../../redis/client.js';
import type { ResponseCacheStore } from './cache-store.js';

/**
 * The response cache in Redis, shared by every replica: one key per answer under the tenant, expiring
 * with its TTL. The total is bounded by Redis's own `maxmemory` policy (these keys all carry a TTL, so
 * `volatile-lru` or `volatile-ttl` evicts them before any key without one).
 */
export class RedisCacheStore implements ResponseCacheStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  private keyOf(key: string, tenantId: string): string {
    return `${this.keyPrefix}response-cache:${tenantId}:${key}`;
  }

  async get(key: string, tenantId: string): Promise<string | undefined> {
    return (await this.redis.get(this.keyOf(key, tenantId))) ?? undefined;
  }

  async set(key: string, tenantId: string, entry: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.keyOf(key, tenantId), entry, 'PX', ttlMs);
  }
}
