import { enqueueEvent } from '../events/outbox.js';
import type { Db } from '../shared/db.js';
import { formatMicros, moneyOf, picosOf, roundToMicros } from '../shared/money.js';
import { statementChunks } from '../storage/statement-chunks.js';
import type { NewUsageRecordRow } from '../storage/tables.js';
import { addConsumed, setThresholdsFired } from './credit-store.js';
import { crossedThresholds } from './thresholds.js';
import { addToDailyUsage } from './usage-daily.js';

/** A tenant's totals (pico-dollars) right after a batch committed, to refresh the admission cache. */
export interface CommittedTotals {
  granted: bigint;
  consumed: bigint;
}

/** A record's exact cost in pico-dollars (records written ahead by older versions have no pico part). */
export const recordCost = (r: Pick<NewUsageRecordRow, 'cost_micros' | 'cost_picos'>): bigint =>
  picosOf(r.cost_micros, r.cost_picos ?? 0);

/**
 * Writes a batch of usage records in ONE transaction: the records, their daily roll-ups, one ledger
 * debit per charged record, each tenant's running total, and the usage-threshold events those debits cross. Idempotent:
 * a record whose request id is already stored is skipped together with its debit, so replaying a
 * write-ahead segment never bills twice.
 */
export async function writeUsageBatch(
  db: Db,
  batch: readonly NewUsageRecordRow[],
  thresholds: readonly number[],
): Promise<Map<string, CommittedTotals>> {
  const totals = new Map<string, CommittedTotals>();
  if (batch.length === 0) return totals;
  // Records written ahead by older versions lack the newer columns; every row of one INSERT has them all.
  const rows = batch.map((r) => ({
    ...r,
    cost_picos: r.cost_picos ?? 0,
    cached_tokens: r.cached_tokens ?? 0,
    cache_write_tokens: r.cache_write_tokens ?? 0,
    cache: r.cache ?? null,
    attempts: r.attempts ?? null,
  }));
  await db.transaction().execute(async (trx) => {
    const inserted = new Set<string>();
    for (const chunk of statementChunks(rows)) {
      const ids = await trx
        .insertInto('usage_records')
        .values(chunk)
        .onConflict((oc) => oc.column('request_id').doNothing())
        .returning('request_id')
        .execute();
      for (const r of ids) inserted.add(r.request_id);
    }
    // Every newly stored record counts in the roll-ups, free ones included (`requests` counts them all).
    await addToDailyUsage(
      trx,
      rows.filter((r) => inserted.has(r.request_id)),
    );
    const fresh = rows.filter((r) => inserted.has(r.request_id) && recordCost(r) > 0n);
    for (const chunk of statementChunks(fresh)) {
      await trx
        .insertInto('credit_ledger')
        .values(
          chunk.map((r) => ({
            tenant_id: r.tenant_id,
            kind: 'usage',
            amount_micros: -Number(r.cost_micros),
            amount_picos: -Number(r.cost_picos),
            idempotency_key: `usage:${r.request_id}`,
            request_id: r.request_id,
            actor: r.key_id ? `key:${r.key_id}` : null,
            note: null,
            created_at: r.created_at,
          })),
        )
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .execute();
    }

    const perTenant = new Map<string, bigint>();
    for (const r of fresh) perTenant.set(r.tenant_id, (perTenant.get(r.tenant_id) ?? 0n) + recordCost(r));
    const now = Date.now();
    // A fixed order keeps concurrent replicas from locking balance rows in opposite orders.
    for (const [tenantId, amount] of [...perTenant].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const debit = await addConsumed(trx, tenantId, moneyOf(amount), now);
      totals.set(tenantId, { granted: debit.granted, consumed: debit.consumedAfter });
      const crossed = crossedThresholds(
        thresholds,
        roundToMicros(debit.granted),
        roundToMicros(debit.consumedBefore),
        roundToMicros(debit.consumedAfter),
        debit.thresholdsFired,
      );
      if (crossed.length === 0) continue;
      const consumed = roundToMicros(debit.consumedAfter);
      const granted = roundToMicros(debit.granted);
      for (const threshold of crossed)
        await enqueueEvent(trx, tenantId, 'usage.threshold_reached', {
          threshold,
          consumed: formatMicros(consumed),
          granted: formatMicros(granted),
          balance: formatMicros(granted - consumed),
          currency: 'USD',
        });
      await setThresholdsFired(trx, tenantId, [...debit.thresholdsFired, ...crossed]);
    }
  });
  return totals;
}
