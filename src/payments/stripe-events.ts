import type Stripe from 'stripe';
import { raiseFlagIn } from '../audit-flags/flag-store.js';
import { appendCredit } from '../billing/credit-store.js';
import type { Db } from '../shared/db.js';
import { formatMicros } from '../shared/money.js';
import { creditsOfPart } from './amounts.js';
import type { AutoTopUp } from './auto-top-up.js';
import type { PaymentDeps } from './payment-deps.js';
import { findPayment, findPaymentByIntent, grantPayment, type Payment } from './payment-store.js';

/** What became of a delivered event. */
export type EventOutcome = 'applied' | 'duplicate' | 'ignored';

const idOf = (ref: string | { id: string } | null | undefined): string | null =>
  ref == null ? null : typeof ref === 'string' ? ref : ref.id;

/**
 * Applies verified Stripe events. Each event is applied in one transaction together with the row
 * that records its id, so a redelivered event (or ten concurrent deliveries, on any replica) changes
 * nothing the second time; the credit itself is keyed by our payment, so two different events about
 * one payment (`completed`, then `async_payment_succeeded`) grant once too. Events may arrive in any
 * order: each movement is computed from the event's own totals (a charge's cumulative refunds), not
 * from what arrived before it.
 */
export class StripeEventHandler {
  constructor(
    private readonly deps: PaymentDeps,
    private readonly autoTopUp: AutoTopUp,
  ) {}

