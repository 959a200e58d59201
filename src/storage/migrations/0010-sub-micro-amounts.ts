import type { Kysely } from 'kysely';
import type { MigrationContext } from './context.js';

/** Tables with an amount in micro-dollars, and the column that now holds its pico-dollars below one. */
const PARTS = [
  ['usage_records', 'cost_picos'],
  ['usage_daily', 'cost_picos'],
  ['usage_daily', 'invoiced_cost_picos'],
  ['credit_ledger', 'amount_picos'],
  ['credit_balances', 'consumed_picos'],
] as const;

/**
 * Costs are stored exactly instead of rounded to a whole micro-dollar per request: each amount gains the
 * pico-dollars (10^-12 USD) below its micro-dollars. Existing rows were rounded when they were written;
 * their fraction is unknown and stays 0, so their totals are exactly what was billed before.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  for (const [table, column] of PARTS)
    await db.schema
      .alterTable(table)
      .addColumn(column, 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [table, column] of PARTS) await db.schema.alterTable(table).dropColumn(column).execute();
}
