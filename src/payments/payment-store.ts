import { recordAudit } from '../accounts/audit-log.js';
import { appendCredit } from '../billing/credit-store.js';
import type { Db } from '../shared/db.js';
import { formatMicros } from '../shared/money.js';
import type { Dialect } from '../storage/database.js';
import type { PaymentsTable } from '../storage/tables.js';

/** A payment row with its numbers as numbers (PostgreSQL returns bigint columns as strings). */
export interface Payment {
  id: string;
  tenantId: string;
  kind: 'checkout' | 'auto';
  status: 'pending' | 'paid' | 'failed' | 'expired';
  creditsMicros: number;
  amountMinor: number;
  amountTotalMinor: number | null;
  currency: string;
  sessionId: string | null;
  paymentIntentId: string | null;
  refundedMicros: number;
  disputedMicros: number;
  failure: string | null;
  createdAt: number;
  paidAt: number | null;
}

type PaymentRow = Omit<PaymentsTable, 'refunded_micros' | 'disputed_micros'> & {
  refunded_micros: unknown;
  disputed_micros: unknown;
};

const num = (v: unknown): number => Number(v ?? 0);

function paymentOf(row: PaymentRow): Payment {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind as Payment['kind'],
    status: row.status as Payment['status'],
    creditsMicros: num(row.credits_micros),
    amountMinor: num(row.amount_minor),
    amountTotalMinor: row.amount_total_minor === null ? null : num(row.amount_total_minor),
    currency: row.currency,
    sessionId: row.session_id,
    paymentIntentId: row.payment_intent_id,
    refundedMicros: num(row.refunded_micros),
    disputedMicros: num(row.disputed_micros),
    failure: row.failure,
    createdAt: num(row.created_at),
    paidAt: row.paid_at === null ? null : num(row.paid_at),
  };
}

export interface NewPayment {
  id: string;
  tenantId: string;
  kind: Payment['kind'];
  creditsMicros: number;
  amountMinor: number;
  currency: string;
  createdBy: string;
  at: number;
}

/** Records a payment about to be asked of Stripe; an id used before is left as it was. */
export async function insertPayment(db: Db, p: NewPayment): Promise<void> {
  await db
    .insertInto('payments')
    .values({
      id: p.id,
      tenant_id: p.tenantId,
      kind: p.kind,
      status: 'pending',
      credits_micros: p.creditsMicros,
      amount_minor: p.amountMinor,
      amount_total_minor: null,
      currency: p.currency,
      session_id: null,
      payment_intent_id: null,
      failure: null,
      created_by: p.createdBy,
      created_at: p.at,
      paid_at: null,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

export async function setSessionId(db: Db, paymentId: string, sessionId: string): Promise<void> {
  await db.updateTable('payments').set({ session_id: sessionId }).where('id', '=', paymentId).execute();
}

/** A payment by id, locked for the rest of the transaction on PostgreSQL (SQLite has one writer anyway). */
export async function findPayment(db: Db, id: string, lock?: Dialect): Promise<Payment | undefined> {
  const row = await db
    .selectFrom('payments')
    .selectAll()
    .where('id', '=', id)
    .$if(lock === 'postgres', (qb) => qb.forUpdate())
    .executeTakeFirst();
  return row ? paymentOf(row) : undefined;
}

export async function findPaymentByIntent(db: Db, paymentIntentId: string): Promise<Payment | undefined> {
  const row = await db
    .selectFrom('payments')
    .selectAll()
    .where('payment_intent_id', '=', paymentIntentId)
    .executeTakeFirst();
  return row ? paymentOf(row) : undefined;
}

/** A tenant's payments, newest first. */
export async function listPayments(db: Db, tenantId: string, limit = 50): Promise<Payment[]> {
  const rows = await db
    .selectFrom('payments')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map(paymentOf);
}

/** Payments received by a tenant between two times (epoch ms, end exclusive), oldest first. */
export async function paymentsReceived(
  db: Db,
  tenantId: string,
  from: number,
  to: number,
): Promise<Payment[]> {
  const rows = await db
    .selectFrom('payments')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'paid')
    .where('paid_at', '>=', from)
    .where('paid_at', '<', to)
    .orderBy('paid_at')
    .execute();
  return rows.map(paymentOf);
}

/**
 * Grants a paid payment's credit, in the caller's transaction: one ledger row keyed by the payment
 * (so any number of deliveries, on any number of replicas, grant once), the payment marked paid with
 * the PaymentIntent and the amount received. Returns whether this call granted it.
 */
export async function grantPayment(
  trx: Db,
  payment: Payment,
  paid: { paymentIntentId: string | null; amountTotalMinor: number | null },
  at: number,
): Promise<boolean> {
  await trx
    .updateTable('payments')
    .set({
      status: 'paid',
      paid_at: payment.paidAt ?? at,
      failure: null,
      ...(paid.paymentIntentId && !payment.paymentIntentId
        ? { payment_intent_id: paid.paymentIntentId }
        : {}),
      ...(paid.amountTotalMinor !== null ? { amount_total_minor: paid.amountTotalMinor } : {}),
    })
    .where('id', '=', payment.id)
    .execute();
  const reference = paid.paymentIntentId ?? payment.paymentIntentId ?? payment.sessionId ?? payment.id;
  const granted = await appendCredit(trx, {
    tenantId: payment.tenantId,
    kind: 'payment',
    amountMicros: payment.creditsMicros,
    idempotencyKey: `stripe:payment:${payment.id}`,
    actor: 'stripe',
    note: `Card payment ${payment.id} (Stripe ${reference})`,
    at,
  });
  if (granted)
    await recordAudit(
      trx,
      {
        tenantId: payment.tenantId,
        actor: 'stripe',
        action: 'credits.purchased',
        target: payment.id,
        detail: {
          amount: formatMicros(payment.creditsMicros),
          kind: payment.kind,
          stripe_payment_intent: reference,
        },
      },
      at,
    );
  return granted;
}

/**
 * Forgets Stripe events received before `before` (epoch ms). Safe at any age: every movement an event
 * makes is also keyed in the ledger by its payment (refunds by their cumulative total, disputes by
 * their id), so an old event Stripe resends by hand still changes nothing.
 */
export async function pruneStripeEvents(db: Db, before: number): Promise<number> {
  const res = await db.deleteFrom('stripe_events').where('received_at', '<', before).executeTakeFirst();
  return Number(res.numDeletedRows);
}
