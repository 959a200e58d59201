/**
 * A local stand-in for the Stripe API, answering the calls the payment flow makes through the
 * official SDK (pointed here with SIMO_STRIPE_API_URL): customers, Checkout Sessions (payment and
 * setup mode), SetupIntents, PaymentIntents (off-session, with cards that decline), and a fake
 * Checkout page at each session's `url`. Idempotency keys are honoured as Stripe does (same key,
 * same answer). Events are built from the stored objects and signed with the SDK's own test helper.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

export const STRIPE_TEST_KEY = 'sk_test_simosphere_fake';
export const STRIPE_WEBHOOK_SECRET = 'whsec_simosphere_test_secret';
/** A card that always declines off-session. */
export const DECLINING_CARD = 'pm_card_chargeDeclined';

type Obj = Record<string, unknown>;

/** `a[b][0][c]=x` form bodies (what the SDK sends) → nested objects and arrays. */
export function parseStripeForm(text: string): Obj {
  const root: Obj = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const parts = rawKey.split(/\[|\]\[|\]/).filter((p) => p !== '');
    let node: Obj = root;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) {
        node[part] = value;
        return;
      }
      const next = parts[i + 1]!;
      node[part] ??= /^\d+$/.test(next) ? [] : {};
      node = node[part] as Obj;
    });
  }
  return root;
}

export interface FakeStripe {
  url: string;
  /** Every API call: method, path and parsed body. */
  calls: Array<{ method: string; path: string; body: Obj; idempotencyKey: string | undefined }>;
  sessions: Map<string, Obj>;
  paymentIntents: Map<string, Obj>;
  /** PaymentIntents created (idempotent replays not counted). */
  paymentIntentsCreated(): number;
  /** Marks a Checkout Session paid (what the customer does on Checkout) and returns its completion event. */
  completeSession(sessionId: string, opts?: { amountSubtotal?: number }): Stripe.Event;
  /** A setup session completed with a saved card. */
  completeSetup(sessionId: string, paymentMethod?: string): Stripe.Event;
  /** A refund of part (or all) of a PaymentIntent's charge: `charge.refunded` with the cumulative amount. */
  refund(paymentIntentId: string, amountRefunded: number): Stripe.Event;
  dispute(paymentIntentId: string, amount?: number): Stripe.Event;
  event(type: string, object: Obj): Stripe.Event;
  /** Signs a payload as Stripe would (the SDK's test-header helper). */
  sign(payload: string, secret?: string): string;
  close(): Promise<void>;
}

