/**
 * The response cache's database store on SQLite and PostgreSQL: entries expire, are read only by their
 * tenant, and the table stays under its size cap by dropping the oldest entries first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlCacheStore } from '../../src/gateway/response-cache/sql-cache-store.js';
import type { DatabaseHandle } from '../../src/storage/database.js';
import { type OpenTestDatabase, openTestDatabase, type TestDialect } from '../support/databases.js';
import { describeWith } from '../support/services.js';

function suite(dialect: TestDialect) {
  let t: OpenTestDatabase;
  let handle: DatabaseHandle;
  let clock = 1_764_000_000_000;
  const now = () => clock;

  beforeAll(async () => {
    t = await openTestDatabase(dialect);
    handle = t.handle;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('reads an entry back for its own tenant only, until it expires', async () => {
    const store = new SqlCacheStore(handle.db, 1_000_000, now);
    await store.set('k1', 'ten_a', '{"x":1}', 1_000);
    expect(await store.get('k1', 'ten_a')).toBe('{"x":1}');
    expect(await store.get('k1', 'ten_b')).toBeUndefined();
    clock += 1_000;
    expect(await store.get('k1', 'ten_a')).toBeUndefined();
    // Storing again replaces the expired entry.
    await store.set('k1', 'ten_a', '{"x":2}', 1_000);
    expect(await store.get('k1', 'ten_a')).toBe('{"x":2}');
  });

  it('drops the oldest entries once the table outgrows its cap', async () => {
    await handle.db.deleteFrom('response_cache').execute();
    const store = new SqlCacheStore(handle.db, 10_000, now);
    const entry = 'x'.repeat(1_000);
    for (let i = 0; i < 25; i++) {
      clock += 1;
      await store.set(`e${i}`, 'ten_a', entry, 60_000);
    }
    const rows = await handle.db.selectFrom('response_cache').select(['key', 'size_bytes']).execute();
    const total = rows.reduce((sum, r) => sum + r.size_bytes, 0);
    expect(total).toBeLessThanOrEqual(10_000);
    // The newest survive, the oldest went.
    expect(await store.get('e24', 'ten_a')).toBe(entry);
    expect(await store.get('e0', 'ten_a')).toBeUndefined();
  });
}

describe('response cache store on SQLite', () => suite('sqlite'));
await describeWith('pg', 'response cache store on PostgreSQL', () => suite('postgres'));
