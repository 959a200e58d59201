import type { Kysely } from 'kysely';
import type { MigrationContext } from './context.js';

/**
 * The response cache's database store: one row per cached answer, keyed by a hash of the tenant,
 * model and normalised request (never the prompt itself), dropped when it expires or when the store
 * outgrows its size cap (oldest first). Usage records say whether the response cache answered them.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('response_cache')
    .addColumn('key', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('entry', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('response_cache_created_idx')
    .on('response_cache')
    .column('created_at')
    .execute();
  await db.schema
    .createIndex('response_cache_expires_idx')
    .on('response_cache')
    .column('expires_at')
    .execute();
  // `hit` or `miss` when the model's response cache was consulted; null otherwise.
  await db.schema.alterTable('usage_records').addColumn('cache', 'varchar(8)').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('usage_records').dropColumn('cache').execute();
  await db.schema.dropTable('response_cache').ifExists().execute();
}
