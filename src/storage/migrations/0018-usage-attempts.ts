import type { Kysely } from 'kysely';
import type { MigrationContext } from './context.js';

/**
 * Usage records keep how many routes were tried for the request (the one that answered included; 0 when
 * the response cache answered). Records from before have none: null, not a guess.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable('usage_records').addColumn('attempts', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('usage_records').dropColumn('attempts').execute();
}
