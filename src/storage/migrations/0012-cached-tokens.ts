import type { Kysely } from 'kysely';
import type { MigrationContext } from './context.js';

/**
 * Usage records keep how many of their prompt tokens were read from the upstream's prompt cache and
 * how many were written to it, which models may price apart (`pricing.cachedInputPerMTok`,
 * `pricing.cacheWritePerMTok`). Existing records had none.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .alterTable('usage_records')
    .addColumn('cached_tokens', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('usage_records')
    .addColumn('cache_write_tokens', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('usage_records').dropColumn('cache_write_tokens').execute();
  await db.schema.alterTable('usage_records').dropColumn('cached_tokens').execute();
}
