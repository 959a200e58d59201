import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import { api, enqueue, fastWebhooks, type Receiver, startReceiver, waitFor } from './support.js';

for (const dialect of ['sqlite', 'postgres'] as const) {
  const run = (name: string, body: () => void) =>
    dialect === 'sqlite' ? body() : describeWith('pg', name, body);
  await run(`webhook durability (${dialect})`, () => {
    let database: TestDatabase;
    let receiver: Receiver;
    beforeAll(async () => {
      database = await createTestDatabase(dialect);
      receiver = await startReceiver();
    });
    afterAll(async () => {
      await receiver?.stop();
      await database?.drop();
    });

    it('delivers after a gateway restart between attempts, with the same webhook-id', async () => {
      // Slow retries, so the retry is due only after the restart.
      const config = {
        ...fastWebhooks,
        webhooks: { ...fastWebhooks.webhooks, retryBaseMs: 1_500, retryFactor: 1 },
      };
      let gw: TestGateway | undefined = await startTestGateway({ database, config });
      try {
        const tenant = await gw.signUp();
        const created = await api(gw, tenant.apiKey, 'POST', '/admin/webhooks', {
          url: receiver.url,
          events: ['*'],
        });
        const secret = created.body.secret as string;
        receiver.reply({ status: 500 });
        const event = await enqueue(gw, tenant.tenantId, 'invoice.created', { invoice_id: 'inv_restart' });
        await waitFor(
          () => receiver.received.some((h) => h.headers['webhook-id'] === event.id),
          8000,
          'first attempt',
        );
        await gw.stop();
        gw = undefined;
        const gw2 = await startTestGateway({ database, config });
        gw = gw2;
        const hooks = await waitFor(
          () => {
            const h = receiver.received.filter((r) => r.headers['webhook-id'] === event.id);
            return h.length >= 2 && h;
          },
          8000,
          'delivery after restart',
        );
        expect(hooks).toHaveLength(2);
        expect(
          new Webhook(secret).verify(hooks[1]!.body, hooks[1]!.headers as Record<string, string>),
        ).toEqual(event);
        const log = await waitFor(async () => {
          const r = await api(gw2, tenant.apiKey, 'GET', `/admin/webhooks/${created.body.id}/deliveries`);
          return r.body.data?.length === 2 && r.body.data[0]?.succeeded === true && r.body.data;
        });
        expect(log.map((a) => a.attempt)).toEqual([2, 1]);
      } finally {
        await gw?.stop();
      }
    });

    it('cuts off an attempt still running at shutdown after a grace, logs it, and retries it after the restart', async () => {
      const config = {
        ...fastWebhooks,
        webhooks: { ...fastWebhooks.webhooks, timeoutMs: 8_000, leaseMs: 20_000 },
      };
      let gw: TestGateway | undefined = await startTestGateway({ database, config });
      try {
        const tenant = await gw.signUp();
        const created = await api(gw, tenant.apiKey, 'POST', '/admin/webhooks', {
          url: receiver.url,
          events: ['*'],
        });
        receiver.reply({ status: 200, delayMs: 6_000 });
        const event = await enqueue(gw, tenant.tenantId, 'key.rotated', {});
        await waitFor(
          () => receiver.received.some((h) => h.headers['webhook-id'] === event.id),
          8000,
          'first attempt',
        );
        const stopping = Date.now();
        await gw.stop();
        gw = undefined;
        expect(Date.now() - stopping).toBeLessThan(4_000);
        const gw2 = await startTestGateway({ database, config });
        gw = gw2;
        await waitFor(
          () => receiver.received.filter((h) => h.headers['webhook-id'] === event.id).length >= 2,
          8000,
          'retry',
        );
        const log = await waitFor(async () => {
          const r = await api(gw2, tenant.apiKey, 'GET', `/admin/webhooks/${created.body.id}/deliveries`);
          return r.body.data?.length === 2 && r.body.data[0]?.succeeded === true && r.body.data;
        });
        expect(log[1]).toMatchObject({ attempt: 1, succeeded: false, error: 'interrupted by shutdown' });
        // Our shutdown is not the endpoint's failure.
        const w = await api(gw2, tenant.apiKey, 'GET', `/admin/webhooks/${created.body.id}`);
        expect(w.body.consecutive_failures).toBe(0);
      } finally {
        await gw?.stop();
      }
    });

    it('holds deliveries (no attempt, no failure) while the server secret is wrong, and sends them once it is right', async () => {
      const withKey = (key: string) => ({
        database,
        config: { ...fastWebhooks, webhooks: { ...fastWebhooks.webhooks, retryMaxDelayMs: 300 } },
        env: { SIMO_SECRET_KEY: key },
      });
      let gw: TestGateway | undefined = await startTestGateway(withKey('the-right-server-secret'));
      try {
        const tenant = await gw.signUp();
        const created = await api(gw, tenant.apiKey, 'POST', '/admin/webhooks', {
          url: receiver.url,
          events: ['*'],
        });
        await gw.stop();
        gw = await startTestGateway(withKey('a-wrong-server-secret!'));
        const event = await enqueue(gw, tenant.tenantId, 'invoice.created', {});
        const db = gw.server.container.database.db;
        await waitFor(
          async () =>
            (
              await db
                .selectFrom('webhook_deliveries')
                .select('id')
                .where('event_id', '=', event.id)
                .execute()
            ).length === 1,
        );
        await new Promise((r) => setTimeout(r, 500));
        expect(receiver.received.filter((h) => h.headers['webhook-id'] === event.id)).toHaveLength(0);
        const held = await db
          .selectFrom('webhook_deliveries')
          .selectAll()
          .where('event_id', '=', event.id)
          .executeTakeFirstOrThrow();
        expect(held).toMatchObject({ status: 'pending', attempts: 0 });
        await gw.stop();
        gw = await startTestGateway(withKey('the-right-server-secret'));
        await waitFor(
          () => receiver.received.some((h) => h.headers['webhook-id'] === event.id),
          8000,
          'delivery with the right key',
        );
        const w = await api(gw, tenant.apiKey, 'GET', `/admin/webhooks/${created.body.id}`);
        expect(w.body).toMatchObject({ status: 'enabled', consecutive_failures: 0 });
      } finally {
        await gw?.stop();
      }
    });

    it('sends key.rotated end to end when a key is rotated', async () => {
      const gw = await startTestGateway({ database, config: fastWebhooks });
      try {
        const tenant = await gw.signUp();
        const created = await api(gw, tenant.apiKey, 'POST', '/admin/webhooks', {
          url: receiver.url,
          events: ['key.rotated'],
        });
        const rotated = await api(gw, tenant.apiKey, 'POST', '/admin/keys/rotate');
        expect(rotated.status).toBe(200);
        const hook = await waitFor(() =>
          receiver.received.find(
            (h) => h.headers['x-simo-event'] === 'key.rotated' && h.body.includes(tenant.tenantId),
          ),
        );
        const event = new Webhook(created.body.secret as string).verify(
          hook.body,
          hook.headers as Record<string, string>,
        );
        expect(event).toMatchObject({ type: 'key.rotated', tenant_id: tenant.tenantId });
        expect(hook.body).not.toContain(rotated.body.api_key as string);
        expect(hook.body).not.toContain(tenant.apiKey);
      } finally {
        await gw.stop();
      }
    });
  });
}

