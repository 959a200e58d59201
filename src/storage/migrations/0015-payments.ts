import type { Kysely } from 'kysely';
import type { MigrationContext } from './context.js';

/**
 * Card payments through Stripe: every top-up (Checkout or off-session) with what was asked for and
 * what was received, the Stripe events already applied (so a redelivered event changes nothing), each
 * tenant's Stripe customer, and auto top-up settings with the claim that lets one replica charge at a time.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('payments')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull().references('tenants.id'))
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('credits_micros', 'bigint', (c) => c.notNull())
    .addColumn('amount_minor', 'bigint', (c) => c.notNull())
    .addColumn('amount_total_minor', 'bigint')
    .addColumn('currency', 'varchar(3)', (c) => c.notNull())
    .addColumn('session_id', 'varchar(255)', (c) => c.unique())
    .addColumn('payment_intent_id', 'varchar(255)', (c) => c.unique())
    .addColumn('refunded_micros', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('disputed_micros', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('failure', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('paid_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('payments_tenant_idx')
    .on('payments')
    .columns(['tenant_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('stripe_events')
    .addColumn('id', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('type', 'varchar(64)', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('stripe_customers')
    .addColumn('tenant_id', 'varchar(64)', (c) => c.primaryKey().references('tenants.id'))
    .addColumn('customer_id', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('auto_topups')
    .addColumn('tenant_id', 'varchar(64)', (c) => c.primaryKey().references('tenants.id'))
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('threshold_micros', 'bigint', (c) => c.notNull())
    .addColumn('amount_micros', 'bigint', (c) => c.notNull())
    .addColumn('payment_method_id', 'varchar(255)')
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('attempt_id', 'varchar(64)')
    .addColumn('claimed_at', 'bigint')
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}
