/**
 * The storage contract, run against SQLite and PostgreSQL through the same code path: migrations,
 * the tenant and key stores, unique constraints and big integers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUniqueViolation } from '../../src/accounts/account-service.js';
import { generateApiKey } from '../../src/accounts/api-key-format.js';
import { type ApiKeyRecord, findApiKeyByHash, insertApiKey } from '../../src/accounts/api-key-store.js';
import { findTenant, insertTenant, type Tenant } from '../../src/accounts/tenant-store.js';
import { newId } from '../../src/shared/ids.js';
import { type DatabaseHandle, openDatabase } from '../../src/storage/database.js';
import { createTestDatabase, type TestDatabase, type TestDialect } from '../support/databases.js';
import { describeWith } from '../support/services.js';

// An epoch-ms time and a micro-dollar amount well beyond 2^31, which must come back as exact numbers.
const EPOCH_MS = 1_764_000_000_123;
const BIG_MICROS = 9_007_199_254_740; // ~9 million USD, > 2^31 and < 2^53

const open = (t: TestDatabase): DatabaseHandle =>
  openDatabase({ databaseUrl: t.databaseUrl, dataDir: t.dataDir });

function newTenant(overrides: Partial<Tenant> = {}): Tenant {
  return {
    id: newId('ten'),
    name: 'Acme',
    email: `${newId('u')}@example.com`.toLowerCase(),
    plan: 'starter',
    rpmOverride: null,
    allowedModels: null,
    suspended: false,
    createdAt: EPOCH_MS,
    ...overrides,
  };
}

function newKey(tenantId: string, hash = generateApiKey().hash): ApiKeyRecord {
  return {
    id: newId('key'),
    tenantId,
    name: 'Default key',
    hash,
    prefix: 'sk-simo-AbCd',
    last4: 'wxyz',
    scopes: ['inference', 'admin'],
    createdAt: EPOCH_MS,
    lastUsedAt: null,
    revokedAt: null,
  };
}

/** The error a query throws, or fails the test when it does not throw. */
async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the query to fail');
}

