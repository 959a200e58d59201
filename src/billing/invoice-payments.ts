import type { Payment } from '../payments/payment-store.js';
import { formatMicros } from '../shared/money.js';

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

/** The sum of the payments' credits, USD (from their micro-dollars, not their formatted strings). */
export const paymentsTotal = (payments: readonly Payment[]): string =>
  formatMicros(payments.reduce((sum, p) => sum + p.creditsMicros, 0));
