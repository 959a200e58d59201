import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Container } from '../container.js';
import { defineRoute, publicRoute } from '../http/define-route.js';
import { type TenantAuthDeps, tenantActor, tenantGuard } from '../http/tenant-auth.js';
import { ApiError } from '../shared/errors.js';
import { formatMicros } from '../shared/money.js';
import type { StripePayments } from './index.js';
import {
  autoTopUpRequestSchema,
  autoTopUpSchema,
  cardSetupSchema,
  checkoutRequestSchema,
  checkoutResponseSchema,
  paymentListSchema,
  webhookReceivedSchema,
} from './payment-schemas.js';
import { listPayments, type Payment } from './payment-store.js';
import { isStripeError, verifyStripeEvent } from './stripe-client.js';

/** The tenant guard, Stripe payments and the payments table. */
export type PaymentRouteDeps = Pick<Container, 'config' | 'database' | 'payments'> & TenantAuthDeps;

const TAGS = ['Billing'];

/** Stripe's webhook bodies are small; anything larger is not Stripe. */
const WEBHOOK_BODY_LIMIT = 512 * 1024;

/** A payment as `GET /admin/billing/payments` shows it. */
export const paymentView = (p: Payment) => ({
  id: p.id,
  object: 'payment' as const,
  kind: p.kind,
  status: p.status,
  credits: formatMicros(p.creditsMicros),
  amount_paid: p.amountTotalMinor,
  currency: p.currency,
  refunded: formatMicros(p.refundedMicros),
  disputed: formatMicros(p.disputedMicros),
  stripe_payment_intent: p.paymentIntentId,
  created: Math.floor(p.createdAt / 1000),
  paid_at: p.paidAt === null ? null : Math.floor(p.paidAt / 1000),
});

/**
 * Card payments: a tenant's top-ups at Stripe Checkout, its payments, auto top-up, and Stripe's own
 * webhook. The routes exist whether or not Stripe is configured; without it they say so (400).
 */
export function registerPaymentRoutes(app: FastifyInstance, deps: PaymentRouteDeps): void {
  const tenant = tenantGuard(deps);
  const stripe = (): StripePayments => {
    const configured = deps.payments.stripe;
    if (!configured)
      throw new ApiError(
        'payments_not_configured',
        `Card payments are not set up on this platform. For credits write to ${deps.config.brand.supportEmail}.`,
      );
    return configured;
  };

  defineRoute(app, {
    method: 'POST',
    url: '/admin/billing/checkout',
    guard: tenant,
    doc: {
      summary: 'Buy credits: start a Stripe Checkout Session and get its URL',
      description:
        'Send the customer to `url`. The credits are granted once Stripe confirms the payment (webhook), exactly once. The amount must lie within the operator’s minimum and maximum. Owners and billing members only.',
      tags: TAGS,
    },
    schema: { body: checkoutRequestSchema, response: { 200: checkoutResponseSchema } },
    handler: async (request) => {
      const payments = stripe();
      const started = await viaStripe(request, () =>
        payments.checkout.topUp(request.auth.tenant.id, request.body.amount, tenantActor(request)),
      );
      return { object: 'checkout_session' as const, ...started };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/admin/billing/payments',
    guard: tenant,
    doc: {
      summary: 'Card payments, newest first',
      description:
        'Top-ups paid through Stripe Checkout and automatic top-ups, with what was refunded or disputed.',
      tags: TAGS,
    },
    schema: { response: { 200: paymentListSchema } },
    handler: async (request) => ({
      object: 'list' as const,
      data: (await listPayments(deps.database.db, request.auth.tenant.id)).map(paymentView),
    }),
  });

  defineRoute(app, {
    method: 'GET',
    url: '/admin/billing/auto-topup',
    guard: tenant,
    doc: {
      summary: 'Auto top-up settings',
      description: 'Whether a card is saved, the threshold and amount, and recent failures.',
      tags: TAGS,
    },
    schema: { response: { 200: autoTopUpSchema } },
    handler: async (request) => stripe().autoTopUp.view(request.auth.tenant.id),
  });

  defineRoute(app, {
    method: 'PUT',
    url: '/admin/billing/auto-topup',
    guard: tenant,
    doc: {
      summary: 'Set auto top-up: when available credit falls below `threshold`, buy `amount`',
      description:
        'The saved card is charged off-session once per crossing. After the configured number of failed charges in a row, auto top-up switches itself off (`payment.failed` webhook and mail). Owners and billing members only.',
      tags: TAGS,
    },
    schema: { body: autoTopUpRequestSchema, response: { 200: autoTopUpSchema } },
    handler: async (request) => stripe().autoTopUp.configure(request.auth.tenant.id, request.body),
  });

  defineRoute(app, {
    method: 'POST',
    url: '/admin/billing/auto-topup/card',
    guard: tenant,
    doc: {
      summary: 'Save a card for auto top-up (Stripe Checkout in setup mode)',
      description: 'Send the customer to `url`; the card is stored once Stripe confirms it (webhook).',
      tags: TAGS,
    },
    schema: { response: { 200: cardSetupSchema } },
    handler: async (request) => {
      const payments = stripe();
      const started = await viaStripe(request, () => payments.checkout.saveCard(request.auth.tenant.id));
      return { object: 'checkout_session' as const, ...started };
    },
  });

  // Stripe signs the exact bytes it sent: this route reads its body raw, in a scope of its own.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_r, body, done) =>
      done(null, body),
    );
    defineRoute(scope, {
      method: 'POST',
      url: '/stripe/webhook',
      guard: publicRoute,
      doc: {
        summary: 'Stripe webhook endpoint (signed by Stripe)',
        description:
          'Point a Stripe webhook endpoint here. Each event is verified with its `Stripe-Signature` header and applied once; a forged or stale signature is refused with 400.',
        tags: TAGS,
      },
      schema: { response: { 200: webhookReceivedSchema } },
      handler: async (request) => {
        const payments = stripe();
        const event = verified(request, payments.webhookSecret);
        const outcome = await payments.events.handle(event);
        request.log.info({ stripeEvent: event.id, type: event.type, outcome }, 'Stripe event');
        return { received: true as const, outcome };
      },
    });
  });
}

/** A call to Stripe that failed (unreachable, refused our request) is a 502 for the client, logged here. */
async function viaStripe<T>(request: FastifyRequest, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!isStripeError(err)) throw err;
    request.log.error(
      { err: err.message, type: err.type, stripeRequest: err.requestId },
      'Stripe call failed',
    );
    throw new ApiError(
      'upstream_error',
      'The payment provider could not be reached, or refused the request. Nothing was charged; try again later.',
    );
  }
}

function verified(request: FastifyRequest, secret: string) {
  const signature = request.headers['stripe-signature'];
  const body = request.body;
  if (typeof signature !== 'string' || !Buffer.isBuffer(body))
    throw new ApiError('invalid_signature', 'The Stripe-Signature header is missing.', 'Stripe-Signature');
  try {
    return verifyStripeEvent(body, signature, secret);
  } catch {
    throw new ApiError(
      'invalid_signature',
      'The Stripe-Signature header does not match the body (or is too old).',
      'Stripe-Signature',
    );
  }
}
