import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedUp, startTestGateway, type TestGateway } from '../support/gateway.js';
import { api, type Receiver, startReceiver, waitFor } from './support.js';

const rules = {
  failedAuthThreshold: 5,
  failedAuthWindowMs: 60_000,
  distinctIpThreshold: 4,
  distinctIpWindowMs: 60_000,
  spikeFactor: 5,
  spikeMinRequests: 15,
  spikeWindowMs: 1_000,
  spikeBaselineWindows: 10,
  spikeMinHistoryWindows: 2,
  contentPatterns: ['forbidden\\s+secret', '^never$'],
  cooldownMs: 60_000,
};

describe('audit.flagged rules', () => {
  let gw: TestGateway;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    gw = await startTestGateway({
      config: {
        auditRules: rules,
        plans: { starter: { rpm: 100_000 } },
        webhooks: { allowPrivate: true, pollIntervalMs: 40 },
        limits: { authFailuresPerMinute: 1_000 },
        // The test plays clients from many addresses through X-Forwarded-For.
        trustProxy: true,
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await receiver?.stop();
  });

  const flagsOf = async (t: SignedUp) => {
    await gw.server.container.auditSignals.drain();
    // From an address the rules already saw, so reading the log does not feed the distinct-IP rule.
    const res = await fetch(`${gw.url}/admin/audit?limit=100`, {
      headers: { authorization: `Bearer ${t.apiKey}`, 'x-forwarded-for': '192.0.2.1' },
    });
    const audit = (await res.json()) as { data: Array<Record<string, unknown>> };
    return audit.data.filter((e) => e.action === 'audit.flagged') as Array<{
      target: string;
      detail: Record<string, unknown>;
    }>;
  };
  const call = (key: string, ip: string, path = '/v1/models') =>
    fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': ip } });

  it('flags a burst of failed authentications with a tenant’s key prefix, at the threshold, and sends audit.flagged', async () => {
    const victim = await gw.signUp();
    const bystander = await gw.signUp();
    const hook = await api(gw, victim.apiKey, 'POST', '/admin/webhooks', {
      url: receiver.url,
      events: ['audit.flagged'],
    });
    expect(hook.status).toBe(201);
    // A leaked key that has since been revoked: well-formed, refused, tied to the tenant by its prefix.
    const extra = await api(gw, victim.apiKey, 'POST', '/admin/keys', { name: 'leaked' });
    const leaked = extra.body.api_key as string;
    expect((await api(gw, victim.apiKey, 'DELETE', `/admin/keys/${extra.body.id}`)).status).toBe(200);
    // Malformed keys never count.
    for (let i = 0; i < 10; i++) expect((await call('sk-simo-garbage', `203.0.113.${i}`)).status).toBe(401);
    for (let i = 0; i < rules.failedAuthThreshold - 1; i++)
      expect((await call(leaked, `198.51.100.${i}`)).status).toBe(401);
    expect(await flagsOf(victim)).toHaveLength(0);
    expect((await call(leaked, '198.51.100.99')).status).toBe(401);
    const flags = await waitFor(async () => {
      const f = await flagsOf(victim);
      return f.length > 0 && f;
    });
    expect(flags).toHaveLength(1);
    expect(flags[0]!.detail).toMatchObject({
      rule: 'failed_auth_burst',
      key_prefix: leaked.slice(0, 12),
      failures: 5,
    });
    expect(JSON.stringify(flags)).not.toContain(leaked);
    expect(await flagsOf(bystander)).toHaveLength(0);
    // The same flag went out as an audit.flagged webhook event.
    const delivered = await waitFor(() =>
      receiver.received.find((h) => h.headers['x-simo-event'] === 'audit.flagged'),
    );
    const body = JSON.parse(delivered.body);
    expect(body).toMatchObject({
      type: 'audit.flagged',
      tenant_id: victim.tenantId,
      data: { rule: 'failed_auth_burst' },
    });
    expect(delivered.body).not.toContain(leaked);
  });

  it('flags a key used from many distinct IPs, only once the threshold of distinct addresses is reached', async () => {
    const t = await gw.signUp();
    for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.1', '192.0.2.2', '192.0.2.3'])
      expect((await call(t.apiKey, ip)).status).toBe(200);
    expect(await flagsOf(t)).toHaveLength(0);
    expect((await call(t.apiKey, '192.0.2.4')).status).toBe(200);
    const flags = await waitFor(async () => {
      const f = await flagsOf(t);
      return f.length > 0 && f;
    });
    expect(flags[0]!.detail).toMatchObject({ rule: 'key_many_ips', key_id: t.keyId, distinct_ips: 4 });
  });

  it('flags a sudden spike far above the tenant’s usual rate, but not a new tenant without history', async () => {
    const steady = await gw.signUp();
    const fresh = await gw.signUp();
    // A few windows at ~1 request each make the usual rate.
    for (let i = 0; i < 3; i++) {
      expect((await call(steady.apiKey, '192.0.2.50')).status).toBe(200);
      await new Promise((r) => setTimeout(r, rules.spikeWindowMs));
    }
    expect(await flagsOf(steady)).toHaveLength(0);
    const burst = (key: string) => Promise.all(Array.from({ length: 60 }, () => call(key, '192.0.2.50')));
    await burst(fresh.apiKey);
    await burst(steady.apiKey);
    const flags = await waitFor(async () => {
      const f = await flagsOf(steady);
      return f.length > 0 && f;
    });
    expect(flags).toHaveLength(1);
    expect(flags[0]!.detail).toMatchObject({ rule: 'request_spike' });
    expect(Number(flags[0]!.detail.requests_in_window)).toBeGreaterThanOrEqual(rules.spikeMinRequests);
    expect(await flagsOf(fresh)).toHaveLength(0);
  });

  it('flags prompts matching the operator content policy, and only those', async () => {
    const t = await gw.signUp();
    const chat = (content: string) =>
      fetch(`${gw.v1}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'qwen/qwen3-8b', messages: [{ role: 'user', content }] }),
      });
    expect((await chat('hello there, tell me a never ending story')).status).toBe(200);
    expect(await flagsOf(t)).toHaveLength(0);
    expect((await chat('please print the FORBIDDEN   secret now')).status).toBe(200);
    const flags = await waitFor(async () => {
      const f = await flagsOf(t);
      return f.length > 0 && f;
    });
    expect(flags).toHaveLength(1);
    expect(flags[0]!.detail).toMatchObject({ rule: 'content_policy', pattern: 'forbidden\\s+secret' });
    expect(JSON.stringify(flags)).not.toContain('print the');
    const rows = await gw.server.container.database.db
      .selectFrom('audit_flags')
      .selectAll()
      .where('tenant_id', '=', t.tenantId)
      .execute();
    expect(rows.map((r) => r.rule)).toEqual(['content_policy']);
  });
});
