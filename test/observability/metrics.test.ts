import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { type Receiver, startReceiver } from '../webhooks/support.js';

let upstream: FakeUpstream;
let receiver: Receiver;
let gw: TestGateway;
beforeAll(async () => {
  upstream = await startFakeUpstream();
  receiver = await startReceiver();
  gw = await startTestGateway({
    env: { SIMO_UPSTREAM_URL: upstream.v1 },
    config: { webhooks: { allowPrivate: true, pollIntervalMs: 40 } },
  });
});
afterAll(async () => {
  await gw?.stop();
  await receiver?.stop();
  await upstream?.stop();
});

/** The value of one sample line, e.g. `name{a="b"} 3`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.split(' ').at(-1));
  }
  return undefined;
}

it('exposes request, upstream, limiter, credit and webhook metrics in Prometheus format', async () => {
  const { apiKey } = await gw.signUp();
  const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  const chat = await fetch(`${gw.v1}/chat/completions`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ model: 'qwen/qwen3-8b', messages: [{ role: 'user', content: 'Hello' }] }),
  });
  expect(chat.status).toBe(200);
  const created = await fetch(`${gw.url}/admin/webhooks`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ url: receiver.url, events: ['key.rotated'] }),
  });
  const { id } = (await created.json()) as { id: string };
  expect(
    (await fetch(`${gw.url}/admin/webhooks/${id}/test`, { method: 'POST', headers: auth })).status,
  ).toBeLessThan(300);
  await gw.server.container.meter.flush();

  // The attempt is counted when the dispatcher records it, a moment after the receiver has it: wait
  // for that (bounded) instead of a fixed time.
  let res = await fetch(`${gw.url}/metrics`);
  let text = await res.text();
  const delivered = () => sample(text, 'simosphere_webhook_delivery_attempts_total', { outcome: 'success' });
  for (let i = 0; i < 200 && delivered() === undefined; i++) {
    await new Promise((r) => setTimeout(r, 100));
    res = await fetch(`${gw.url}/metrics`);
    text = await res.text();
  }
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  const route = { route: '/v1/chat/completions', method: 'POST', status: '200' };
  expect(sample(text, 'simosphere_http_requests_total', route)).toBe(1);
  expect(sample(text, 'simosphere_gateway_requests_total', { model: 'qwen/qwen3-8b', status: '200' })).toBe(
    1,
  );
  expect(sample(text, 'simosphere_upstream_time_to_first_byte_seconds_count', { provider: 'upstream' })).toBe(
    1,
  );
  expect(sample(text, 'simosphere_credits_debited_micros_total', { model: 'qwen/qwen3-8b' })).toBeGreaterThan(
    0,
  );
  expect(
    sample(text, 'simosphere_ratelimit_decisions_total', { decision: 'allowed' }),
  ).toBeGreaterThanOrEqual(1);
  expect(sample(text, 'simosphere_webhook_delivery_attempts_total', { outcome: 'success' })).toBe(1);
  expect(text).toContain('simosphere_nodejs_eventloop_lag_seconds');
});

it('keeps label sets bounded whatever paths and models callers send', async () => {
  const { apiKey } = await gw.signUp();
  const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  const series = async () => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => /^simosphere_(http_requests_total|gateway_requests_total)\{/.test(l)).length;
  };
  // One unmatched path and one unknown model first, so their series exist before counting.
  await fetch(`${gw.url}/no-such-page-0`);
  await fetch(`${gw.v1}/chat/completions`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ model: 'made-up-0', messages: [{ role: 'user', content: 'Hi' }] }),
  });
  await gw.server.container.meter.flush();
  const before = await series();
  for (let i = 1; i <= 20; i++) {
    expect((await fetch(`${gw.url}/no-such-page-${i}/x?y=${i}`)).status).toBe(404);
    const chat = await fetch(`${gw.v1}/chat/completions`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ model: `made-up-${i}`, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(chat.status).toBe(404);
  }
  await gw.server.container.meter.flush();
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  expect(text).not.toContain('no-such-page');
  expect(text).not.toContain('made-up-');
  expect(await series()).toBe(before);
});
