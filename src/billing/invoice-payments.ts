import { type Payment, paymentsReceived } from '../payments/payment-store.js';
import type { Db } from '../shared/db.js';
import { formatMicros, parseUsdToMicros } from '../shared/money.js';

/** A payment received within an invoice's period, as the invoice lists it. */
export interface InvoicePayment {
  payment_id: string;
  /** Unix seconds. */
  paid_at: number;
  kind: 'checkout' | 'auto';
  /** USD of credit bought. */
  credits: string;
  /** What the customer paid (taxes included), in the smallest unit of `currency`. */
  amount_paid: number | null;
  currency: string;
  /** The Stripe PaymentIntent. */
  reference: string | null;
  /** USD of credit taken back since (refunds and disputes). */
  reversed: string;
}

export const invoicePaymentOf = (p: Payment): InvoicePayment => ({
  payment_id: p.id,
  paid_at: Math.floor((p.paidAt ?? p.createdAt) / 1000),
  kind: p.kind,
  credits: formatMicros(p.creditsMicros),
  amount_paid: p.amountTotalMinor,
  currency: p.currency,
  reference: p.paymentIntentId,
  reversed: formatMicros(p.refundedMicros + p.disputedMicros),
});

/** Payments a tenant received between two times (epoch ms, end exclusive), oldest first. */
export async function paymentsBetween(
  db: Db,
  tenantId: string,
  from: number,
  to: number,
): Promise<InvoicePayment[]> {
  return (await paymentsReceived(db, tenantId, from, to)).map(invoicePaymentOf);
}

/** The sum of the payments' credits, USD. */
export const paymentsTotal = (payments: readonly InvoicePayment[]): string =>
  formatMicros(payments.reduce((sum, p) => sum + (parseUsdToMicros(p.credits) ?? 0), 0));
