import { sql } from 'kysely';
import type { Db } from '../shared/db.js';
import { apportionMicros, picosOf } from '../shared/money.js';
import { DAY_MS } from './usage-daily.js';

/** One row of a usage report: a model, or a model on a day (UTC). */
export interface UsageLine {
  /** `YYYY-MM-DD`, only when grouped by day. */
  day?: string;
  /** The API surface, only when grouped by endpoint. */
  endpoint?: string;
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  /** Rounded so that the lines of a report add up to its rounded total (see `apportionMicros`). */
  costMicros: number;
}

/** How a report is split: per model, per day and model, or per endpoint and model. */
export type UsageGrouping = 'model' | 'day' | 'endpoint';

interface Partial {
  day: number;
  endpoint?: string;
  model: string;
  requests: unknown;
  prompt_tokens: unknown;
  completion_tokens: unknown;
  cost_micros: unknown;
  cost_picos: unknown;
}

/** Whole UTC days in [fromDay, toDay) from the daily roll-ups. */
function fromRollups(db: Db, tenantId: string, fromDay: number, toDay: number): Promise<Partial[]> {
  return db
    .selectFrom('usage_daily')
    .where('tenant_id', '=', tenantId)
    .where('day', '>=', fromDay)
    .where('day', '<', toDay)
    .select(['day', 'model', 'requests', 'prompt_tokens', 'completion_tokens', 'cost_micros', 'cost_picos'])
    .execute();
}

/** Raw records of a tenant in [from, to), with the sums every report line needs. */
function recordSums(db: Db, tenantId: string, from: number, to: number) {
  return db
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
      eb.fn.sum<number>('cost_picos').as('cost_picos'),
    ]);
}

/** Raw records in [from, to), per day and model: only for the partial days at the range's edges. */
function fromRecords(db: Db, tenantId: string, from: number, to: number): Promise<Partial[]> {
  if (from >= to) return Promise.resolve([]);
  // Integer division of epoch ms truncates to the UTC day on both SQLite and PostgreSQL.
  const day = sql<number>`${sql.ref('created_at')} / ${sql.lit(DAY_MS)}`;
  return recordSums(db, tenantId, from, to).select(day.as('day')).groupBy([day, 'model']).execute();
}

/** Raw records in [from, to) per endpoint and model (the daily roll-ups do not keep the endpoint). */
function byEndpoint(db: Db, tenantId: string, from: number, to: number): Promise<Partial[]> {
  return recordSums(db, tenantId, from, to)
    .select([sql<number>`0`.as('day'), 'endpoint'])
    .groupBy(['endpoint', 'model'])
    .execute();
}

/**
 * Sums a tenant's usage in [from, to) per model, or per day and model. Whole days come from the
 * daily roll-ups (fast whatever the history); the partial days at either edge from raw records.
 * Every metered request counts, including those that failed and cost nothing.
 */
export async function usageLines(
  db: Db,
  tenantId: string,
  from: number,
  to: number,
  groupBy: UsageGrouping,
): Promise<UsageLine[]> {
  if (groupBy === 'endpoint') return summed(await byEndpoint(db, tenantId, from, to), groupBy);
  const firstWholeDay = Math.ceil(from / DAY_MS);
  const endWholeDay = Math.floor(to / DAY_MS);
  const parts =
    firstWholeDay < endWholeDay
      ? (
          await Promise.all([
            fromRecords(db, tenantId, from, firstWholeDay * DAY_MS),
            fromRollups(db, tenantId, firstWholeDay, endWholeDay),
            fromRecords(db, tenantId, endWholeDay * DAY_MS, to),
          ])
        ).flat()
      : await fromRecords(db, tenantId, from, to);

  return summed(parts, groupBy);
}

/** Sums partial rows into report lines, in order, with costs apportioned to round to the total. */
function summed(parts: Partial[], groupBy: UsageGrouping): UsageLine[] {
  const lines = new Map<string, UsageLine>();
  const costs = new Map<UsageLine, bigint>();
  for (const p of parts) {
    const day = groupBy === 'day' ? new Date(Number(p.day) * DAY_MS).toISOString().slice(0, 10) : undefined;
    const endpoint = groupBy === 'endpoint' ? String(p.endpoint) : undefined;
    const key = `${day ?? ''}\u0000${endpoint ?? ''}\u0000${p.model}`;
    let line = lines.get(key);
    if (!line) {
      line = {
        ...(day ? { day } : {}),
        ...(endpoint ? { endpoint } : {}),
        model: p.model,
        requests: 0,
        promptTokens: 0,
        completionTokens: 0,
        costMicros: 0,
      };
      lines.set(key, line);
      costs.set(line, 0n);
    }
    // PostgreSQL returns sums and bigints as strings or numbers depending on the type; Number() reads both.
    line.requests += Number(p.requests);
    line.promptTokens += Number(p.prompt_tokens);
    line.completionTokens += Number(p.completion_tokens);
    costs.set(line, costs.get(line)! + picosOf(p.cost_micros, p.cost_picos));
  }
  const sorted = [...lines.values()].sort(
    (a, b) =>
      (a.day ?? '').localeCompare(b.day ?? '') ||
      (a.endpoint ?? '').localeCompare(b.endpoint ?? '') ||
      a.model.localeCompare(b.model),
  );
  const micros = apportionMicros(sorted.map((l) => costs.get(l)!));
  for (const [i, l] of sorted.entries()) l.costMicros = micros[i]!;
  return sorted;
}
