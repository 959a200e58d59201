import { z } from 'zod';

const usd = z.string().describe('USD amount as a decimal string with six decimals, e.g. "20.000000"');
const usdInput = z
  .union([z.string().max(24), z.number()])
  .describe('USD of credit in whole cents, e.g. "20" or "20.50"');

export const checkoutRequestSchema = z.object({ amount: usdInput });

export const checkoutResponseSchema = z.object({
  object: z.literal('checkout_session'),
  url: z.string().describe('Stripe Checkout: send the customer there'),
  payment_id: z.string(),
});

export const paymentSchema = z.object({
  id: z.string(),
  object: z.literal('payment'),
  kind: z.enum(['checkout', 'auto']),
  status: z.enum(['pending', 'paid', 'failed', 'expired']),
  credits: usd,
  amount_paid: z
    .number()
    .int()
    .nullable()
    .describe(
      'What the customer paid, taxes included, in the smallest unit of `currency` (cents), once paid',
    ),
  currency: z.string(),
  refunded: usd,
  disputed: usd,
  stripe_payment_intent: z.string().nullable(),
  created: z.number().int(),
  paid_at: z.number().int().nullable(),
});

export const paymentListSchema = z.object({ object: z.literal('list'), data: z.array(paymentSchema) });

export const autoTopUpSchema = z.object({
  object: z.literal('auto_topup'),
  enabled: z.boolean(),
  threshold: usd,
  amount: usd,
  card_saved: z.boolean(),
  failures: z.number().int(),
  max_failures: z.number().int(),
  last_error: z.string().nullable(),
});

export const autoTopUpRequestSchema = z.object({
  enabled: z.boolean(),
  threshold: usdInput.describe('When available credit falls below this (USD)…'),
  amount: usdInput.describe('…this much credit (USD) is bought with the saved card'),
});

export const cardSetupSchema = z.object({
  object: z.literal('checkout_session'),
  url: z.string().describe('Stripe Checkout in setup mode: the customer saves a card there'),
});

export const webhookReceivedSchema = z.object({
  received: z.literal(true),
  outcome: z.enum(['applied', 'duplicate', 'ignored']),
});
