import { expect } from 'vitest';
import type { Db } from '../../src/shared/db.js';
import { picosOf } from '../../src/shared/money.js';

/** Money that must add up for a tenant, straight from the database; amounts in pico-dollars. */
export interface Books {
  records: Array<{ request_id: string; cost: bigint; prompt_tokens: number; completion_tokens: number }>;
  granted: bigint;
  debits: bigint;
  consumed: bigint;
  balance: bigint;
}

/**
 * Checks the invariants of a tenant's books and returns them: one debit per charged usage record, equal
 * to its exact cost; the running totals equal the ledger; balance = grants − debits.
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
      .select(['request_id', 'cost_micros', 'cost_picos', 'prompt_tokens', 'completion_tokens'])
      .where('tenant_id', '=', tenantId)
      .execute()
  ).map((r) => ({
    request_id: r.request_id,
    cost: picosOf(r.cost_micros, r.cost_picos),
    prompt_tokens: Number(r.prompt_tokens),
    completion_tokens: Number(r.completion_tokens),
  }));
  const ledger = (
    await db
      .selectFrom('credit_ledger')
      .select(['kind', 'amount_micros', 'amount_picos', 'request_id'])
      .where('tenant_id', '=', tenantId)
      .execute()
  ).map((l) => ({
    kind: l.kind,
    request_id: l.request_id,
    amount: picosOf(l.amount_micros, l.amount_picos),
  }));
  const debitsByRequest = new Map<string, bigint[]>();
  for (const l of ledger.filter((x) => x.kind === 'usage')) {
    const list = debitsByRequest.get(l.request_id ?? '') ?? [];
    list.push(l.amount);
    debitsByRequest.set(l.request_id ?? '', list);
  }
  expect(new Set(records.map((r) => r.request_id)).size).toBe(records.length);
  for (const r of records) {
    if (r.cost > 0n) expect(debitsByRequest.get(r.request_id)).toEqual([-r.cost]);
    else expect(debitsByRequest.has(r.request_id)).toBe(false);
  }
  expect(debitsByRequest.size).toBe(records.filter((r) => r.cost > 0n).length);

  const granted = ledger.filter((l) => l.kind !== 'usage').reduce((s, l) => s + l.amount, 0n);
  const debits = ledger.filter((l) => l.kind === 'usage').reduce((s, l) => s - l.amount, 0n);
  const consumed = records.reduce((s, r) => s + r.cost, 0n);
  expect(debits).toBe(consumed);
  const totals = await db
    .selectFrom('credit_balances')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow();
  expect(picosOf(totals.granted_micros)).toBe(granted);
  expect(picosOf(totals.consumed_micros, totals.consumed_picos)).toBe(consumed);
  // The running total stays normalised: its pico part is below one micro-dollar.
  expect(Number(totals.consumed_picos)).toBeLessThan(1_000_000);
  return { records, granted, debits, consumed, balance: granted - consumed };
}
