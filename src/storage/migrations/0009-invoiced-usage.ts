import { type Kysely, sql } from 'kysely';
import type { MigrationContext } from './context.js';

const DAY_MS = 86_400_000;
const INVOICED = [
  'invoiced_requests',
  'invoiced_prompt_tokens',
  'invoiced_completion_tokens',
  'invoiced_cost_micros',
] as const;

/**
 * What of each daily roll-up has been put on an invoice, so usage that reaches a month after it was
 * closed (a late flush, a replayed write-ahead log) is found and carried onto the next invoice instead
 * of being dropped; and the months already closed, which never get another invoice.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  for (const column of INVOICED)
    await db.schema
      .alterTable('usage_daily')
      .addColumn(column, 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
  // Roll-ups of months a tenant was already invoiced for count as invoiced.
  await sql`
    update usage_daily set invoiced_requests = requests, invoiced_prompt_tokens = prompt_tokens,
      invoiced_completion_tokens = completion_tokens, invoiced_cost_micros = cost_micros
    where exists (
      select 1 from invoices i where i.tenant_id = usage_daily.tenant_id
        and usage_daily.day >= i.period_start / ${sql.lit(DAY_MS)} and usage_daily.day < i.period_end / ${sql.lit(DAY_MS)})`.execute(
    db,
  );
  // Only rows with usage no invoice covers yet: the current month and late arrivals. Stays small.
  await db.schema
    .createIndex('usage_daily_uninvoiced_idx')
    .on('usage_daily')
    .columns(['tenant_id', 'day'])
    .where(sql.ref('requests'), '>', sql.ref('invoiced_requests'))
    .execute();

  await db.schema
    .createTable('billing_periods')
    .addColumn('period', 'varchar(7)', (c) => c.primaryKey())
    .addColumn('closed_at', 'bigint', (c) => c.notNull())
    .execute();
  await sql`
    insert into billing_periods (period, closed_at)
    select period, max(created_at) from invoices group by period`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('billing_periods').ifExists().execute();
  await db.schema.dropIndex('usage_daily_uninvoiced_idx').ifExists().execute();
  for (const column of INVOICED) await db.schema.alterTable('usage_daily').dropColumn(column).execute();
}
