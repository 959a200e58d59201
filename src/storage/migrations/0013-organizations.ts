import { type Kysely, sql } from 'kysely';
import type { MigrationContext } from './context.js';

/**
 * Organizations with several members: a membership (tenant, user, role) per person and organization,
 * invites by email, one-time email tokens (verification, password reset), the mail outbox used when
 * no SMTP server is configured, on API keys their creator, the role they act with and their own
 * limits, and what keys with a spend limit spent per period. Every existing user becomes the owner
 * of the tenant they signed up with. Tokens are stored only as SHA-256 hashes.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('memberships')
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull().references('tenants.id'))
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id'))
    .addColumn('role', 'varchar(16)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('memberships_pk', ['tenant_id', 'user_id'])
    .execute();
  await db.schema.createIndex('memberships_user_idx').on('memberships').column('user_id').execute();
  await sql`insert into memberships (tenant_id, user_id, role, created_at)
    select tenant_id, id, 'owner', created_at from users`.execute(db);

  await db.schema.alterTable('users').addColumn('email_verified_at', 'bigint').execute();

  await db.schema
    .createTable('invites')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull().references('tenants.id'))
    .addColumn('email', 'varchar(320)', (c) => c.notNull())
    .addColumn('role', 'varchar(16)', (c) => c.notNull())
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('invited_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('accepted_at', 'bigint')
    .addColumn('accepted_by', 'varchar(64)')
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('invites_tenant_idx')
    .on('invites')
    .columns(['tenant_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('email_tokens')
    .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id'))
    .addColumn('purpose', 'varchar(16)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute();
  await db.schema.createIndex('email_tokens_user_idx').on('email_tokens').column('user_id').execute();

  await db.schema
    .createTable('mail_outbox')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('recipient', 'varchar(320)', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('mail_outbox_time_idx').on('mail_outbox').column('created_at').execute();

  await db.schema.alterTable('api_keys').addColumn('created_by', 'varchar(64)').execute();
  await db.schema
    .alterTable('api_keys')
    .addColumn('role', 'varchar(16)', (c) => c.notNull().defaultTo('owner'))
    .execute();
  await db.schema.alterTable('api_keys').addColumn('spend_limit_micros', 'bigint').execute();
  await db.schema.alterTable('api_keys').addColumn('spend_period', 'varchar(8)').execute();
  await db.schema.alterTable('api_keys').addColumn('rpm_limit', 'integer').execute();
  await db.schema.alterTable('api_keys').addColumn('tpm_limit', 'integer').execute();

  // What each key with a spend limit spent in a budget period (a UTC day or month).
  await db.schema
    .createTable('key_spend')
    .addColumn('key_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('period_start', 'bigint', (c) => c.notNull())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('spent_micros', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('key_spend_pk', ['key_id', 'period_start'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of ['tpm_limit', 'rpm_limit', 'spend_period', 'spend_limit_micros', 'role', 'created_by'])
    await db.schema.alterTable('api_keys').dropColumn(column).execute();
  for (const t of ['key_spend', 'mail_outbox', 'email_tokens', 'invites', 'memberships'])
    await db.schema.dropTable(t).ifExists().execute();
  await db.schema.alterTable('users').dropColumn('email_verified_at').execute();
}
