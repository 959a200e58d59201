/**
 * Health-aware routing over real upstream processes: the circuit breaker skips a dead route and lets it
 * back after a probe, weighted and least-latency balancing, conversation affinity, and what the
 * operator sees (`x-simo-route`, `/metrics`).
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const FIRST_BYTE_TIMEOUT_MS = 1500;
const COOLDOWN_MS = 5000;

let a: FakeUpstream;
let b: FakeUpstream;
let gw: TestGateway;
let apiKey: string;
/** A model server whose health endpoint answers what the test says (its chat is never reached). */
let checked: Server;
let checkedHealthy = false;
let checkedUrl: string;

async function startChecked(): Promise<void> {
  checked = createServer((req, res) => {
    req.resume();
    res.writeHead(checkedHealthy ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', data: [] }));
  });
  await new Promise<void>((resolve) => checked.listen(0, '127.0.0.1', resolve));
  const address = checked.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  checkedUrl = `http://127.0.0.1:${address.port}/v1`;
}

function balancingConfig(): ConfigInput {
  const up = (id: string, baseUrl: string) => ({
    id,
    type: 'openai-compatible' as const,
    baseUrl,
    breaker: { failures: 3, cooldownMs: COOLDOWN_MS },
  });
  const pair = { routes: [{ provider: 'a' }, { provider: 'b' }] };
  return {
    // Only `a` is made to stall; `b` keeps the default timeout, so a busy machine cannot fail it.
    providers: [
      { ...up('a', a.v1), firstByteTimeoutMs: FIRST_BYTE_TIMEOUT_MS },
      up('b', b.v1),
      {
        id: 'checked',
        type: 'openai-compatible',
        baseUrl: checkedUrl,
        breaker: { failures: 2, cooldownMs: 600_000 },
        healthCheck: { path: '/models', intervalMs: 100 },
      },
    ],
    routing: { routeHeader: true },
    // Thousands of requests from one tenant: the plan's rate limit has its own tests.
    limits: { rateLimiting: false },
    models: [
      { id: 'ordered', ...pair },
      { id: 'only-b', routes: [{ provider: 'b' }] },
      {
        id: 'weighted',
        strategy: 'weighted',
        routes: [
          { provider: 'a', weight: 3 },
          { provider: 'b', weight: 1 },
        ],
      },
      { id: 'fastest', strategy: 'least-latency', ...pair },
      { id: 'sticky', strategy: 'weighted', ...pair },
      { id: 'checked-then-b', routes: [{ provider: 'checked' }, { provider: 'b' }] },
    ],
  };
}

beforeAll(async () => {
  [a, b] = await Promise.all([startFakeUpstream(), startFakeUpstream(), startChecked()]);
  gw = await startTestGateway({ config: balancingConfig() });
  ({ apiKey } = await gw.signUp());
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([a?.stop(), b?.stop()]);
  checked?.closeAllConnections();
  await new Promise((resolve) => checked?.close(resolve));
});
beforeEach(async () => {
  await Promise.all([a.reset(), b.reset(), a.resetStats(), b.resetStats()]);
});

function chat(model: string, messages: unknown[] = [{ role: 'user', content: 'Hello' }]) {
  return fetch(`${gw.v1}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages }),
  });
}

/** Sends one request and returns how long it took and which provider served it. */
async function timed(model: string, messages?: unknown[]): Promise<{ ms: number; provider: string }> {
  const started = performance.now();
  const res = await chat(model, messages);
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  const route = res.headers.get('x-simo-route') ?? '';
  return { ms: performance.now() - started, provider: /provider=([^;]+)/.exec(route)?.[1] ?? '' };
}

/** Runs `total` requests, `concurrency` at a time. */
async function load<T>(total: number, concurrency: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        results[i] = await one(i);
      }
    }),
  );
  return results;
}

const p99 = (values: number[]) => [...values].sort((x, y) => x - y)[Math.ceil(values.length * 0.99) - 1]!;

async function breakerState(provider: string): Promise<number | undefined> {
  const metric = await gw.server.container.metrics.routeBreakerState.get();
  return metric.values.find((v) => v.labels.provider === provider)?.value;
}

describe('circuit breaker', () => {
  it('skips a stalled upstream once its circuit opens, and takes it back after it recovers', async () => {
    // Baseline: the healthy upstream on its own.
    await load(10, 2, () => timed('only-b'));
    const healthy = (await load(100, 2, () => timed('only-b'))).map((r) => r.ms);

    await a.control('stall:10000');
    // The first requests pay the first-byte timeout until the circuit opens.
    const opening = await load(3, 1, () => timed('ordered'));
    expect(opening.every((r) => r.provider === 'b' && r.ms >= FIRST_BYTE_TIMEOUT_MS - 20)).toBe(true);
    expect(await breakerState('a')).toBe(2);

    const openedAt = performance.now();
    const open = await load(200, 2, () => timed('ordered', [{ role: 'user', content: 'Hello' }]));
    const openMs = performance.now() - openedAt;
    // No request waits for the dead route any more, except the one probe per cooldown: p99 stays near
    // the healthy upstream's. (Relative bounds: on a busy machine its own p99 can reach the timeout.)
    const openP99 = p99(open.map((r) => r.ms));
    expect(openP99).toBeLessThan(Math.max(p99(healthy) * 2, p99(healthy) + 100));
    expect(openP99).toBeLessThan(p99(healthy) + FIRST_BYTE_TIMEOUT_MS / 2);
    expect(open.every((r) => r.provider === 'b')).toBe(true);
    expect((await a.stats()).chat).toBeLessThanOrEqual(3 + Math.ceil(openMs / COOLDOWN_MS));

    // It recovers: within the probe interval (the cooldown) a request goes there again.
    await a.reset();
    const recovered = performance.now();
    let back = 0;
    while (back === 0 && performance.now() - recovered < COOLDOWN_MS + 2000) {
      if ((await timed('ordered')).provider === 'a') back = performance.now() - recovered;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(back).toBeGreaterThan(0);
    expect(back).toBeLessThan(COOLDOWN_MS + 1000);
    expect(await breakerState('a')).toBe(0);
  }, 120_000);

  it('opens and closes a circuit on the active health check alone', async () => {
    const state = async () =>
      (await gw.server.container.metrics.routeBreakerState.get()).values.find(
        (v) => v.labels.provider === 'checked',
      )?.value;
    const until = async (want: number) => {
      const deadline = performance.now() + 5000;
      while ((await state()) !== want && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, 25));
      return state();
    };
    // Failing checks open it: requests go straight to the next route, without trying it.
    expect(await until(2)).toBe(2);
    const res = await chat('checked-then-b');
    expect(res.headers.get('x-simo-route')).toBe('provider=b; model=checked-then-b; attempts=1');
    // A passing check closes it long before the (ten-minute) cooldown.
    checkedHealthy = true;
    expect(await until(0)).toBe(0);
  });

  it('shows the route and the attempts in x-simo-route', async () => {
    await a.control('status:500', 1);
    const res = await chat('ordered');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-simo-route')).toBe('provider=b; model=ordered; attempts=2');
    const again = await chat('ordered');
    expect(again.headers.get('x-simo-route')).toBe('provider=a; model=ordered; attempts=1');
  });

  it('serves /metrics with the breaker state of every route', async () => {
    const text = await gw.server.container.metrics.text();
    expect(text).toMatch(/simosphere_route_breaker_state\{provider="a",upstream_model="ordered"\} 0/);
    expect(text).toMatch(/simosphere_route_breaker_state\{provider="b",upstream_model="weighted"\} 0/);
  });
});

describe('balancing', () => {
  it('sends 75% ± 5% of 2,000 requests to the route weighted 3 against 1', async () => {
    const served = await load(2000, 16, (i) =>
      timed('weighted', [{ role: 'user', content: `question ${i}` }]).then((r) => r.provider),
    );
    const toA = served.filter((p) => p === 'a').length;
    expect(served.filter((p) => p === 'a' || p === 'b')).toHaveLength(2000);
    expect(toA / 2000).toBeGreaterThanOrEqual(0.7);
    expect(toA / 2000).toBeLessThanOrEqual(0.8);
  }, 180_000);

  it('least-latency moves traffic away from an upstream that slows down', async () => {
    // Every request opens a conversation of its own, so affinity does not hold any on a route.
    let asked = 0;
    const ask = () => timed('fastest', [{ role: 'user', content: `q ${asked++}` }]);
    await load(40, 2, ask);
    await b.control('stall:400');
    const after = await load(100, 2, ask);
    // Once its latency shows, the slow route is only measured again now and then (once a second).
    const late = after.slice(10);
    const toSlow = late.filter((r) => r.provider === 'b').length;
    expect(toSlow / late.length).toBeLessThan(0.15);
    // Back to normal: a new measurement finds it fast again and it gets its share back.
    await b.reset();
    const since = performance.now();
    const recent: string[] = [];
    while (performance.now() - since < 15_000) {
      recent.push((await ask()).provider);
      if (recent.length >= 40 && recent.slice(-40).filter((p) => p === 'b').length >= 10) break;
    }
    expect(recent.slice(-40).filter((p) => p === 'b').length).toBeGreaterThanOrEqual(10);
  }, 120_000);
});

describe('prompt-cache affinity', () => {
  it('keeps each 10-turn conversation on one route while it is healthy', async () => {
    const conversations = ['travel', 'cooking', 'physics', 'music'].map((topic) => ({
      messages: [
        { role: 'system', content: 'You answer briefly.' },
        { role: 'user', content: `Tell me about ${topic}.` },
      ] as unknown[],
      routes: [] as string[],
    }));
    for (let turn = 0; turn < 10; turn++)
      for (const c of conversations) {
        const { provider } = await timed('sticky', c.messages);
        c.routes.push(provider);
        c.messages.push(
          { role: 'assistant', content: `answer ${turn}` },
          { role: 'user', content: `follow-up ${turn}` },
        );
      }
    for (const c of conversations) {
      expect(c.routes).toHaveLength(10);
      expect(new Set(c.routes).size).toBe(1);
    }
    // The conversations themselves are spread by the strategy, not all put on one route.
    expect(new Set(conversations.map((c) => c.routes[0])).size).toBe(2);
  });

  it('keeps a session (prompt_cache_key) on one route too', async () => {
    const routes = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${gw.v1}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'sticky',
          prompt_cache_key: 'session-42',
          messages: [{ role: 'user', content: `different opening ${i}` }],
        }),
      });
      expect(res.status).toBe(200);
      routes.add(/provider=([^;]+)/.exec(res.headers.get('x-simo-route') ?? '')?.[1] ?? '');
    }
    expect(routes.size).toBe(1);
  });

  it('keeps a session with a very long session header on one route, and stays bounded', async () => {
    // Near Node's header size limit; the router keeps only a digest of such a name.
    const session = 's'.repeat(8_000);
    const routes = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${gw.v1}/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${apiKey}`,
          'content-type': 'application/json',
          'x-session-id': session,
        },
        body: JSON.stringify({
          model: 'sticky',
          messages: [{ role: 'user', content: `another opening ${i}` }],
        }),
      });
      expect(res.status).toBe(200);
      routes.add(/provider=([^;]+)/.exec(res.headers.get('x-simo-route') ?? '')?.[1] ?? '');
    }
    expect(routes.size).toBe(1);
  });
});
