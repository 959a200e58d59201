import type { Kysely } from 'kysely';
import type { MigrationContext } from './context.js';

/**
 * Responses kept for `previous_response_id` and `GET /v1/responses/{id}` (the Responses API's
 * `store`). Each row holds one response and the input items of its own request, as JSON; a
 * conversation is the chain of its previous responses. Rows past `expires_at` are pruned.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('stored_responses')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('previous_response_id', 'varchar(64)')
    .addColumn('response', 'text', (c) => c.notNull())
    .addColumn('input_items', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('stored_responses_expires_idx')
    .on('stored_responses')
    .column('expires_at')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('stored_responses').ifExists().execute();
}
