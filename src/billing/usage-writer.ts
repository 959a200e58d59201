import type { Db } from '../accounts/tenant-store.js';
import { enqueueEvent } from '../events/outbox.js';
import { statementChunks } from '../storage/statement-chunks.js';
import type { NewUsageRecordRow } from '../storage/tables.js';
import { addConsumed, setThresholdsFired } from './credit-store.js';
import { formatMicros } from './money.js';
import { crossedThresholds } from './thresholds.js';
import { addToDailyUsage } from './usage-daily.js';

/** A tenant's totals right after a batch committed, to refresh the admission cache. */
export interface CommittedTotals {
  grantedMicros: number;
  consumedMicros: number;
}

/**
 * Writes a batch of usage records in ONE transaction: the records, their daily roll-ups, one ledger
 * debit per charged record, each tenant's running total, and the usage-threshold events those debits cross. Idempotent:
 * a record whose request id is already stored is skipped together with its debit, so replaying a
 * write-ahead segment never bills twice.
 */
export async function writeUsageBatch(
  db: Db,
  rows: readonly NewUsageRecordRow[],
  thresholds: readonly number[],
): Promise<Map<string, CommittedTotals>> {
  const totals = new Map<string, CommittedTotals>();
  if (rows.length === 0) return totals;
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
    const fresh = rows.filter((r) => inserted.has(r.request_id) && Number(r.cost_micros) > 0);
    for (const chunk of statementChunks(fresh)) {
      await trx
        .insertInto('credit_ledger')
        .values(
          chunk.map((r) => ({
            tenant_id: r.tenant_id,
            kind: 'usage',
            amount_micros: -Number(r.cost_micros),
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

    const perTenant = new Map<string, number>();
    for (const r of fresh)
      perTenant.set(r.tenant_id, (perTenant.get(r.tenant_id) ?? 0) + Number(r.cost_micros));
    const now = Date.now();
    // A fixed order keeps concurrent replicas from locking balance rows in opposite orders.
    for (const [tenantId, amount] of [...perTenant].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const debit = await addConsumed(trx, tenantId, amount, now);
      totals.set(tenantId, { grantedMicros: debit.grantedMicros, consumedMicros: debit.consumedAfter });
      const crossed = crossedThresholds(
        thresholds,
        debit.grantedMicros,
        debit.consumedBefore,
        debit.consumedAfter,
        debit.thresholdsFired,
      );
      if (crossed.length === 0) continue;
      for (const threshold of crossed)
        await enqueueEvent(trx, tenantId, 'usage.threshold_reached', {
          threshold,
          consumed: formatMicros(debit.consumedAfter),
          granted: formatMicros(debit.grantedMicros),
          balance: formatMicros(debit.grantedMicros - debit.consumedAfter),
          currency: 'USD',
        });
      await setThresholdsFired(trx, tenantId, [...debit.thresholdsFired, ...crossed]);
    }
  });
  return totals;
}
