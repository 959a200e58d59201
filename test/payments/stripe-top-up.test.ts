import type { FastifyInstance } from 'fastify';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneStripeEvents } from '../../src/payments/payment-store.js';
import { startTestApp, type TestApp } from '../support/app.js';
import {
  type FakeStripe,
  STRIPE_WEBHOOK_SECRET,
  startFakeStripe,
  stripeEnv,
} from '../support/fake-stripe.js';
import type { SignedUp } from '../support/gateway.js';

/**
 * Buying credits through Stripe Checkout, with the official SDK pointed at a local fake Stripe and
 * webhook events signed by the SDK's own test helper: granted exactly once whatever is replayed,
 * refused when forged, taken back (and flagged) when refunded or disputed, in any order.
 */
let fake: FakeStripe;
let t: TestApp;
let app: FastifyInstance;

const auth = (s: SignedUp) => ({ authorization: `Bearer ${s.apiKey}` });

async function balance(s: SignedUp): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/admin/balance', headers: auth(s) });
  return (res.json() as { balance: string }).balance;
}

async function checkout(s: SignedUp, amount: unknown) {
  return app.inject({
    method: 'POST',
    url: '/admin/billing/checkout',
    headers: auth(s),
    payload: { amount },
  });
}

/** Delivers an event as Stripe does: the raw JSON body with its signature header. */
function deliver(event: Stripe.Event | string, signature?: string) {
  const payload = typeof event === 'string' ? event : JSON.stringify(event);
  return app.inject({
    method: 'POST',
    url: '/stripe/webhook',
    headers: { 'content-type': 'application/json', 'stripe-signature': signature ?? fake.sign(payload) },
    payload,
  });
}

/** Starts a top-up and returns its session id (the last path segment of the Checkout URL). */
async function startTopUp(s: SignedUp, amount: string): Promise<string> {
  const res = await checkout(s, amount);
  expect(res.statusCode, res.body).toBe(200);
  const { url } = res.json() as { url: string };
  expect(url.startsWith(`${fake.url}/checkout/`)).toBe(true);
  return url.split('/').pop()!;
}

