import { type Kysely, sql } from 'kysely';

const DAY_MS = 86_400_000;

/**
 * Daily usage roll-ups per tenant and model, so usage reports and invoices stay fast as raw
 * records grow (and raw records can be pruned by retention). Backfilled from existing records.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('usage_daily')
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('day', 'integer', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('requests', 'bigint', (c) => c.notNull())
    .addColumn('prompt_tokens', 'bigint', (c) => c.notNull())
    .addColumn('completion_tokens', 'bigint', (c) => c.notNull())
    .addColumn('cost_micros', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('usage_daily_pk', ['tenant_id', 'day', 'model'])
    .execute();
  await sql`
    insert into usage_daily (tenant_id, day, model, requests, prompt_tokens, completion_tokens, cost_micros)
    select tenant_id, created_at / ${sql.lit(DAY_MS)}, model, count(*), sum(prompt_tokens), sum(completion_tokens), sum(cost_micros)
    from usage_records
    group by tenant_id, created_at / ${sql.lit(DAY_MS)}, model`.execute(db);
  // Retention deletes by age across all tenants.
  await db.schema.createIndex('usage_records_created_idx').on('usage_records').column('created_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('usage_records_created_idx').ifExists().execute();
  await db.schema.dropTable('usage_daily').ifExists().execute();
}
