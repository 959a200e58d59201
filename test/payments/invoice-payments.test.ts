/**
 * Monthly invoices list the card payments received in their month next to the usage, and the
 * printable invoice carries the operator's legal details from config.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodAt } from '../../src/billing/periods.js';
import { ADMIN_TOKEN, billingConfig, call, chatBody } from '../billing/billing-harness.js';
import { type FakeStripe, startFakeStripe, stripeEnv } from '../support/fake-stripe.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { movableClock, startTestGateway, type TestGateway } from '../support/gateway.js';

describe('invoices with payments received', () => {
  let fake: FakeStripe;
  let upstream: FakeUpstream;
  let gw: TestGateway;
  const clock = movableClock();

  beforeAll(async () => {
    fake = await startFakeStripe();
    upstream = await startFakeUpstream();
    await upstream.control('words:7');
    gw = await startTestGateway({
      env: stripeEnv(fake),
      clock: clock.now,
      config: {
        ...billingConfig(upstream.v1),
        legal: {
          name: 'Example AI GmbH',
          address: ['Hauptstraße 1', '10115 Berlin', 'Germany'],
          taxId: 'DE123456789',
          registration: 'Amtsgericht Berlin HRB 12345',
        },
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.stop();
    await fake?.close();
  });

  it('keeps exact books when a refund races with spending', async () => {
    const t = await gw.signUp();
    const res = await call(`${gw.url}/admin/billing/checkout`, t.apiKey, { body: { amount: '20' } });
    const sessionId = ((await res.json()) as { url: string }).url.split('/').pop()!;
    const deliver = (event: unknown) => {
      const payload = JSON.stringify(event);
      return fetch(`${gw.url}/stripe/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': fake.sign(payload) },
        body: payload,
      });
    };
    expect((await deliver(fake.completeSession(sessionId))).status).toBe(200);
    const intent = fake.sessions.get(sessionId)?.payment_intent as string;
    const refund = fake.refund(intent, 2000);
    const [statuses, refunded] = await Promise.all([
      Promise.all(
        Array.from({ length: 20 }, () =>
          call(`${gw.v1}/chat/completions`, t.apiKey, {
            body: chatBody('qwen/qwen3-8b', 'one two three', { max_tokens: 10 }),
          }).then((r) => r.status),
        ),
      ),
      deliver(refund),
    ]);
    expect(refunded.status).toBe(200);
    const served = statuses.filter((s) => s === 200).length;
    expect(statuses.every((s) => s === 200 || s === 402)).toBe(true);
    const balance = (await (await call(`${gw.url}/admin/balance`, t.apiKey)).json()) as {
      granted: string;
      consumed: string;
    };
    // Trial 5 + 20 paid − 20 refunded; every served request billed 117.5 micro-dollars, nothing lost.
    expect(balance.granted).toBe('5.000000');
    expect(Math.round(Number(balance.consumed) * 1e6)).toBe(Math.round(served * 117.5));
  });

  it('shows the month’s payments and the operator’s legal details', async () => {
    const t = await gw.signUp();
    const res = await call(`${gw.url}/admin/billing/checkout`, t.apiKey, { body: { amount: '20' } });
    expect(res.status).toBe(200);
    const sessionId = ((await res.json()) as { url: string }).url.split('/').pop()!;
    const payload = JSON.stringify(fake.completeSession(sessionId));
    const hook = await fetch(`${gw.url}/stripe/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': fake.sign(payload) },
      body: payload,
    });
    expect(hook.status).toBe(200);
    const chat = await call(`${gw.v1}/chat/completions`, t.apiKey, {
      body: chatBody('qwen/qwen3-8b', 'one two three', { max_tokens: 10 }),
    });
    expect(chat.status).toBe(200);

    const period = periodAt(Date.now());
    clock.moveTo(period.end + 1000);
    const closed = await call(`${gw.url}/operator/invoices/close`, ADMIN_TOKEN, {
      body: { period: period.id },
    });
    expect(closed.status).toBe(200);
    const list = (await (await call(`${gw.url}/admin/invoices`, t.apiKey)).json()) as {
      data: Array<{
        id: string;
        total: string;
        payments: Array<Record<string, unknown>>;
        payments_total: string;
      }>;
    };
    const invoice = list.data[0]!;
    expect(invoice.payments_total).toBe('20.000000');
    expect(invoice.payments).toEqual([
      expect.objectContaining({ kind: 'checkout', credits: '20.000000', amount_paid: 2000, currency: 'usd' }),
    ]);
    const intent = fake.sessions.get(sessionId)?.payment_intent;
    expect(invoice.payments[0]?.reference).toBe(intent);

    const html = await (await call(`${gw.url}/admin/invoices/${invoice.id}?format=html`, t.apiKey)).text();
    for (const text of [
      'Example AI GmbH',
      '10115 Berlin',
      'Tax ID: DE123456789',
      'HRB 12345',
      'Payments received',
    ])
      expect(html).toContain(text);
    expect(html).toContain(String(intent));
  });
});
