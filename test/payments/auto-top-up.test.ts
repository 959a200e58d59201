/**
 * Auto top-up: a saved card (Checkout in setup mode), "below X add Y", charged off-session through
 * the SDK against the fake Stripe. 20 requests crossing the threshold together on two replicas
 * sharing one PostgreSQL database charge once; a declining card is reported (`payment.failed`, mail)
 * and auto top-up stops after the configured number of failures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { billingConfig, call, chatBody, eventually } from '../billing/billing-harness.js';
import type { TestDialect } from '../support/databases.js';
import { DECLINING_CARD, type FakeStripe, startFakeStripe, stripeEnv } from '../support/fake-stripe.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { type SignedUp, startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';

const PROMPT = 'one two three';
/** 3 prompt + 7 completion tokens at the harness's Qwen price: 117.5 micro-dollars a request. */
const config = (upstream: string): ConfigInput => ({
  ...billingConfig(upstream, { signup: { plan: 'starter', trialCredits: 5.001 } }),
  stripe: { autoTopUp: { maxFailures: 2, retryAfterMs: 0, claimTimeoutMs: 600_000 } },
});

for (const dialect of ['sqlite', 'postgres'] as const) {
  const suite =
    dialect === 'sqlite' ? describe : (name: string, body: () => void) => describeWith('pg', name, body);
  await suite(`auto top-up (${dialect})`, () => {
    let fake: FakeStripe;
    let upstream: FakeUpstream;
    let a: TestGateway;
    /** A second replica on the same database (PostgreSQL), or the same one again (SQLite). */
    let b: TestGateway;

    beforeAll(async () => {
      fake = await startFakeStripe();
      upstream = await startFakeUpstream();
      await upstream.control('words:7');
      const env = stripeEnv(fake);
      a = await startTestGateway({ dialect: dialect as TestDialect, config: config(upstream.v1), env });
      b =
        dialect === 'postgres'
          ? await startTestGateway({
              database: { ...a.database, dataDir: `${a.database.dataDir}-b` },
              config: config(upstream.v1),
              env,
            })
          : a;
    });
    afterAll(async () => {
      if (b !== a) await b?.stop();
      await a?.stop();
      await upstream?.stop();
      await fake?.close();
    });

    const admin = (t: SignedUp, path: string, init: { method?: string; body?: unknown } = {}) =>
      call(`${a.url}/admin/billing${path}`, t.apiKey, init);

    /** Saves `card` through Checkout in setup mode and switches auto top-up on: below 5 USD, add 20. */
    async function setUp(t: SignedUp, card: string): Promise<void> {
      const res = await admin(t, '/auto-topup/card', { method: 'POST' });
      expect(res.status).toBe(200);
      const sessionId = ((await res.json()) as { url: string }).url.split('/').pop()!;
      const payload = JSON.stringify(fake.completeSetup(sessionId, card));
      const hook = await fetch(`${b.url}/stripe/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': fake.sign(payload) },
        body: payload,
      });
      expect(hook.status).toBe(200);
      const on = await admin(t, '/auto-topup', {
        method: 'PUT',
        body: { enabled: true, threshold: '5', amount: '20' },
      });
      expect(on.status, await on.clone().text()).toBe(200);
      expect(await on.json()).toMatchObject({ enabled: true, card_saved: true, threshold: '5.000000' });
    }

    const burst = (t: SignedUp, n: number) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          call(`${(i % 2 ? a : b).v1}/chat/completions`, t.apiKey, {
            body: chatBody('qwen/qwen3-8b', PROMPT, { max_tokens: 10 }),
          }).then((r) => r.status),
        ),
      );

    const intentsOf = (t: SignedUp) =>
      fake.calls.filter(
        (c) =>
          c.method === 'POST' &&
          c.path === '/v1/payment_intents' &&
          (c.body.metadata as Record<string, string> | undefined)?.simo_tenant_id === t.tenantId,
      );

    const settle = async () => {
      for (const gw of new Set([a, b])) {
        await gw.server.container.meter.flush();
        await gw.server.container.payments.drain();
      }
    };

    it('charges once when 20 parallel requests cross the threshold together', async () => {
      const t = await a.signUp();
      await setUp(t, 'pm_card_visa');
      const statuses = await burst(t, 20);
      expect(statuses.every((s) => s === 200)).toBe(true);
      await settle();
      await eventually(async () => (intentsOf(t).length >= 1 ? true : undefined), 10_000);
      await new Promise((r) => setTimeout(r, 500));
      await settle();
      const intents = intentsOf(t);
      expect(intents).toHaveLength(1);
      expect(intents[0]?.body).toMatchObject({
        amount: '2000',
        currency: 'usd',
        off_session: 'true',
        confirm: 'true',
      });
      const balance = (await (await call(`${a.url}/admin/balance`, t.apiKey)).json()) as { balance: string };
      // 5.001 − 20 × 0.0001175 + 20
      expect(balance.balance).toBe('24.998650');
      // Stripe's own word on the charge, delivered twice, grants nothing more.
      const pi = [...fake.paymentIntents.values()].find(
        (p) => (p.metadata as Record<string, string>).simo_tenant_id === t.tenantId,
      )!;
      const payload = JSON.stringify(fake.event('payment_intent.succeeded', pi));
      for (let i = 0; i < 2; i++) {
        const hook = await fetch(`${a.url}/stripe/webhook`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'stripe-signature': fake.sign(payload) },
          body: payload,
        });
        expect(hook.status).toBe(200);
      }
      await settle();
      const again = (await (await call(`${a.url}/admin/balance`, t.apiKey)).json()) as { balance: string };
      expect(again.balance).toBe('24.998650');
      // Still above the threshold: more usage charges nothing.
      await burst(t, 4);
      await settle();
      expect(intentsOf(t)).toHaveLength(1);
      const payments = (await (await admin(t, '/payments')).json()) as {
        data: Array<{ kind: string; status: string }>;
      };
      expect(payments.data).toEqual([expect.objectContaining({ kind: 'auto', status: 'paid' })]);
    });

    it('takes over a charge a replica claimed and abandoned, with the same idempotency key', async () => {
      const t = await a.signUp();
      await setUp(t, 'pm_card_visa');
      // A replica claimed the charge long ago and died before asking Stripe.
      await a.server.container.database.db
        .updateTable('auto_topups')
        .set({ state: 'charging', attempt_id: 'pay_abandoned', claimed_at: 1 })
        .where('tenant_id', '=', t.tenantId)
        .execute();
      await burst(t, 20);
      await settle();
      await eventually(async () => (intentsOf(t).length >= 1 ? true : undefined), 10_000);
      await settle();
      const intents = intentsOf(t);
      expect(intents).toHaveLength(1);
      expect(intents[0]?.idempotencyKey).toBe('auto:pay_abandoned');
      const balance = (await (await call(`${a.url}/admin/balance`, t.apiKey)).json()) as { balance: string };
      expect(balance.balance).toBe('24.998650');
    });

    it('reports a declined card and stops after the configured failures', async () => {
      const t = await a.signUp();
      await setUp(t, DECLINING_CARD);
      for (let round = 0; round < 4; round++) {
        await burst(t, 10);
        await settle();
      }
      expect(intentsOf(t)).toHaveLength(2);
      const view = (await (await admin(t, '/auto-topup')).json()) as Record<string, unknown>;
      expect(view).toMatchObject({ enabled: false, failures: 2, last_error: 'Your card was declined.' });
      const db = a.server.container.database.db;
      const events = await db
        .selectFrom('outbox_events')
        .select('payload')
        .where('tenant_id', '=', t.tenantId)
        .where('type', '=', 'payment.failed')
        .orderBy('created_at')
        .execute();
      expect(
        events.map((e) => (JSON.parse(e.payload) as { data: { stopped: boolean } }).data.stopped),
      ).toEqual([false, true]);
      const mails = await db
        .selectFrom('mail_outbox')
        .select('subject')
        .where('recipient', '=', t.email)
        .execute();
      expect(mails.filter((m) => m.subject.includes('automatic top-up failed'))).toHaveLength(2);
    });
  });
}
