import { findTenant } from '../accounts/tenant-store.js';
import { ApiError, notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { formatMicros } from '../shared/money.js';
import { chargeFor, parseTopUpAmount } from './amounts.js';
import type { PaymentDeps } from './payment-deps.js';
import { insertPayment, setSessionId } from './payment-store.js';

/** A Checkout Session to send the customer to. */
export interface CheckoutStarted {
  url: string;
  payment_id: string;
}

/**
 * Starts payments at Stripe Checkout: a top-up (the amount is ours, recorded before Stripe is asked,
 * so what is granted never comes from the client or from Stripe's metadata), or saving a card for
 * auto top-up (Checkout in setup mode). Every call to Stripe goes through the SDK with an idempotency key.
 */
export class CheckoutService {
  constructor(private readonly deps: PaymentDeps) {}

  async topUp(tenantId: string, amount: unknown, actor: string): Promise<CheckoutStarted> {
    const { config, stripe, db } = this.deps;
    const creditsMicros = parseTopUpAmount(amount, config);
    const customer = await this.customerFor(tenantId);
    const paymentId = newId('pay');
    const amountMinor = chargeFor(creditsMicros, config);
    await insertPayment(db, {
      id: paymentId,
      tenantId,
      kind: 'checkout',
      creditsMicros,
      amountMinor,
      currency: config.currency,
      createdBy: actor,
      at: this.deps.now(),
    });
    const metadata = { simo_payment_id: paymentId, simo_tenant_id: tenantId };
    const session = await stripe.checkout.sessions.create(
      {
        mode: 'payment',
        customer,
        client_reference_id: tenantId,
        line_items: [
          {
            quantity: 1,
            price_data: {
              currency: config.currency,
              unit_amount: amountMinor,
              product_data: { name: `${this.deps.brandName} credits: ${formatMicros(creditsMicros)} USD` },
              ...(config.automaticTax ? { tax_behavior: 'exclusive' as const } : {}),
            },
          },
        ],
        automatic_tax: { enabled: config.automaticTax },
        ...(config.automaticTax ? { customer_update: { address: 'auto' as const } } : {}),
        metadata,
        payment_intent_data: { metadata },
        success_url: `${this.deps.publicUrl}/dashboard/billing?payment=success`,
        cancel_url: `${this.deps.publicUrl}/dashboard/billing?payment=cancelled`,
      },
      { idempotencyKey: `checkout:${paymentId}` },
    );
    if (!session.url) throw new Error('Stripe answered a Checkout Session without a URL');
    await setSessionId(db, paymentId, session.id);
    return { url: session.url, payment_id: paymentId };
  }

  /** Checkout in setup mode: the customer saves a card that auto top-up charges off-session. */
  async saveCard(tenantId: string): Promise<{ url: string }> {
    const customer = await this.customerFor(tenantId);
    const session = await this.deps.stripe.checkout.sessions.create(
      {
        mode: 'setup',
        customer,
        currency: this.deps.config.currency,
        client_reference_id: tenantId,
        metadata: { simo_tenant_id: tenantId, simo_purpose: 'auto_topup' },
        setup_intent_data: { metadata: { simo_tenant_id: tenantId } },
        success_url: `${this.deps.publicUrl}/dashboard/billing?card=saved`,
        cancel_url: `${this.deps.publicUrl}/dashboard/billing?card=cancelled`,
      },
      { idempotencyKey: `setup:${tenantId}:${newId('set')}` },
    );
    if (!session.url) throw new Error('Stripe answered a Checkout Session without a URL');
    return { url: session.url };
  }

  /** The tenant's Stripe customer, created once (concurrent first calls share Stripe's idempotency). */
  async customerFor(tenantId: string): Promise<string> {
    const { db } = this.deps;
    const known = await db
      .selectFrom('stripe_customers')
      .select('customer_id')
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    if (known) return known.customer_id;
    const tenant = await findTenant(db, tenantId);
    if (!tenant) throw notFound('The tenant');
    const customer = await this.deps.stripe.customers.create(
      { email: tenant.email, name: tenant.name, metadata: { simo_tenant_id: tenantId } },
      { idempotencyKey: `customer:${tenantId}` },
    );
    await db
      .insertInto('stripe_customers')
      .values({ tenant_id: tenantId, customer_id: customer.id, created_at: this.deps.now() })
      .onConflict((oc) => oc.column('tenant_id').doNothing())
      .execute();
    const stored = await db
      .selectFrom('stripe_customers')
      .select('customer_id')
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    if (!stored) throw new ApiError('internal_error', 'The Stripe customer could not be stored.');
    return stored.customer_id;
  }
}
