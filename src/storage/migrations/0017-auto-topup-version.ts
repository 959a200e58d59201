import type { Kysely } from 'kysely';
import type { MigrationContext } from './context.js';

/**
 * Auto top-up rows count their changes, so a replica claims a charge only if the row is still what it
 * read before it looked at the balance: a balance read before another replica's top-up was granted
 * must not start a second charge.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .alterTable('auto_topups')
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('auto_topups').dropColumn('version').execute();
}