beforeAll(async () => {
  fake = await startFakeStripe();
  t = await startTestApp({ env: stripeEnv(fake), config: { signup: { trialCredits: 0 } } });
  app = t.app;
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

describe('top-up with Stripe Checkout', () => {
  it('asks Stripe for exactly the amount chosen, and grants it once however often the event comes', async () => {
    const s = await t.signUp();
    const sessionId = await startTopUp(s, '20');
    const created = fake.calls.find(
      (c) => c.path === '/v1/checkout/sessions' && c.body.client_reference_id === s.tenantId,
    );
    expect(created?.idempotencyKey).toMatch(/^checkout:/);
    const item = (
      created!.body.line_items as Array<{ price_data: { unit_amount: string; currency: string } }>
    )[0];
    expect(item?.price_data).toMatchObject({ unit_amount: '2000', currency: 'usd' });
    expect(await balance(s)).toBe('0.000000');

    const event = fake.completeSession(sessionId);
    const first = await deliver(event);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ received: true, outcome: 'applied' });
    expect(await balance(s)).toBe('20.000000');

    // The same event again, and ten times at once.
    expect((await deliver(event)).json()).toMatchObject({ outcome: 'duplicate' });
    const burst = await Promise.all(Array.from({ length: 10 }, () => deliver(event)));
    for (const r of burst) expect(r.statusCode).toBe(200);
    // Other events about the same session (Stripe sends a fresh id on a retried send): still once.
    const others = await Promise.all(
      Array.from({ length: 10 }, () => deliver(fake.completeSession(sessionId))),
    );
    for (const r of others) expect(r.statusCode).toBe(200);
    expect(await balance(s)).toBe('20.000000');
    // Event ids are pruned after months; an old event resent by hand still grants nothing.
    await pruneStripeEvents(t.container.database.db, Date.now() + 1000);
    expect((await deliver(event)).json()).toMatchObject({ outcome: 'applied' });
    expect(await balance(s)).toBe('20.000000');

    const ledger = await t.container.database.db
      .selectFrom('credit_ledger')
      .selectAll()
      .where('tenant_id', '=', s.tenantId)
      .where('kind', '=', 'payment')
      .execute();
    expect(ledger).toHaveLength(1);
    const intent = fake.sessions.get(sessionId)?.payment_intent as string;
    expect(ledger[0]?.note).toContain(intent);

    const payments = await app.inject({ method: 'GET', url: '/admin/billing/payments', headers: auth(s) });
    expect(payments.json()).toMatchObject({
      data: [{ status: 'paid', credits: '20.000000', amount_paid: 2000, stripe_payment_intent: intent }],
    });
  });

  it('refuses a forged, tampered, stale or missing signature with 400 and grants nothing', async () => {
    const s = await t.signUp();
    const sessionId = await startTopUp(s, '50');
    const event = fake.completeSession(sessionId);
    const payload = JSON.stringify(event);
    const forged = await deliver(payload, fake.sign(payload, 'whsec_not_the_secret'));
    expect(forged.statusCode).toBe(400);
    expect(forged.json()).toMatchObject({ error: { code: 'invalid_signature', param: 'Stripe-Signature' } });
    const tampered = payload.replace('"amount_subtotal":5000', '"amount_subtotal":5001');
    expect((await deliver(tampered, fake.sign(payload))).statusCode).toBe(400);
    const old = Math.floor(Date.now() / 1000) - 3600;
    const stale = `t=${old},v1=${(await import('node:crypto')).createHmac('sha256', STRIPE_WEBHOOK_SECRET).update(`${old}.${payload}`).digest('hex')}`;
    expect((await deliver(payload, stale)).statusCode).toBe(400);
    const missing = await app.inject({
      method: 'POST',
      url: '/stripe/webhook',
      headers: { 'content-type': 'application/json' },
      payload,
    });
    expect(missing.statusCode).toBe(400);
    expect(await balance(s)).toBe('0.000000');
    // The genuine delivery still works afterwards: refused ones left no trace.
    expect((await deliver(event)).json()).toMatchObject({ outcome: 'applied' });
    expect(await balance(s)).toBe('50.000000');
  });

  it('grants what was asked for, never what a changed session says, and refuses amounts out of range', async () => {
    const s = await t.signUp();
    for (const amount of ['0', '-20', '4.99', '1000.01', '20.001', 'twenty', 1e21, null]) {
      const res = await checkout(s, amount);
      expect(res.statusCode, `${amount}: ${res.body}`).toBe(400);
    }
    const sessionId = await startTopUp(s, '10');
    const changed = fake.completeSession(sessionId, { amountSubtotal: 100 });
    expect((await deliver(changed)).statusCode).toBe(200);
    expect(await balance(s)).toBe('0.000000');
    // A session that is not ours (another integration on the account) is acknowledged and ignored.
    const foreign = fake.event('checkout.session.completed', {
      id: 'cs_foreign',
      object: 'checkout.session',
      mode: 'payment',
      payment_status: 'paid',
      metadata: {},
    });
    expect((await deliver(foreign)).json()).toMatchObject({ outcome: 'ignored' });
  });

  it('takes back refunded and disputed credit once, flags the tenant, and copes with any order', async () => {
    const s = await t.signUp();
    const sessionId = await startTopUp(s, '40');
    const completed = fake.completeSession(sessionId);
    const intent = fake.sessions.get(sessionId)?.payment_intent as string;
    // The refund of half arrives before the payment's own completion event.
    const half = fake.refund(intent, 2000);
    expect((await deliver(half)).json()).toMatchObject({ outcome: 'applied' });
    expect(await balance(s)).toBe('-20.000000');
    expect((await deliver(completed)).json()).toMatchObject({ outcome: 'applied' });
    expect(await balance(s)).toBe('20.000000');
    // The whole refund, delivered concurrently, then the older half-refund event once more.
    const whole = fake.refund(intent, 4000);
    await Promise.all(Array.from({ length: 5 }, () => deliver(whole)));
    expect(await balance(s)).toBe('0.000000');
    const lateHalf = fake.event('charge.refunded', { ...(half.data.object as object) });
    expect((await deliver(lateHalf)).statusCode).toBe(200);
    expect(await balance(s)).toBe('0.000000');
    // A dispute on a fully refunded payment has nothing left to take back.
    expect((await deliver(fake.dispute(intent))).statusCode).toBe(200);
    expect(await balance(s)).toBe('0.000000');

    const audit = await app.inject({ method: 'GET', url: '/admin/audit', headers: auth(s) });
    const actions = (audit.json() as { data: Array<{ action: string; detail: { rule?: string } }> }).data;
    const flags = actions.filter((a) => a.action === 'audit.flagged').map((a) => a.detail.rule);
    expect(flags).toEqual(['payment_refunded', 'payment_refunded']);
    expect(actions.some((a) => a.action === 'credits.purchased')).toBe(true);
  });

  it('takes back a disputed payment and flags it', async () => {
    const s = await t.signUp();
    const sessionId = await startTopUp(s, '25');
    await deliver(fake.completeSession(sessionId));
    const intent = fake.sessions.get(sessionId)?.payment_intent as string;
    const dispute = fake.dispute(intent);
    await Promise.all([deliver(dispute), deliver(dispute)]);
    expect(await balance(s)).toBe('0.000000');
    const flags = await t.container.database.db
      .selectFrom('audit_flags')
      .select('rule')
      .where('tenant_id', '=', s.tenantId)
      .execute();
    expect(flags.map((f) => f.rule)).toEqual(['payment_disputed']);
    const events = await t.container.database.db
      .selectFrom('outbox_events')
      .select('type')
      .where('tenant_id', '=', s.tenantId)
      .where('type', '=', 'audit.flagged')
      .execute();
    expect(events).toHaveLength(1);
  });
});