  async handle(event: Stripe.Event): Promise<EventOutcome> {
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded':
        return this.sessionCompleted(event, event.data.object);
      case 'checkout.session.expired':
      case 'checkout.session.async_payment_failed':
        return this.sessionFailed(event, event.data.object);
      case 'payment_intent.succeeded':
        return this.intentSucceeded(event, event.data.object);
      case 'payment_intent.payment_failed':
        return this.intentFailed(event, event.data.object);
      case 'charge.refunded':
        return this.chargeRefunded(event, event.data.object);
      case 'charge.dispute.created':
        return this.disputeCreated(event, event.data.object);
      default:
        return 'ignored';
    }
  }

  /** Runs `apply` once per event id, in one transaction with the record of the event. */
  private async once(event: Stripe.Event, apply: (trx: Db) => Promise<string | null>): Promise<EventOutcome> {
    const touched = await this.deps.db.transaction().execute(async (trx) => {
      const fresh = await trx
        .insertInto('stripe_events')
        .values({ id: event.id, type: event.type, received_at: this.deps.now() })
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!fresh) return undefined;
      return apply(trx);
    });
    if (touched === undefined) return 'duplicate';
    if (touched) this.deps.invalidate(touched);
    return 'applied';
  }

  /** Our payment behind a Checkout Session, when the session is ours and matches what we asked for. */
  private async paymentOfSession(trx: Db, session: Stripe.Checkout.Session): Promise<Payment | null> {
    const id = session.metadata?.simo_payment_id;
    if (!id) return null;
    const payment = await findPayment(trx, id, this.deps.dialect);
    if (!payment || payment.sessionId !== session.id || payment.tenantId !== session.client_reference_id) {
      this.deps.logger.warn(
        { session: session.id, payment: id },
        'Stripe session does not match its payment',
      );
      return null;
    }
    return payment;
  }

  private async sessionCompleted(
    event: Stripe.Event,
    session: Stripe.Checkout.Session,
  ): Promise<EventOutcome> {
    if (session.mode === 'setup') return this.cardSaved(event, session);
    if (session.mode !== 'payment' || session.payment_status !== 'paid') return 'ignored';
    if (!session.metadata?.simo_payment_id) return 'ignored';
    return this.once(event, async (trx) => {
      const payment = await this.paymentOfSession(trx, session);
      if (!payment) return null;
      // The credit is what we recorded before Checkout; a session whose price was changed grants nothing.
      if (session.amount_subtotal !== payment.amountMinor || session.currency !== payment.currency) {
        this.deps.logger.error(
          { session: session.id, payment: payment.id, subtotal: session.amount_subtotal },
          'Stripe session amount differs from the payment asked for; nothing granted',
        );
        await trx
          .updateTable('payments')
          .set({ failure: 'amount_mismatch' })
          .where('id', '=', payment.id)
          .execute();
        return null;
      }
      const granted = await grantPayment(
        trx,
        payment,
        { paymentIntentId: idOf(session.payment_intent), amountTotalMinor: session.amount_total },
        this.deps.now(),
      );
      return granted ? payment.tenantId : null;
    });
  }

  private async sessionFailed(event: Stripe.Event, session: Stripe.Checkout.Session): Promise<EventOutcome> {
    if (session.mode !== 'payment' || !session.metadata?.simo_payment_id) return 'ignored';
    return this.once(event, async (trx) => {
      const payment = await this.paymentOfSession(trx, session);
      // Only a payment still waiting: a late "expired" never undoes a payment that completed.
      if (payment?.status === 'pending')
        await trx
          .updateTable('payments')
          .set({ status: event.type === 'checkout.session.expired' ? 'expired' : 'failed' })
          .where('id', '=', payment.id)
          .execute();
      return null;
    });
  }

  /** Checkout in setup mode finished: the card it saved is the one auto top-up charges. */
  private async cardSaved(event: Stripe.Event, session: Stripe.Checkout.Session): Promise<EventOutcome> {
    const tenantId = session.metadata?.simo_tenant_id;
    const setupIntentId = idOf(session.setup_intent);
    if (!tenantId || !setupIntentId || session.client_reference_id !== tenantId) return 'ignored';
    const intent = await this.deps.stripe.setupIntents.retrieve(setupIntentId);
    const paymentMethod = idOf(intent.payment_method);
    if (intent.status !== 'succeeded' || !paymentMethod) return 'ignored';
    const customer = await this.deps.db
      .selectFrom('stripe_customers')
      .select('customer_id')
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    // A session of another customer (or another integration on the same account) is not ours.
    if (!customer || customer.customer_id !== idOf(session.customer)) return 'ignored';
    return this.once(event, async (trx) => {
      await this.autoTopUp.cardSaved(trx, tenantId, paymentMethod);
      return null;
    });
  }

  /** An auto top-up's PaymentIntent, by its metadata and then by its id. */
  private async autoPayment(intent: Stripe.PaymentIntent): Promise<Payment | null> {
    const id = intent.metadata?.simo_payment_id;
    const payment = id
      ? await findPayment(this.deps.db, id)
      : await findPaymentByIntent(this.deps.db, intent.id);
    if (payment?.kind !== 'auto' || payment.tenantId !== intent.metadata?.simo_tenant_id) return null;
    if (payment.amountMinor !== intent.amount || payment.currency !== intent.currency) return null;
    return payment;
  }

  private async intentSucceeded(event: Stripe.Event, intent: Stripe.PaymentIntent): Promise<EventOutcome> {
    const payment = await this.autoPayment(intent);
    if (!payment) return 'ignored';
    const outcome = await this.once(event, async () => null);
    if (outcome === 'applied') await this.autoTopUp.succeeded(payment, intent);
    return outcome;
  }

  private async intentFailed(event: Stripe.Event, intent: Stripe.PaymentIntent): Promise<EventOutcome> {
    const payment = await this.autoPayment(intent);
    if (!payment) return 'ignored';
    const outcome = await this.once(event, async () => null);
    if (outcome === 'applied')
      await this.autoTopUp.failed(payment, intent.last_payment_error?.message ?? 'The payment failed.');
    return outcome;
  }

  /**
   * The payment a charge belongs to. A refund may arrive before the payment's own completion event
   * told us its PaymentIntent: then the PaymentIntent is read back from Stripe for our payment id.
   */
  private async paymentOfCharge(intentRef: string | Stripe.PaymentIntent | null): Promise<Payment | null> {
    const intentId = idOf(intentRef);
    if (!intentId) return null;
    const known = await findPaymentByIntent(this.deps.db, intentId);
    if (known) return known;
    const intent = await this.deps.stripe.paymentIntents.retrieve(intentId);
    const id = intent.metadata?.simo_payment_id;
    const payment = id ? await findPayment(this.deps.db, id) : undefined;
    return payment && payment.tenantId === intent.metadata?.simo_tenant_id ? payment : null;
  }

  private async chargeRefunded(event: Stripe.Event, charge: Stripe.Charge): Promise<EventOutcome> {
    const found = await this.paymentOfCharge(charge.payment_intent);
    if (!found) return 'ignored';
    // Refunds are cumulative on the charge: an older event arriving late asks for less and takes nothing.
    const target = creditsOfPart(found.creditsMicros, charge.amount_refunded, charge.amount);
    return this.once(event, (trx) =>
      this.takeBack(trx, found.id, 'refund', () => target, `charge ${charge.id}`, `${target}`),
    );
  }

  private async disputeCreated(event: Stripe.Event, dispute: Stripe.Dispute): Promise<EventOutcome> {
    const found = await this.paymentOfCharge(dispute.payment_intent);
    if (!found) return 'ignored';
    const whole = found.amountTotalMinor ?? found.amountMinor;
    const disputed = creditsOfPart(found.creditsMicros, dispute.amount, whole);
    return this.once(event, (trx) =>
      this.takeBack(
        trx,
        found.id,
        'dispute',
        (p) => p.disputedMicros + disputed,
        `dispute ${dispute.id}`,
        dispute.id,
      ),
    );
  }

  /**
   * Takes back credit of a payment up to the total `targetOf` names for refunds (or disputes): the
   * ledger row (keyed by `key`, so it happens once), the payment's running total, and an
   * `audit.flagged` flag, in the event's transaction, with the payment row locked. Never more than the
   * payment granted in all.
   */
  private async takeBack(
    trx: Db,
    paymentId: string,
    kind: 'refund' | 'dispute',
    targetOf: (payment: Payment) => number,
    reference: string,
    key: string,
  ): Promise<string | null> {
    const payment = await findPayment(trx, paymentId, this.deps.dialect);
    if (!payment) return null;
    const already = kind === 'refund' ? payment.refundedMicros : payment.disputedMicros;
    const room = payment.creditsMicros - payment.refundedMicros - payment.disputedMicros;
    const amount = Math.min(targetOf(payment) - already, room);
    if (amount <= 0) return null;
    const now = this.deps.now();
    const taken = await appendCredit(trx, {
      tenantId: payment.tenantId,
      kind,
      amountMicros: -amount,
      idempotencyKey: `stripe:${kind}:${payment.id}:${key}`,
      actor: 'stripe',
      note: `${kind === 'refund' ? 'Refund' : 'Dispute'} of card payment ${payment.id} (Stripe ${reference})`,
      at: now,
    });
    if (!taken) return null;
    await trx
      .updateTable('payments')
      .set(kind === 'refund' ? { refunded_micros: already + amount } : { disputed_micros: already + amount })
      .where('id', '=', payment.id)
      .execute();
    await raiseFlagIn(
      trx,
      {
        tenantId: payment.tenantId,
        rule: kind === 'refund' ? 'payment_refunded' : 'payment_disputed',
        subject: payment.id,
        detail: { amount: formatMicros(amount), stripe: reference },
      },
      now,
    );
    return payment.tenantId;
  }
}
