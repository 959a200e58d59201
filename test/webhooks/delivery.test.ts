import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedUp, startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import {
  api,
  enqueue,
  fastWebhooks,
  type Receiver,
  seedSignatureOk,
  startReceiver,
  waitFor,
} from './support.js';

for (const dialect of ['sqlite', 'postgres'] as const) {
  const run = (name: string, body: () => void) =>
    dialect === 'sqlite' ? body() : describeWith('pg', name, body);
  await run(`webhook delivery (${dialect})`, () => {
    let gw: TestGateway;
    let receiver: Receiver;
    let tenant: SignedUp;
    let webhookId: string;
    let secret: string;

    beforeAll(async () => {
      receiver = await startReceiver();
      gw = await startTestGateway({ dialect, config: fastWebhooks });
      tenant = await gw.signUp();
      const created = await api(gw, tenant.apiKey, 'POST', '/admin/webhooks', {
        url: receiver.url,
        events: ['key.rotated', 'usage.threshold_reached', 'invoice.created', 'audit.flagged'],
        description: 'tests',
      });
      expect(created.status).toBe(201);
      webhookId = created.body.id as string;
      secret = created.body.secret as string;
    });
    afterAll(async () => {
      await gw?.stop();
      await receiver?.stop();
    });

    const hooksFor = (eventId: string) =>
      receiver.received.filter((h) => h.headers['webhook-id'] === eventId);

    it('shows a whsec_ secret once and never again', async () => {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
      expect(Buffer.from(secret.slice(6), 'base64').length).toBe(32);
      const list = await api(gw, tenant.apiKey, 'GET', '/admin/webhooks');
      expect(list.status).toBe(200);
      expect(list.body.data).toHaveLength(1);
      expect(list.body.data![0]).toMatchObject({ id: webhookId, status: 'enabled', url: receiver.url });
      expect(JSON.stringify(list.body)).not.toContain('whsec_');
      const stored = await gw.server.container.database.db.selectFrom('webhooks').selectAll().execute();
      expect(JSON.stringify(stored)).not.toContain(secret.slice(6));
    });

    it('delivers an outbox event signed both ways (Standard Webhooks + seed HMAC)', async () => {
      const event = await enqueue(gw, tenant.tenantId, 'key.rotated', {
        key_id: 'key_x',
        prefix: 'sk-simo-AbCd',
      });
      const [hook] = await waitFor(
        () => hooksFor(event.id).length > 0 && hooksFor(event.id),
        8000,
        'delivery',
      );
      expect(hook!.headers['content-type']).toBe('application/json');
      expect(hook!.headers['x-simo-event']).toBe('key.rotated');
      expect(JSON.parse(hook!.body)).toEqual(event);
      expect(seedSignatureOk(hook!, secret)).toBe(true);
      expect(seedSignatureOk(hook!, `${secret}x`)).toBe(false);
      const verified = new Webhook(secret).verify(hook!.body, hook!.headers as Record<string, string>);
      expect(verified).toEqual(event);
      const ts = Number(hook!.headers['webhook-timestamp']);
      expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(5);
      // A tampered body fails verification.
      expect(() =>
        new Webhook(secret).verify(`${hook!.body} `, hook!.headers as Record<string, string>),
      ).toThrow();
    });

    it('does not deliver event types the endpoint did not subscribe to, nor other tenants’ events', async () => {
      const other = await gw.signUp();
      const e1 = await enqueue(gw, tenant.tenantId, 'webhook.test', {});
      const e2 = await enqueue(gw, other.tenantId, 'key.rotated', {});
      const e3 = await enqueue(gw, tenant.tenantId, 'invoice.created', { invoice_id: 'inv_1' });
      await waitFor(() => hooksFor(e3.id).length > 0, 8000, 'delivery');
      expect(hooksFor(e1.id)).toHaveLength(0);
      expect(hooksFor(e2.id)).toHaveLength(0);
    });

    it('retries after a 500 with the same webhook-id, and logs both attempts', async () => {
      receiver.reply({ status: 500 });
      const event = await enqueue(gw, tenant.tenantId, 'usage.threshold_reached', { fraction: 0.5 });
      const hooks = await waitFor(() => hooksFor(event.id).length >= 2 && hooksFor(event.id), 8000, 'retry');
      expect(hooks.map((h) => h.headers['webhook-id'])).toEqual([event.id, event.id]);
      for (const h of hooks)
        expect(new Webhook(secret).verify(h.body, h.headers as Record<string, string>)).toEqual(event);
      const log = await waitFor(async () => {
        const r = await api(
          gw,
          tenant.apiKey,
          'GET',
          `/admin/webhooks/${webhookId}/deliveries?event_id=${event.id}`,
        );
        return r.body.data?.length === 2 && r.body.data[0]?.delivery_status === 'succeeded' && r.body.data;
      });
      expect(log[1]).toMatchObject({
        attempt: 1,
        status_code: 500,
        succeeded: false,
        error: 'HTTP 500',
        event_type: 'usage.threshold_reached',
      });
      expect(log[1]!.response_excerpt).toBe('reply 500');
      // Unix seconds, like every other time in the API.
      const nowSeconds = Date.now() / 1000;
      const times = (log as Array<{ attempted_at: number; next_attempt_at: number | null }>).map((a) => ({
        at: a.attempted_at,
        next: a.next_attempt_at,
      }));
      for (const { at } of times) {
        expect(Number.isInteger(at)).toBe(true);
        expect(Math.abs(at - nowSeconds)).toBeLessThan(60);
      }
      const retryDue = times[1]!.next!;
      expect(Number.isInteger(retryDue)).toBe(true);
      expect(retryDue).toBeGreaterThanOrEqual(times[1]!.at);
      expect(retryDue).toBeLessThan(nowSeconds + 60);
      expect(log[0]).toMatchObject({
        attempt: 2,
        status_code: 200,
        succeeded: true,
        error: null,
        event_id: event.id,
      });
      expect(typeof log[0]!.latency_ms).toBe('number');
      // The first retry comes after the base delay (with jitter between half and all of it).
      expect(hooks[1]!.at - hooks[0]!.at).toBeGreaterThanOrEqual(70);
    });

    it('retries after a timeout', async () => {
      receiver.reply({ status: 200, delayMs: 1_500 });
      const event = await enqueue(gw, tenant.tenantId, 'invoice.created', { invoice_id: 'inv_2' });
      await waitFor(() => hooksFor(event.id).length >= 2, 8000, 'retry after timeout');
      const log = await waitFor(async () => {
        const r = await api(
          gw,
          tenant.apiKey,
          'GET',
          `/admin/webhooks/${webhookId}/deliveries?event_id=${event.id}`,
        );
        return r.body.data?.length === 2 && r.body.data[0]?.succeeded === true && r.body.data;
      });
      expect(log[1]).toMatchObject({ attempt: 1, status_code: null, succeeded: false });
      expect(log[1]!.error).toMatch(/timed out/);
      expect(new Set(hooksFor(event.id).map((h) => h.headers['webhook-id']))).toEqual(new Set([event.id]));
    });

    it('sends webhook.test to this endpoint only, and redelivers a past event', async () => {
      const sent = await api(gw, tenant.apiKey, 'POST', `/admin/webhooks/${webhookId}/test`);
      expect(sent.status).toBe(202);
      const eventId = sent.body.event_id as string;
      const [hook] = await waitFor(() => hooksFor(eventId).length > 0 && hooksFor(eventId));
      expect(hook!.headers['x-simo-event']).toBe('webhook.test');
      expect(JSON.parse(hook!.body)).toMatchObject({ type: 'webhook.test', tenant_id: tenant.tenantId });

      const again = await api(
        gw,
        tenant.apiKey,
        'POST',
        `/admin/webhooks/${webhookId}/deliveries/${eventId}/redeliver`,
      );
      expect(again.status).toBe(202);
      await waitFor(() => hooksFor(eventId).length === 2, 8000, 'redelivery');
      const [first, second] = hooksFor(eventId);
      expect(second!.body).toBe(first!.body);
      const byDelivery = await api(
        gw,
        tenant.apiKey,
        'POST',
        `/admin/webhooks/${webhookId}/deliveries/${sent.body.delivery_id}/redeliver`,
      );
      expect(byDelivery.status).toBe(202);
      await waitFor(() => hooksFor(eventId).length === 3, 8000, 'redelivery by delivery id');
      const missing = await api(
        gw,
        tenant.apiKey,
        'POST',
        `/admin/webhooks/${webhookId}/deliveries/evt_nope/redeliver`,
      );
      expect(missing.status).toBe(404);
    });

    it('rotates the secret: later deliveries are signed with the new one', async () => {
      const rotated = await api(gw, tenant.apiKey, 'POST', `/admin/webhooks/${webhookId}/rotate-secret`);
      expect(rotated.status).toBe(200);
      const fresh = rotated.body.secret as string;
      expect(fresh).not.toBe(secret);
      const event = await enqueue(gw, tenant.tenantId, 'key.rotated', {});
      const [hook] = await waitFor(() => hooksFor(event.id).length > 0 && hooksFor(event.id));
      expect(seedSignatureOk(hook!, fresh)).toBe(true);
      expect(() => new Webhook(secret).verify(hook!.body, hook!.headers as Record<string, string>)).toThrow();
      secret = fresh;
    });

    it('disables an endpoint after sustained failure, says why, and can re-enable it', async () => {
      receiver.fallback = { status: 503 };
      try {
        const event = await enqueue(gw, tenant.tenantId, 'audit.flagged', { rule: 'test' });
        const w = await waitFor(
          async () => {
            const r = await api(gw, tenant.apiKey, 'GET', `/admin/webhooks/${webhookId}`);
            return r.body.status === 'disabled' && r.body;
          },
          10_000,
          'disable',
        );
        expect(w.disabled_reason).toMatch(/consecutive delivery attempts failed/);
        const audit = await api(gw, tenant.apiKey, 'GET', '/admin/audit?limit=100');
        expect(audit.body.data?.some((e) => e.action === 'webhook.disabled')).toBe(true);
        const log = await api(
          gw,
          tenant.apiKey,
          'GET',
          `/admin/webhooks/${webhookId}/deliveries?event_id=${event.id}`,
        );
        expect(log.body.data?.[0]?.delivery_status).toBe('cancelled');
        // Test events need an enabled endpoint.
        expect((await api(gw, tenant.apiKey, 'POST', `/admin/webhooks/${webhookId}/test`)).status).toBe(409);
      } finally {
        receiver.fallback = { status: 200 };
      }
      const enabled = await api(gw, tenant.apiKey, 'POST', `/admin/webhooks/${webhookId}/enable`);
      expect(enabled.body).toMatchObject({
        status: 'enabled',
        disabled_reason: null,
        consecutive_failures: 0,
      });
    });

    it('pages through the attempt log with next_cursor', async () => {
      const all = await api(gw, tenant.apiKey, 'GET', `/admin/webhooks/${webhookId}/deliveries?limit=200`);
      expect(all.body.has_more).toBe(false);
      const ids = (all.body.data ?? []).map((a) => a.id);
      expect(ids.length).toBeGreaterThan(5);
      const paged: unknown[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 50; i++) {
        const q: string = cursor ? `&before=${cursor}` : '';
        const page = await api(
          gw,
          tenant.apiKey,
          'GET',
          `/admin/webhooks/${webhookId}/deliveries?limit=2${q}`,
        );
        paged.push(...(page.body.data ?? []).map((a) => a.id));
        cursor = page.body.next_cursor as string | null;
        if (!page.body.has_more) break;
      }
      expect(paged).toEqual(ids);
      const bad = await api(gw, tenant.apiKey, 'GET', `/admin/webhooks/${webhookId}/deliveries?before=nope`);
      expect(bad.status).toBe(400);
    });

    it('records webhook.created and webhook.deleted in the audit log; deleted endpoints get nothing', async () => {
      const created = await api(gw, tenant.apiKey, 'POST', '/admin/webhooks', {
        url: receiver.url,
        events: ['*'],
      });
      const id = created.body.id as string;
      expect((await api(gw, tenant.apiKey, 'DELETE', `/admin/webhooks/${id}`)).body).toEqual({
        id,
        object: 'webhook_endpoint',
        deleted: true,
      });
      expect((await api(gw, tenant.apiKey, 'GET', `/admin/webhooks/${id}`)).status).toBe(404);
      const audit = await api(gw, tenant.apiKey, 'GET', '/admin/audit?limit=100');
      const actions = audit.body.data?.filter((e) => e.target === id).map((e) => e.action);
      expect(actions).toEqual(expect.arrayContaining(['webhook.created', 'webhook.deleted']));
      expect(JSON.stringify(audit.body)).not.toContain('whsec_');
    });
  });
}

