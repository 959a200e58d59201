import type { Kysely } from 'kysely';
import { autoIncrementId, type MigrationContext } from './context.js';

/** The credit ledger, each tenant's running balance, and monthly invoices. */
export async function up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('credit_ledger')
    .addColumn('id', ctx.dialect === 'postgres' ? 'bigserial' : 'integer', autoIncrementId(ctx))
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('amount_micros', 'bigint', (c) => c.notNull())
    .addColumn('idempotency_key', 'varchar(160)', (c) => c.notNull().unique())
    .addColumn('request_id', 'varchar(128)')
    .addColumn('actor', 'text')
    .addColumn('note', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('credit_ledger_tenant_idx')
    .on('credit_ledger')
    .columns(['tenant_id', 'id'])
    .execute();

  await db.schema
    .createTable('credit_balances')
    .addColumn('tenant_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('granted_micros', 'bigint', (c) => c.notNull())
    .addColumn('consumed_micros', 'bigint', (c) => c.notNull())
    .addColumn('thresholds_fired', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('invoices')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('period', 'varchar(7)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('currency', 'varchar(8)', (c) => c.notNull())
    .addColumn('total_micros', 'bigint', (c) => c.notNull())
    .addColumn('lines', 'text', (c) => c.notNull())
    .addColumn('period_start', 'bigint', (c) => c.notNull())
    .addColumn('period_end', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('invoices_tenant_period_uq', ['tenant_id', 'period'])
    .execute();
  await db.schema.createIndex('usage_records_time_idx').on('usage_records').column('created_at').execute();
  // Request ids may be up to 128 characters (a caller's X-Request-Id); SQLite does not enforce lengths.
  if (ctx.dialect === 'postgres')
    await db.schema
      .alterTable('usage_records')
      .alterColumn('request_id', (col) => col.setDataType('varchar(128)'))
      .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('usage_records_time_idx').ifExists().execute();
  for (const t of ['invoices', 'credit_balances', 'credit_ledger'])
    await db.schema.dropTable(t).ifExists().execute();
}
