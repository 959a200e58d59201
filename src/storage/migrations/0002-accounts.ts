import type { Kysely } from 'kysely';
import type { MigrationContext } from './context.js';

/**
 * Unique tenant emails, and dashboard sessions. Only a SHA-256 of the session id is stored, so a database dump cannot be
 * replayed as a cookie; the CSRF token is derived from the id and not stored either.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('sessions')
    .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id'))
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull().references('tenants.id'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute();
  await db.schema.createIndex('sessions_expiry_idx').on('sessions').column('expires_at').execute();
  // One tenant per owner email, also for tenants the operator creates without a login.
  await db.schema.createIndex('tenants_email_unique').on('tenants').column('email').unique().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('tenants_email_unique').ifExists().execute();
  await db.schema.dropTable('sessions').ifExists().execute();
}
