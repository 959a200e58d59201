import type { Kysely } from 'kysely';
import type { MigrationContext } from './context.js';

/**
 * `usage_records` had two identical indexes on `created_at`: `usage_records_time_idx` (0003) and
 * `usage_records_created_idx` (0005, for retention). Every usage write paid for both; the second stays.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.dropIndex('usage_records_time_idx').ifExists().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('usage_records_time_idx').on('usage_records').column('created_at').execute();
}