export async function startFakeStripe(): Promise<FakeStripe> {
  let seq = 0;
  const id = (prefix: string) => `${prefix}_fake${(++seq).toString().padStart(6, '0')}`;
  const calls: FakeStripe['calls'] = [];
  const customers = new Map<string, Obj>();
  const sessions = new Map<string, Obj>();
  const setupIntents = new Map<string, Obj>();
  const paymentIntents = new Map<string, Obj>();
  const charges = new Map<string, Obj>();
  const idempotent = new Map<string, { status: number; body: Obj }>();
  let created = 0;
  let base = '';

  const route = (method: string, path: string, body: Obj): { status: number; body: Obj } => {
    const get = (pattern: RegExp, store: Map<string, Obj>) => {
      const m = method === 'GET' ? pattern.exec(path) : null;
      if (!m) return undefined;
      const found = store.get(m[1]!);
      return found ? { status: 200, body: found } : notFound();
    };
    if (method === 'POST' && path === '/v1/customers') {
      const c = {
        id: id('cus'),
        object: 'customer',
        email: body.email ?? null,
        metadata: body.metadata ?? {},
      };
      customers.set(c.id, c);
      return { status: 200, body: c };
    }
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      const sid = id('cs_test');
      const items = (body.line_items as Obj[] | undefined) ?? [];
      const subtotal = items.reduce(
        (s, li) =>
          s + Number((li.price_data as Obj | undefined)?.unit_amount ?? 0) * Number(li.quantity ?? 1),
        0,
      );
      const session: Obj = {
        id: sid,
        object: 'checkout.session',
        mode: body.mode,
        status: 'open',
        payment_status: body.mode === 'setup' ? 'no_payment_required' : 'unpaid',
        customer: body.customer ?? null,
        client_reference_id: body.client_reference_id ?? null,
        currency:
          (body.currency as string | undefined) ??
          (items[0]?.price_data as Obj | undefined)?.currency ??
          null,
        amount_subtotal: body.mode === 'setup' ? null : subtotal,
        amount_total: body.mode === 'setup' ? null : subtotal,
        metadata: body.metadata ?? {},
        payment_intent: null,
        setup_intent: null,
        success_url: body.success_url,
        cancel_url: body.cancel_url,
        url: `${base}/checkout/${sid}`,
      };
      sessions.set(sid, session);
      return { status: 200, body: session };
    }
    const read =
      get(/^\/v1\/checkout\/sessions\/([^/]+)$/, sessions) ??
      get(/^\/v1\/setup_intents\/([^/]+)$/, setupIntents) ??
      get(/^\/v1\/payment_intents\/([^/]+)$/, paymentIntents);
    if (read) return read;
    if (method === 'POST' && path === '/v1/payment_intents') {
      created++;
      const pi: Obj = {
        id: id('pi'),
        object: 'payment_intent',
        amount: Number(body.amount),
        amount_received: 0,
        currency: body.currency,
        customer: body.customer ?? null,
        payment_method: body.payment_method ?? null,
        metadata: body.metadata ?? {},
        status: 'requires_payment_method',
        last_payment_error: null,
      };
      paymentIntents.set(pi.id as string, pi);
      if (body.payment_method === DECLINING_CARD) {
        pi.last_payment_error = { code: 'card_declined', message: 'Your card was declined.' };
        return {
          status: 402,
          body: {
            error: {
              type: 'card_error',
              code: 'card_declined',
              decline_code: 'generic_decline',
              message: 'Your card was declined.',
              payment_intent: pi,
            },
          },
        };
      }
      pi.status = 'succeeded';
      pi.amount_received = pi.amount;
      const charge = newCharge(pi);
      pi.latest_charge = charge.id;
      return { status: 200, body: pi };
    }
    return notFound();
  };

  const notFound = () => ({
    status: 404,
    body: { error: { type: 'invalid_request_error', message: 'No such resource (fake Stripe).' } },
  });

  const newCharge = (pi: Obj): Obj => {
    const charge: Obj = {
      id: id('ch'),
      object: 'charge',
      amount: pi.amount,
      amount_refunded: 0,
      currency: pi.currency,
      payment_intent: pi.id,
      refunded: false,
      metadata: pi.metadata,
    };
    charges.set(charge.id as string, charge);
    return charge;
  };

  const checkoutPage = (res: ServerResponse, sid: string) => {
    const session = sessions.get(sid);
    res
      .writeHead(session ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' })
      .end(
        `<!doctype html><link rel="icon" href="data:,"><title>Fake Stripe Checkout</title><h1 data-testid="fake-checkout">Fake Checkout ${sid}</h1><p data-testid="fake-amount">${session?.amount_total ?? ''} ${session?.currency ?? ''}</p>`,
      );
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const checkout = /^\/checkout\/([^/]+)$/.exec(url.pathname);
      if (req.method === 'GET' && checkout) return checkoutPage(res, checkout[1]!);
      const text = Buffer.concat(chunks).toString('utf8');
      const body = req.method === 'GET' ? parseStripeForm(url.search.slice(1)) : parseStripeForm(text);
      const key = req.headers['idempotency-key'] as string | undefined;
      calls.push({ method: req.method ?? 'GET', path: url.pathname, body, idempotencyKey: key });
      const authorized = req.headers.authorization === `Bearer ${STRIPE_TEST_KEY}`;
      let answer: { status: number; body: Obj };
      if (!authorized)
        answer = {
          status: 401,
          body: { error: { type: 'invalid_request_error', message: 'Invalid API Key.' } },
        };
      else if (key && idempotent.has(`${req.method} ${url.pathname} ${key}`))
        answer = idempotent.get(`${req.method} ${url.pathname} ${key}`)!;
      else {
        answer = route(req.method ?? 'GET', url.pathname, body);
        if (key) idempotent.set(`${req.method} ${url.pathname} ${key}`, answer);
      }
      res.writeHead(answer.status, { 'content-type': 'application/json', 'request-id': id('req') });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const event = (type: string, object: Obj): Stripe.Event =>
    ({
      id: id('evt'),
      object: 'event',
      api_version: '2026-10-28.endive',
      created: Math.floor(Date.now() / 1000),
      type,
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      data: { object: structuredClone(object) },
    }) as unknown as Stripe.Event;

  return {
    url: base,
    calls,
    sessions,
    paymentIntents,
    paymentIntentsCreated: () => created,
    completeSession(sessionId, opts = {}) {
      const s = sessions.get(sessionId);
      if (!s) throw new Error(`unknown session ${sessionId}`);
      if (!s.payment_intent) {
        const pi: Obj = {
          id: id('pi'),
          object: 'payment_intent',
          amount: s.amount_total,
          amount_received: s.amount_total,
          currency: s.currency,
          customer: s.customer,
          metadata: s.metadata,
          status: 'succeeded',
        };
        paymentIntents.set(pi.id as string, pi);
        pi.latest_charge = newCharge(pi).id;
        s.payment_intent = pi.id;
      }
      s.status = 'complete';
      s.payment_status = 'paid';
      if (opts.amountSubtotal !== undefined) s.amount_subtotal = opts.amountSubtotal;
      return event('checkout.session.completed', s);
    },
    completeSetup(sessionId, paymentMethod = 'pm_card_visa') {
      const s = sessions.get(sessionId);
      if (!s) throw new Error(`unknown session ${sessionId}`);
      const si: Obj = {
        id: id('seti'),
        object: 'setup_intent',
        status: 'succeeded',
        customer: s.customer,
        payment_method: paymentMethod,
      };
      setupIntents.set(si.id as string, si);
      s.setup_intent = si.id;
      s.status = 'complete';
      return event('checkout.session.completed', s);
    },
    refund(paymentIntentId, amountRefunded) {
      const pi = paymentIntents.get(paymentIntentId);
      const charge = [...charges.values()].find((c) => c.payment_intent === paymentIntentId);
      if (!pi || !charge) throw new Error(`no charge for ${paymentIntentId}`);
      charge.amount_refunded = amountRefunded;
      charge.refunded = amountRefunded >= Number(charge.amount);
      return event('charge.refunded', charge);
    },
    dispute(paymentIntentId, amount) {
      const charge = [...charges.values()].find((c) => c.payment_intent === paymentIntentId);
      if (!charge) throw new Error(`no charge for ${paymentIntentId}`);
      return event('charge.dispute.created', {
        id: id('dp'),
        object: 'dispute',
        amount: amount ?? charge.amount,
        charge: charge.id,
        payment_intent: paymentIntentId,
        currency: charge.currency,
        reason: 'fraudulent',
        status: 'needs_response',
      });
    },
    event,
    sign: (payload, secret = STRIPE_WEBHOOK_SECRET) =>
      Stripe.webhooks.generateTestHeaderString({ payload, secret }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The environment that points a SIMOSphere server at a fake Stripe. */
export const stripeEnv = (fake: FakeStripe): Record<string, string> => ({
  SIMO_STRIPE_SECRET_KEY: STRIPE_TEST_KEY,
  SIMO_STRIPE_WEBHOOK_SECRET: STRIPE_WEBHOOK_SECRET,
  SIMO_STRIPE_API_URL: fake.url,
});