describe('giving up', () => {
  it('gives a delivery up when its retries run out, and then disables an endpoint that failed every attempt', async () => {
    const receiver = await startReceiver();
    receiver.fallback = { status: 500 };
    const gw = await startTestGateway({
      config: {
        ...fastWebhooks,
        webhooks: {
          ...fastWebhooks.webhooks,
          retryBaseMs: 40,
          retryFactor: 2,
          // Long enough for three attempts even when a busy machine slows each one down.
          giveUpAfterMs: 3_000,
          disableAfterMs: 3_600_000,
          disableAfterFailures: 3,
        },
      },
    });
    try {
      const t = await gw.signUp();
      const created = await api(gw, t.apiKey, 'POST', '/admin/webhooks', {
        url: receiver.url,
        events: ['*'],
      });
      const event = await enqueue(gw, t.tenantId, 'invoice.created', {});
      const w = await waitFor(
        async () => {
          const r = await api(gw, t.apiKey, 'GET', `/admin/webhooks/${created.body.id}`);
          return r.body.status === 'disabled' && r.body;
        },
        20_000,
        'disable after give-up',
      );
      expect(w.disabled_reason).toMatch(/retries ran out/);
      const log = await api(
        gw,
        t.apiKey,
        'GET',
        `/admin/webhooks/${created.body.id}/deliveries?event_id=${event.id}`,
      );
      const attempts = log.body.data ?? [];
      expect(attempts.length).toBeGreaterThanOrEqual(3);
      expect(attempts[0]).toMatchObject({
        delivery_status: 'failed',
        next_attempt_at: null,
        status_code: 500,
      });
      expect(receiver.received).toHaveLength(attempts.length);
    } finally {
      await gw.stop();
      await receiver.stop();
    }
  });
});