await describeWith('pg', 'two dispatchers on one PostgreSQL database', () => {
  let database: TestDatabase;
  let receiver: Receiver;
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    receiver = await startReceiver();
    // Failures are spread over both endpoints at random, so no endpoint may be disabled here.
    const config = {
      ...fastWebhooks,
      webhooks: {
        ...fastWebhooks.webhooks,
        retryBaseMs: 100,
        pollIntervalMs: 10,
        disableAfterFailures: 1_000,
      },
    };
    a = await startTestGateway({ database, config });
    b = await startTestGateway({ database, config });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await receiver?.stop();
    await database?.drop();
  });

  it('never makes the same attempt twice', async () => {
    const tenant = await a.signUp();
    await api(a, tenant.apiKey, 'POST', '/admin/webhooks', { url: receiver.url, events: ['*'] });
    await api(b, tenant.apiKey, 'POST', '/admin/webhooks', { url: receiver.url, events: ['*'] });
    // Every third first attempt fails, so retries are raced for too.
    receiver.reply(...Array.from({ length: 60 }, (_, i) => ({ status: i % 3 === 0 ? 500 : 200 })));
    const events = [];
    for (let i = 0; i < 30; i++)
      events.push(await enqueue(i % 2 ? a : b, tenant.tenantId, 'invoice.created', { n: i }));
    const db = a.server.container.database.db;
    await waitFor(
      async () => {
        const open = await db
          .selectFrom('webhook_deliveries')
          .select('id')
          .where('status', '!=', 'succeeded')
          .execute();
        const all = await db.selectFrom('webhook_deliveries').select('id').execute();
        return all.length === 60 && open.length === 0;
      },
      15_000,
      'all deliveries to succeed',
    );
    const attempts = await db.selectFrom('webhook_delivery_attempts').selectAll().execute();
    const successes = attempts.filter((x) => x.succeeded === 1);
    expect(successes).toHaveLength(60);
    // Every request the receiver saw is a logged attempt: nothing sent twice, nothing unlogged.
    expect(receiver.received).toHaveLength(attempts.length);
    expect(new Set(attempts.map((x) => `${x.delivery_id}#${x.attempt}`)).size).toBe(attempts.length);
    // Both replicas took part.
    expect(new Set(attempts.map((x) => x.replica)).size).toBe(2);
  });
});
