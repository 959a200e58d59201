import type { Db } from '../shared/db.js';
import { moneyOf, picosOf } from '../shared/money.js';
import { statementChunks } from '../storage/statement-chunks.js';
import type { NewUsageRecordRow, UsageDailyTable } from '../storage/tables.js';
import { addMoneyColumns } from './money-sql.js';

export const DAY_MS = 86_400_000;

/** Days since the Unix epoch (UTC) of an epoch-ms instant. */
export const dayOf = (at: number) => Math.floor(at / DAY_MS);

/** One roll-up row's increments: the same shape as the row, without what invoices covered. */
type DailyDelta = Omit<UsageDailyTable, `invoiced_${string}`>;

/**
 * Adds freshly inserted usage records to the daily roll-ups, inside the caller's transaction.
 * Rows are upserted in key order so concurrent replicas lock them in the same order.
 */
export async function addToDailyUsage(trx: Db, records: readonly NewUsageRecordRow[]): Promise<void> {
  const deltas = new Map<string, DailyDelta>();
  const costs = new Map<string, bigint>();
  for (const r of records) {
    const day = dayOf(Number(r.created_at));
    const key = `${r.tenant_id}\u0000${day}\u0000${r.model}`;
    let d = deltas.get(key);
    if (!d) {
      d = {
        tenant_id: r.tenant_id,
        day,
        model: r.model,
        requests: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        cost_micros: 0,
        cost_picos: 0,
      };
      deltas.set(key, d);
    }
    d.requests += 1;
    d.prompt_tokens += Number(r.prompt_tokens);
    d.completion_tokens += Number(r.completion_tokens);
    costs.set(key, (costs.get(key) ?? 0n) + picosOf(r.cost_micros, r.cost_picos));
  }
  for (const [key, cost] of costs) {
    const d = deltas.get(key)!;
    ({ micros: d.cost_micros, picos: d.cost_picos } = moneyOf(cost));
  }
  const sorted = [...deltas].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, d]) => d);
  for (const chunk of statementChunks(sorted)) {
    await trx
      .insertInto('usage_daily')
      .values(chunk)
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'day', 'model']).doUpdateSet((eb) => {
          const cost = addMoneyColumns(
            { stored: eb.ref('usage_daily.cost_micros'), added: eb.ref('excluded.cost_micros') },
            { stored: eb.ref('usage_daily.cost_picos'), added: eb.ref('excluded.cost_picos') },
          );
          return {
            requests: eb('usage_daily.requests', '+', eb.ref('excluded.requests')),
            prompt_tokens: eb('usage_daily.prompt_tokens', '+', eb.ref('excluded.prompt_tokens')),
            completion_tokens: eb('usage_daily.completion_tokens', '+', eb.ref('excluded.completion_tokens')),
            cost_micros: cost.micros,
            cost_picos: cost.picos,
          };
        }),
      )
      .execute();
  }
}

/**
 * Deletes raw usage records older than `cutoff` in small batches (roll-ups, ledger and invoices keep
 * the money). Returns how many were deleted.
 */
export async function pruneUsageRecords(db: Db, cutoff: number, batch = 5_000): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await db
      .deleteFrom('usage_records')
      .where('id', 'in', (eb) =>
        eb.selectFrom('usage_records').select('id').where('created_at', '<', cutoff).limit(batch),
      )
      .executeTakeFirst();
    const n = Number(result.numDeletedRows);
    total += n;
    if (n < batch) return total;
  }
}