describe('when Stripe refuses or cannot be reached', () => {
  it('answers 502 and charges nothing', async () => {
    const wrongKey = await startTestApp({
      env: { ...stripeEnv(fake), SIMO_STRIPE_SECRET_KEY: 'sk_test_not_the_right_key' },
    });
    try {
      const s = await wrongKey.signUp();
      const res = await wrongKey.app.inject({
        method: 'POST',
        url: '/admin/billing/checkout',
        headers: auth(s),
        payload: { amount: '20' },
      });
      expect(res.statusCode, res.body).toBe(502);
      expect(res.json()).toMatchObject({ error: { code: 'upstream_error' } });
    } finally {
      await wrongKey.close();
    }
  });
});

describe('without Stripe configured', () => {
  it('keeps the routes but says whom to write to, and refuses webhook calls', async () => {
    const plain = await startTestApp();
    try {
      const s = await plain.signUp();
      const res = await plain.app.inject({
        method: 'POST',
        url: '/admin/billing/checkout',
        headers: auth(s),
        payload: { amount: '20' },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'payments_not_configured' } });
      expect((res.json() as { error: { message: string } }).error.message).toContain(
        plain.container.config.brand.supportEmail,
      );
      const hook = await plain.app.inject({
        method: 'POST',
        url: '/stripe/webhook',
        headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' },
        payload: '{}',
      });
      expect(hook.statusCode).toBe(400);
      // The credits page offers no card payment and names the operator's contact instead.
      const login = await plain.app.inject({
        method: 'POST',
        url: '/login',
        payload: { email: s.email, password: s.password },
      });
      const cookie = login.cookies.find((c) => c.name === 'simo_session');
      const page = await plain.app.inject({
        method: 'GET',
        url: '/dashboard/billing',
        headers: { cookie: `simo_session=${cookie?.value}` },
      });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('data-testid="buy-credits-contact"');
      expect(page.body).toContain(`mailto:${plain.container.config.brand.supportEmail}`);
      expect(page.body).not.toContain('topup-form');
    } finally {
      await plain.close();
    }
  });
});
