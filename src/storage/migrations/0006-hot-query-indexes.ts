import type { Kysely } from 'kysely';
import type { MigrationContext } from './context.js';

/**
 * Indexes found missing by EXPLAIN on the hot queries at production sizes (test/scale/query-plans.test.ts):
 * - the sign-in throttle looks up a tenant's recent logins and failed logins by action; with only
 *   (tenant_id, id) it read every audit entry of the tenant, which a busy tenant has tens of thousands of;
 * - closing a month of invoices reads the roll-ups of that month across all tenants; the primary key
 *   leads with tenant_id, so without an index on day it read the whole history every month.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createIndex('audit_log_tenant_action_idx')
    .on('audit_log')
    .columns(['tenant_id', 'action', 'created_at'])
    .execute();
  await db.schema.createIndex('usage_daily_day_idx').on('usage_daily').column('day').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('usage_daily_day_idx').ifExists().execute();
  await db.schema.dropIndex('audit_log_tenant_action_idx').ifExists().execute();
}
