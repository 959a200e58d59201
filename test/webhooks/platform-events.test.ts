import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { movableClock, startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import { api, type Receiver, seedSignatureOk, startReceiver, waitFor } from './support.js';

const ADMIN_TOKEN = 'webhook-test-operator-token';
const periodNow = () => new Date().toISOString().slice(0, 7);

/** Every event of the developer portal, caused through the public API, reaches a receiver signed. */
for (const dialect of ['sqlite', 'postgres'] as const) {
  const run = (name: string, body: () => void) =>
    dialect === 'sqlite' ? body() : describeWith('pg', name, body);
  await run(`documented webhook events end to end (${dialect})`, () => {
    let gw: TestGateway;
    let receiver: Receiver;
    const clock = movableClock();
    beforeAll(async () => {
      receiver = await startReceiver();
      gw = await startTestGateway({
        dialect,
        clock: clock.now,
        config: {
          adminToken: ADMIN_TOKEN,
          providers: [{ id: 'sim', type: 'simulator' }],
          // Expensive enough that one request (~24 tokens, $0.024) crosses both usage thresholds of the
          // trial grant; a balance is never overdrawn, so the thresholds sit below what one request costs.
          models: [
            {
              id: 'qwen/qwen3-8b',
              pricing: { inputPerMTok: 1000, outputPerMTok: 1000 },
              routes: [{ provider: 'sim' }],
            },
          ],
          plans: { starter: { rpm: 10_000 } },
          signup: { plan: 'starter', trialCredits: 1 },
          usageThresholds: [0.01, 0.02],
          auditRules: { contentPatterns: ['exfiltrate'] },
          webhooks: { allowPrivate: true, pollIntervalMs: 40 },
        },
      });
    });
    afterAll(async () => {
      await gw?.stop();
      await receiver?.stop();
    });

    it('delivers key.rotated, usage.threshold_reached, invoice.created and audit.flagged, signed as documented', async () => {
      const t = await gw.signUp();
      const created = await api(gw, t.apiKey, 'POST', '/admin/webhooks', {
        url: receiver.url,
        events: ['key.rotated', 'usage.threshold_reached', 'invoice.created', 'audit.flagged'],
      });
      const secret = created.body.secret as string;

      const rotated = await api(gw, t.apiKey, 'POST', '/admin/keys/rotate');
      expect(rotated.status).toBe(200);
      const key = rotated.body.api_key as string;
      const chat = await fetch(`${gw.v1}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'qwen/qwen3-8b',
          messages: [{ role: 'user', content: 'please exfiltrate the data' }],
        }),
      });
      expect(chat.status).toBe(200);
      await gw.server.container.meter.flush();
      // The month is closed once it is over.
      clock.moveTo(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1, 0, 0, 1));
      const closed = await fetch(`${gw.url}/operator/invoices/close`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ period: periodNow() }),
      });
      expect(closed.status).toBe(200);

      const mine = () => receiver.received.filter((h) => JSON.parse(h.body).tenant_id === t.tenantId);
      const wanted = ['key.rotated', 'usage.threshold_reached', 'invoice.created', 'audit.flagged'];
      const hooks = await waitFor(
        () => {
          const got = mine();
          const count = (type: string) => got.filter((h) => h.headers['x-simo-event'] === type).length;
          // Two usage thresholds are crossed at once: two events.
          return wanted.every((w) => count(w) > 0) && count('usage.threshold_reached') === 2 && got;
        },
        10_000,
        'all four events',
      );
      for (const hook of hooks) {
        expect(seedSignatureOk(hook, secret)).toBe(true);
        const event = new Webhook(secret).verify(hook.body, hook.headers as Record<string, string>) as Record<
          string,
          unknown
        >;
        expect(event).toMatchObject({
          id: hook.headers['webhook-id'],
          type: hook.headers['x-simo-event'],
          tenant_id: t.tenantId,
        });
        expect(typeof event.created).toBe('number');
        // Display prefixes (`sk-simo-AbCd`) may appear; keys never do.
        expect(hook.body).not.toContain(t.apiKey);
        expect(hook.body).not.toContain(key);
        expect(hook.body).not.toMatch(/sk-simo-[0-9A-Za-z]{38}/);
        expect(hook.body).not.toContain('whsec_');
      }
      const thresholds = hooks
        .filter((h) => h.headers['x-simo-event'] === 'usage.threshold_reached')
        .map((h) => JSON.parse(h.body).data.threshold);
      expect(thresholds.sort()).toEqual([0.01, 0.02]);

      const log = await waitFor(async () => {
        const r = await api(gw, key, 'GET', `/admin/webhooks/${created.body.id}/deliveries`);
        return (r.body.data?.length ?? 0) >= hooks.length && r.body.data;
      });
      expect(new Set(log.map((a) => a.event_type))).toEqual(new Set(wanted));
      expect(log.every((a) => a.succeeded === true && a.status_code === 200)).toBe(true);
    });
  });
}
