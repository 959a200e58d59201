/**
 * The auto top-up claim on SQLite and PostgreSQL: one claimant wins, and a replica whose balance check
 * read the row before another replica charged, granted and re-armed claims nothing — its balance is
 * out of date, and claiming would charge the card a second time for one crossing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  claimCharge,
  newSettingsRow,
  readAutoTopUp,
  releaseClaim,
} from '../../src/payments/auto-top-up-store.js';
import type { DatabaseHandle } from '../../src/storage/database.js';
import { type OpenTestDatabase, openTestDatabase, type TestDialect } from '../support/databases.js';
import { describeWith } from '../support/services.js';

function suite(dialect: TestDialect) {
  let t: OpenTestDatabase;
  let handle: DatabaseHandle;
  const now = 1_764_000_000_000;
  let tenants = 0;

  beforeAll(async () => {
    t = await openTestDatabase(dialect);
    handle = t.handle;
  });
  afterAll(async () => {
    await t?.close();
  });

  async function armedTenant(): Promise<string> {
    const id = `ten_claim${++tenants}`;
    await handle.db
      .insertInto('tenants')
      .values({
        id,
        name: id,
        email: `${id}@example.com`,
        plan: 'free',
        suspended: 0,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await handle.db
      .insertInto('auto_topups')
      .values({
        ...newSettingsRow(id, now),
        enabled: 1,
        threshold_micros: 5_000_000,
        amount_micros: 20_000_000,
      })
      .execute();
    return id;
  }
  const claim = (tenantId: string, version: number, attemptId: string) =>
    claimCharge(handle.db, { tenantId, version, attemptId, now, staleBefore: now - 600_000 });

  it('lets one of many claimants of the same version win', async () => {
    const id = await armedTenant();
    const row = (await readAutoTopUp(handle.db, id))!;
    const won = await Promise.all(Array.from({ length: 10 }, (_, i) => claim(id, row.version, `pay_${i}`)));
    expect(won.filter(Boolean)).toHaveLength(1);
  });

  it('claims nothing on a row read before another charge was granted and re-armed', async () => {
    const id = await armedTenant();
    const seenBySlowReplica = (await readAutoTopUp(handle.db, id))!;
    // Meanwhile another replica claims, is paid, and later sees the balance back above the threshold.
    const fresh = (await readAutoTopUp(handle.db, id))!;
    expect(await claim(id, fresh.version, 'pay_first')).toBe(true);
    await releaseClaim(handle.db, id, 'pay_first', { state: 'waiting', failures: 0, last_error: null }, now);
    await handle.db
      .updateTable('auto_topups')
      .set({ state: 'armed', version: (await readAutoTopUp(handle.db, id))!.version + 1 })
      .where('tenant_id', '=', id)
      .execute();
    // The slow replica's balance was read before the grant: it must not charge again.
    expect(await claim(id, seenBySlowReplica.version, 'pay_second')).toBe(false);
    const row = (await readAutoTopUp(handle.db, id))!;
    expect(row).toMatchObject({ state: 'armed', attempt_id: null });
  });

  it('takes over an abandoned claim once, under the same attempt', async () => {
    const id = await armedTenant();
    await handle.db
      .updateTable('auto_topups')
      .set({ state: 'charging', attempt_id: 'pay_abandoned', claimed_at: 1 })
      .where('tenant_id', '=', id)
      .execute();
    const row = (await readAutoTopUp(handle.db, id))!;
    const won = await Promise.all([1, 2, 3].map(() => claim(id, row.version, 'pay_abandoned')));
    expect(won.filter(Boolean)).toHaveLength(1);
  });
}

describe('auto top-up claim on SQLite', () => suite('sqlite'));
await describeWith('pg', 'auto top-up claim on PostgreSQL', () => suite('postgres'));
