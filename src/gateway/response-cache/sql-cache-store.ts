import { sql } from 'kysely';
import type { Db } from '../../shared/db.js';
import type { ResponseCacheStore } from './cache-store.js';

/** Rows looked at per eviction round, oldest first. */
const EVICTION_BATCH = 500;

/**
 * The response cache in the SQL database (SQLite or PostgreSQL). Expired rows read as absent; once the
 * stored answers outgrow `maxBytes`, expired rows go first, then the oldest, until a tenth is free.
 * The running total is this process's estimate, re-read from the table whenever it decides to evict,
 * so several replicas sharing the table stay close to the cap.
 */
export class SqlCacheStore implements ResponseCacheStore {
  private total: number | undefined;
  private evicting: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly maxBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string, tenantId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('response_cache')
      .select('entry')
      .where('key', '=', key)
      .where('tenant_id', '=', tenantId)
      .where('expires_at', '>', this.now())
      .executeTakeFirst();
    return row?.entry;
  }

  async set(key: string, tenantId: string, entry: string, ttlMs: number): Promise<void> {
    const now = this.now();
    const size = Buffer.byteLength(entry);
    const row = {
      key,
      tenant_id: tenantId,
      entry,
      size_bytes: size,
      created_at: now,
      expires_at: now + ttlMs,
    };
    await this.db
      .insertInto('response_cache')
      .values(row)
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({ entry, size_bytes: size, created_at: now, expires_at: now + ttlMs }),
      )
      .execute();
    this.total = (this.total ?? (await this.storedBytes())) + size;
    if (this.total <= this.maxBytes) return;
    // One eviction at a time; writes meanwhile wait for it.
    if (!this.evicting)
      this.evicting = this.evict().finally(() => {
        this.evicting = undefined;
      });
    await this.evicting;
  }

  /** Bytes the table holds now. */
  private async storedBytes(): Promise<number> {
    const row = await this.db
      .selectFrom('response_cache')
      .select(sql<string | number | null>`sum(size_bytes)`.as('bytes'))
      .executeTakeFirst();
    return Number(row?.bytes ?? 0);
  }

  /** Drops expired rows, then the oldest, until the table is at most nine tenths of the cap. */
  private async evict(): Promise<void> {
    await this.db.deleteFrom('response_cache').where('expires_at', '<=', this.now()).execute();
    let total = await this.storedBytes();
    const target = Math.floor(this.maxBytes * 0.9);
    while (total > target) {
      const oldest = await this.db
        .selectFrom('response_cache')
        .select(['key', 'size_bytes'])
        .orderBy('created_at')
        .limit(EVICTION_BATCH)
        .execute();
      if (oldest.length === 0) break;
      const doomed: string[] = [];
      for (const r of oldest) {
        if (total <= target) break;
        doomed.push(r.key);
        total -= r.size_bytes;
      }
      await this.db.deleteFrom('response_cache').where('key', 'in', doomed).execute();
    }
    this.total = total;
  }
}
