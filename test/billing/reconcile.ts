import { expect } from 'vitest';
import type { Db } from '../../src/accounts/tenant-store.js';

/** Money that must add up for a tenant, straight from the database. */
export interface Books {
  records: Array<{ request_id: string; cost_micros: number }>;
  granted: number;
  debits: number;
  consumed: number;
  balance: number;
}

/**
 * Checks the invariants of a tenant's books and returns them: one debit per charged usage record, equal
 * to its cost; the running totals equal the ledger; balance = grants − debits.
 */
export async function reconcile(
  db: Db,
  tenantId: string,
  meter?: { flush(): Promise<void> },
): Promise<Books> {
  await meter?.flush();
  const records = (
    await db
      .selectFrom('usage_records')
      .select(['request_id', 'cost_micros'])
      .where('tenant_id', '=', tenantId)
      .execute()
  ).map((r) => ({ request_id: r.request_id, cost_micros: Number(r.cost_micros) }));
  const ledger = (
    await db
      .selectFrom('credit_ledger')
      .select(['kind', 'amount_micros', 'request_id'])
      .where('tenant_id', '=', tenantId)
      .execute()
  ).map((l) => ({ ...l, amount_micros: Number(l.amount_micros) }));
  const debitsByRequest = new Map<string, number[]>();
  for (const l of ledger.filter((x) => x.kind === 'usage')) {
    const list = debitsByRequest.get(l.request_id ?? '') ?? [];
    list.push(l.amount_micros);
    debitsByRequest.set(l.request_id ?? '', list);
  }
  expect(new Set(records.map((r) => r.request_id)).size).toBe(records.length);
  for (const r of records) {
    if (r.cost_micros > 0) expect(debitsByRequest.get(r.request_id)).toEqual([-r.cost_micros]);
    else expect(debitsByRequest.has(r.request_id)).toBe(false);
  }
  expect(debitsByRequest.size).toBe(records.filter((r) => r.cost_micros > 0).length);

  const granted = ledger.filter((l) => l.kind !== 'usage').reduce((s, l) => s + l.amount_micros, 0);
  const debits = ledger.filter((l) => l.kind === 'usage').reduce((s, l) => s - l.amount_micros, 0);
  const consumed = records.reduce((s, r) => s + r.cost_micros, 0);
  expect(debits).toBe(consumed);
  const totals = await db
    .selectFrom('credit_balances')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow();
  expect(Number(totals.granted_micros)).toBe(granted);
  expect(Number(totals.consumed_micros)).toBe(consumed);
  return { records, granted, debits, consumed, balance: granted - consumed };
}
