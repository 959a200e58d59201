import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedUp, startTestGateway, type TestGateway } from '../support/gateway.js';
import { api, fastWebhooks, type Receiver, startReceiver } from './support.js';

describe('webhook routes: tenant isolation and validation', () => {
  let gw: TestGateway;
  let receiver: Receiver;
  let owner: SignedUp;
  let intruder: SignedUp;
  let webhookId: string;
  let eventId: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    gw = await startTestGateway({ config: fastWebhooks });
    owner = await gw.signUp();
    intruder = await gw.signUp();
    const created = await api(gw, owner.apiKey, 'POST', '/admin/webhooks', {
      url: receiver.url,
      events: ['*'],
    });
    webhookId = created.body.id as string;
    eventId = (await api(gw, owner.apiKey, 'POST', `/admin/webhooks/${webhookId}/test`)).body
      .event_id as string;
  });
  afterAll(async () => {
    await gw?.stop();
    await receiver?.stop();
  });

  it('answers 404 to another tenant on every webhook route, and changes nothing', async () => {
    const routes: Array<[string, string]> = [
      ['GET', `/admin/webhooks/${webhookId}`],
      ['DELETE', `/admin/webhooks/${webhookId}`],
      ['POST', `/admin/webhooks/${webhookId}/test`],
      ['GET', `/admin/webhooks/${webhookId}/deliveries`],
      ['POST', `/admin/webhooks/${webhookId}/deliveries/${eventId}/redeliver`],
      ['POST', `/admin/webhooks/${webhookId}/rotate-secret`],
      ['POST', `/admin/webhooks/${webhookId}/enable`],
    ];
    for (const [method, path] of routes) {
      const res = await api(gw, intruder.apiKey, method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body).toMatchObject({ error: { type: 'invalid_request_error', code: 'not_found' } });
    }
    expect((await api(gw, intruder.apiKey, 'GET', '/admin/webhooks')).body.data).toEqual([]);
    const mine = await api(gw, owner.apiKey, 'GET', `/admin/webhooks/${webhookId}`);
    expect(mine.body).toMatchObject({ id: webhookId, status: 'enabled' });
  });

  it("cannot redeliver another tenant's event through its own endpoint", async () => {
    const own = await api(gw, intruder.apiKey, 'POST', '/admin/webhooks', {
      url: receiver.url,
      events: ['*'],
    });
    const res = await api(
      gw,
      intruder.apiKey,
      'POST',
      `/admin/webhooks/${own.body.id}/deliveries/${eventId}/redeliver`,
    );
    expect(res.status).toBe(404);
  });

  it('requires authentication', async () => {
    const res = await fetch(`${gw.url}/admin/webhooks`);
    expect(res.status).toBe(401);
  });

  it('validates the body with OpenAI-style errors', async () => {
    const cases: Array<[unknown, string]> = [
      [{ events: ['*'] }, 'url'],
      [{ url: receiver.url }, 'events'],
      [{ url: receiver.url, events: [] }, 'events'],
      [{ url: receiver.url, events: ['nope.event'] }, 'events[0]'],
      [{ url: 'ftp://example.com/', events: ['*'] }, 'url'],
      [{ url: 'not a url', events: ['*'] }, 'url'],
    ];
    for (const [body, param] of cases) {
      const res = await api(gw, owner.apiKey, 'POST', '/admin/webhooks', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((res.body.error as { param: string }).param).toBe(param);
    }
  });
});

describe('webhook targets without SIMO_WEBHOOK_ALLOW_PRIVATE', () => {
  let gw: TestGateway;
  let tenant: SignedUp;
  beforeAll(async () => {
    gw = await startTestGateway({ config: { plans: fastWebhooks.plans } });
    tenant = await gw.signUp();
  });
  afterAll(() => gw?.stop());

  const refused = [
    'http://127.0.0.1:9000/hook',
    'http://127.1/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0x7f.0.0.1/',
    'http://0177.0.0.01/',
    'http://0.0.0.0/',
    'http://0/',
    'http://10.0.0.1/',
    'http://172.16.5.4/',
    'http://172.31.255.255/',
    'http://192.168.0.1/',
    'http://3232235521/',
    'http://100.64.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://224.0.0.1/',
    'http://[::1]/',
    'http://[::]/',
    'http://[fe80::1]/',
    'http://[fc00::1]/',
    'http://[fd00:ec2::254]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:10.0.0.1]/',
    'http://[::ffff:169.254.169.254]/',
    'http://localhost:8080/',
    'http://LocalHost/',
    'http://hooks.localhost/',
    'http://localhost./',
  ];
  // Every refusal for where the target leads reads the same, whether the name resolves or not:
  // otherwise the check would tell a tenant what the platform's DNS knows about internal names.
  const sameAnswer = "Invalid value for 'url': the host must resolve to public internet addresses only.";
  for (const url of [...refused, 'http://no-such-host.invalid/', 'https://nothing.example.invalid:8443/x']) {
    it(`refuses ${url}`, async () => {
      const res = await api(gw, tenant.apiKey, 'POST', '/admin/webhooks', { url, events: ['*'] });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_parameter', param: 'url', message: sameAnswer });
    });
  }

  it('refuses a private target at send time too (an endpoint stored before the policy applied)', async () => {
    const { WebhookSender } = await import('../../src/webhooks/sender.js');
    const sender = new WebhookSender({ timeoutMs: 1_000, allowPrivate: false });
    try {
      const outcome = await sender.send('http://127.0.0.1:1/', {}, '{}', new AbortController().signal);
      expect(outcome).toMatchObject({ succeeded: false, statusCode: null });
      const refusal = 'refused: the host must resolve to public internet addresses only';
      expect(outcome.error).toBe(refusal);
      const named = await sender.send('http://localhost:1/', {}, '{}', new AbortController().signal);
      expect(named.error).toBe(refusal);
      // A name that does not resolve is logged the same way as one that resolves to loopback.
      const nowhere = await sender.send(
        'http://no-such-host.invalid/',
        {},
        '{}',
        new AbortController().signal,
      );
      expect(nowhere.error).toBe(refusal);
    } finally {
      await sender.close();
    }
  });

  it('checks names at send time on the resolved addresses (DNS rebinding)', async () => {
    const { guardedLookup } = await import('../../src/webhooks/sender.js');
    const lookup = guardedLookup(false);
    // `localhost` resolves to loopback through the system resolver, as a rebinding name would.
    const err = await new Promise<Error | null>((resolve) =>
      lookup('localhost', { all: true }, (e) => resolve(e)),
    );
    expect(err?.message).toBe('the host must resolve to public internet addresses only');
  });
});
