import type { Kysely } from 'kysely';
import type { MigrationContext } from './context.js';

/**
 * The OAuth authorization server: what oidc-provider stores (clients, grants, codes, tokens,
 * interactions), one row per model and id, every id kept only as its SHA-256 (an opaque token's id
 * is the token); and per authorized app the tenant, the member and the scopes approved.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('oauth_records')
    .addColumn('model', 'varchar(40)', (c) => c.notNull())
    .addColumn('id_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('grant_hash', 'varchar(64)')
    .addColumn('uid_hash', 'varchar(64)')
    .addColumn('user_code_hash', 'varchar(64)')
    .addColumn('expires_at', 'bigint')
    .addColumn('consumed_at', 'bigint')
    .addPrimaryKeyConstraint('oauth_records_pk', ['model', 'id_hash'])
    .execute();
  await db.schema.createIndex('oauth_records_grant_idx').on('oauth_records').column('grant_hash').execute();
  await db.schema.createIndex('oauth_records_uid_idx').on('oauth_records').column('uid_hash').execute();
  await db.schema.createIndex('oauth_records_expiry_idx').on('oauth_records').column('expires_at').execute();

  await db.schema
    .createTable('oauth_grants')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('grant_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull().references('tenants.id'))
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id'))
    .addColumn('client_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('client_name', 'varchar(255)')
    .addColumn('redirect_uri', 'text')
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('oauth_grants_tenant_idx')
    .on('oauth_grants')
    .columns(['tenant_id', 'created_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('oauth_grants').ifExists().execute();
  await db.schema.dropTable('oauth_records').ifExists().execute();
}
