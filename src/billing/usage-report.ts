import { sql } from 'kysely';
import type { Db } from '../accounts/tenant-store.js';

/** One row of a usage report: a model, or a model on a day (UTC). */
export interface UsageLine {
  /** `YYYY-MM-DD`, only when grouped by day. */
  day?: string;
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
}

const DAY_MS = 86_400_000;

/**
 * Sums a tenant's usage records in [from, to) per model, or per day and model. Every metered request
 * counts, including those that failed and cost nothing.
 */
export async function usageLines(
  db: Db,
  tenantId: string,
  from: number,
  to: number,
  groupBy: 'model' | 'day',
): Promise<UsageLine[]> {
  // Integer division of epoch ms truncates to the UTC day on both SQLite and PostgreSQL.
  const day = sql<number>`${sql.ref('created_at')} / ${sql.lit(DAY_MS)}`;
  let query = db
    .selectFrom('usage_records')
    .where('tenant_id', '=', tenantId)
    .where('created_at', '>=', from)
    .where('created_at', '<', to)
    .select((eb) => [
      'model',
      eb.fn.countAll<number>().as('requests'),
      eb.fn.sum<number>('prompt_tokens').as('prompt_tokens'),
      eb.fn.sum<number>('completion_tokens').as('completion_tokens'),
      eb.fn.sum<number>('cost_micros').as('cost_micros'),
    ])
    .groupBy('model');
  if (groupBy === 'day') query = query.select(day.as('day')).groupBy(day);
  const rows = await query.execute();
  const lines = rows.map((r) => {
    const line: UsageLine = {
      model: r.model,
      requests: Number(r.requests),
      // PostgreSQL's sum() is numeric, which arrives as a string; Number() reads both.
      promptTokens: Number(r.prompt_tokens),
      completionTokens: Number(r.completion_tokens),
      costMicros: Number(r.cost_micros),
    };
    const d = (r as { day?: unknown }).day;
    if (d !== undefined) line.day = new Date(Number(d) * DAY_MS).toISOString().slice(0, 10);
    return line;
  });
  return lines.sort((a, b) => (a.day ?? '').localeCompare(b.day ?? '') || a.model.localeCompare(b.model));
}
