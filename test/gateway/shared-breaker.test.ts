/**
 * Two replicas sharing Redis: a circuit one replica opens is open on the other at once (its requests
 * skip the dead upstream without trying it), and closes on both once a probe finds it healthy again.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { randomBase62 } from '../../src/shared/ids.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith, TEST_REDIS_URL } from '../support/services.js';

const COOLDOWN_MS = 5000;
/** Long enough that a replica started under load still finds the circuit open. */
const LONG_COOLDOWN_MS = 300_000;

await describeWith('redis', 'circuit breakers shared by replicas', () => {
  let a: FakeUpstream;
  let b: FakeUpstream;
  let one: TestGateway;
  let two: TestGateway;
  let keyOne: string;
  let keyTwo: string;
  let config: ConfigInput;

  beforeAll(async () => {
    [a, b] = await Promise.all([startFakeUpstream(), startFakeUpstream()]);
    config = {
      providers: [
        {
          id: 'a',
          type: 'openai-compatible',
          baseUrl: a.v1,
          breaker: { failures: 2, cooldownMs: COOLDOWN_MS },
        },
        { id: 'b', type: 'openai-compatible', baseUrl: b.v1 },
        {
          id: 'slow-to-retry',
          type: 'openai-compatible',
          baseUrl: a.v1,
          breaker: { failures: 2, cooldownMs: LONG_COOLDOWN_MS },
        },
      ],
      models: [
        { id: 'pair', routes: [{ provider: 'a' }, { provider: 'b' }] },
        { id: 'long', routes: [{ provider: 'slow-to-retry' }, { provider: 'b' }] },
      ],
      routing: { routeHeader: true },
      redis: { keyPrefix: `test:${randomBase62(10)}:` },
      limits: { rateLimiting: false },
    };
    const shared = { env: { SIMO_REDIS_URL: TEST_REDIS_URL }, config };
    [one, two] = await Promise.all([startTestGateway(shared), startTestGateway(shared)]);
    [keyOne, keyTwo] = [(await one.signUp()).apiKey, (await two.signUp()).apiKey];
  });
  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
    await Promise.all([a?.stop(), b?.stop()]);
  });
  beforeEach(async () => {
    await Promise.all([a.reset(), b.reset(), a.resetStats(), b.resetStats()]);
  });

  async function route(gw: TestGateway, key: string, model = 'pair'): Promise<string | null> {
    const res = await fetch(`${gw.v1}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello' }] }),
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    return res.headers.get('x-simo-route');
  }

  const stateOn = async (gw: TestGateway, provider = 'a') =>
    (await gw.server.container.metrics.routeBreakerState.get()).values.find(
      (v) => v.labels.provider === provider,
    )?.value;

  async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    while (performance.now() < deadline) {
      if (await check()) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return check();
  }

  it('opens on the other replica too, and closes on both after the upstream recovers', async () => {
    await a.control('status:503');
    // Replica one meets the failures and opens the circuit.
    expect(await route(one, keyOne)).toBe('provider=b; model=pair; attempts=2');
    expect(await route(one, keyOne)).toBe('provider=b; model=pair; attempts=2');
    expect(await stateOn(one)).toBe(2);
    // Replica two never tried `a`, yet skips it.
    expect(await until(async () => (await stateOn(two)) === 2, 2000)).toBe(true);
    for (let i = 0; i < 5; i++) expect(await route(two, keyTwo)).toBe('provider=b; model=pair; attempts=1');
    expect((await a.stats()).chat).toBe(2);

    // The upstream recovers: after the cooldown one probe (on either replica) closes it on both.
    await a.reset();
    await new Promise((r) => setTimeout(r, COOLDOWN_MS + 100));
    await route(two, keyTwo);
    expect(await until(async () => (await stateOn(one)) === 0 && (await stateOn(two)) === 0, 2000)).toBe(
      true,
    );
    expect(await route(one, keyOne)).toBe('provider=a; model=pair; attempts=1');
    expect(await route(two, keyTwo)).toBe('provider=a; model=pair; attempts=1');
  });

  it('a replica started while a circuit is open starts with it open', async () => {
    await a.control('status:503');
    await route(one, keyOne, 'long');
    await route(one, keyOne, 'long');
    expect(await stateOn(one, 'slow-to-retry')).toBe(2);
    const late = await startTestGateway({ env: { SIMO_REDIS_URL: TEST_REDIS_URL }, config });
    try {
      expect(await stateOn(late, 'slow-to-retry')).toBe(2);
    } finally {
      await late.stop();
    }
  });
});
