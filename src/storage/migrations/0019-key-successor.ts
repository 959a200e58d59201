import type { Kysely } from 'kysely';
import type { MigrationContext } from './context.js';

/**
 * A rotated key names the key that replaced it, so the cost of its requests still running at the
 * rotation reaches the new key's spend budget. Keys rotated before have none.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable('api_keys').addColumn('replaced_by', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_keys').dropColumn('replaced_by').execute();
}