for (const dialect of ['sqlite', 'postgres'] as const satisfies TestDialect[]) {
  const run = (name: string, body: () => void) =>
    dialect === 'sqlite' ? describe(name, body) : describeWith('pg', name, body);

  await run(`storage contract (${dialect})`, () => {
    let testDb: TestDatabase;
    let store: DatabaseHandle;

    beforeAll(async () => {
      testDb = await createTestDatabase(dialect, { empty: true });
      store = open(testDb);
    });
    afterAll(async () => {
      await store?.close();
      await testDb?.drop();
    });

    it('applies every migration once, then has nothing left to do', async () => {
      const applied = await store.migrate();
      expect(applied.length).toBeGreaterThan(0);
      expect(applied[0]).toBe('0001-core');
      expect([...applied].sort()).toEqual(applied);
      expect(await store.migrate()).toEqual([]);
      await store.ping();
    });

    it('also finds the schema current from a second handle', async () => {
      const other = open(testDb);
      try {
        expect(await other.migrate()).toEqual([]);
      } finally {
        await other.close();
      }
    });

    it('inserts and finds a tenant, with every field round-tripped', async () => {
      const tenant = newTenant({ rpmOverride: 1200, allowedModels: ['qwen/qwen3-8b'], suspended: true });
      await insertTenant(store.db, tenant);
      expect(await findTenant(store.db, tenant.id)).toEqual(tenant);
      expect(await findTenant(store.db, 'ten_missing')).toBeUndefined();
    });

    it('inserts and finds an API key by its hash', async () => {
      const tenant = newTenant();
      await insertTenant(store.db, tenant);
      const key = newKey(tenant.id);
      await insertApiKey(store.db, key);
      expect(await findApiKeyByHash(store.db, key.hash)).toEqual(key);
      expect(await findApiKeyByHash(store.db, generateApiKey().hash)).toBeUndefined();
    });

    it('enforces unique key hashes, reported as a unique violation', async () => {
      const tenant = newTenant();
      await insertTenant(store.db, tenant);
      const first = newKey(tenant.id);
      await insertApiKey(store.db, first);
      const err = await errorOf(insertApiKey(store.db, newKey(tenant.id, first.hash)));
      expect(isUniqueViolation(err)).toBe(true);
    });

    it('enforces unique user emails, reported as a unique violation', async () => {
      const tenant = newTenant();
      await insertTenant(store.db, tenant);
      const user = (email: string) => ({
        id: newId('usr'),
        tenant_id: tenant.id,
        email,
        password_hash: 'scrypt$x',
        created_at: EPOCH_MS,
      });
      await store.db.insertInto('users').values(user('same@example.com')).execute();
      const err = await errorOf(store.db.insertInto('users').values(user('same@example.com')).execute());
      expect(isUniqueViolation(err)).toBe(true);
      // Other failures are not mistaken for unique violations.
      const fk = await errorOf(
        store.db
          .insertInto('users')
          .values({ ...user('other@example.com'), tenant_id: 'ten_missing' })
          .execute(),
      );
      expect(isUniqueViolation(fk)).toBe(false);
    });

    it('returns big integers (epoch ms, micro-dollars beyond 2^31) as exact numbers', async () => {
      const tenant = newTenant();
      await insertTenant(store.db, tenant);
      await store.db
        .insertInto('usage_records')
        .values({
          request_id: newId('req'),
          tenant_id: tenant.id,
          key_id: null,
          model: 'qwen/qwen3-8b',
          provider: 'up',
          upstream_model: 'Qwen/Qwen3-8B',
          endpoint: 'chat.completions',
          prompt_tokens: 2_000_000_000,
          completion_tokens: 7,
          cost_micros: BIG_MICROS,
          cost_picos: 999_999,
          status: 200,
          streamed: 1,
          estimated: 0,
          latency_ms: 12,
          created_at: EPOCH_MS,
        })
        .execute();
      const row = await store.db
        .selectFrom('usage_records')
        .select(['id', 'cost_micros', 'created_at', 'prompt_tokens'])
        .where('tenant_id', '=', tenant.id)
        .executeTakeFirstOrThrow();
      expect(typeof row.id).toBe('number');
      expect(row.cost_micros).toBe(BIG_MICROS);
      expect(row.created_at).toBe(EPOCH_MS);
      expect(row.prompt_tokens).toBe(2_000_000_000);
      const sum = await store.db
        .selectFrom('usage_records')
        .select((eb) => eb.fn.sum<number>('cost_micros').as('total'))
        .where('tenant_id', '=', tenant.id)
        .executeTakeFirstOrThrow();
      expect(Number(sum.total)).toBe(BIG_MICROS);
    });

    it('rolls a failed transaction back completely', async () => {
      const tenant = newTenant();
      const err = await errorOf(
        store.db.transaction().execute(async (trx) => {
          await insertTenant(trx, tenant);
          await insertTenant(trx, tenant);
        }),
      );
      expect(isUniqueViolation(err)).toBe(true);
      expect(await findTenant(store.db, tenant.id)).toBeUndefined();
    });
  });
}

await describeWith('pg', 'concurrent migrations on one PostgreSQL database', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase('postgres', { empty: true });
  });
  afterAll(async () => {
    await testDb?.drop();
  });

  it('lets two replicas migrate at once: both succeed, each migration applied exactly once', async () => {
    const [one, two] = [open(testDb), open(testDb)];
    try {
      const [a, b] = await Promise.all([one.migrate(), two.migrate()]);
      const all = [...a, ...b].sort();
      expect(new Set(all).size).toBe(all.length);
      expect(all[0]).toBe('0001-core');
      expect(await one.migrate()).toEqual([]);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});
