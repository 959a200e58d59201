import type { Kysely } from 'kysely';
import type { MigrationContext } from './context.js';

/**
 * Recent sign-in attempts per email and client address, so the login throttle counts an attempt
 * atomically before the password is checked, on every replica sharing the database. The key is a
 * SHA-256 of email and address; neither is stored in clear.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('login_attempts')
    .addColumn('key_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('attempts', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  // Expired rows are pruned by age.
  await db.schema
    .createIndex('login_attempts_updated_idx')
    .on('login_attempts')
    .column('updated_at')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('login_attempts').ifExists().execute();
}
