/**
 * Several replicas sharing one Redis (and one PostgreSQL database): together they admit exactly the
 * limit, and a key rotated on one replica is refused by the other within 100 ms.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RevocationEvent } from '../../src/accounts/revocation-bus.js';
import { createLogger } from '../../src/observability/logger.js';
import { closeRedis, connectRedis, type Redis } from '../../src/redis/client.js';
import { RedisRevocationBus } from '../../src/redis/redis-revocation-bus.js';
import { randomBase62 } from '../../src/shared/ids.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith, serviceAvailable, TEST_REDIS_URL } from '../support/services.js';

const pgAvailable = await serviceAvailable('pg');
const ADMIN_TOKEN = 'operator-token-for-tests-0123456789';
const chatBody = { model: 'qwen/qwen3-8b', messages: [{ role: 'user', content: 'hi' }] };

await describeWith('redis', 'two replicas sharing Redis', () => {
  let database: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    if (!pgAvailable) return;
    database = await createTestDatabase('postgres');
    const shared = {
      database,
      env: { SIMO_REDIS_URL: TEST_REDIS_URL, SIMO_ADMIN_TOKEN: ADMIN_TOKEN },
      config: { plans: { starter: { rpm: 10 } }, redis: { keyPrefix: `test:${randomBase62(10)}:` } },
    };
    a = await startTestGateway(shared);
    b = await startTestGateway(shared);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await database?.drop();
  });

  const chat = (gw: TestGateway, apiKey: string) =>
    fetch(`${gw.v1}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(chatBody),
    });

  it.skipIf(!pgAvailable)('admit exactly the limit in total from a burst split over both', async () => {
    const t = await a.signUp();
    const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => chat(i % 2 ? a : b, t.apiKey)));
    const ok = responses.filter((r) => r.status === 200);
    expect(ok).toHaveLength(10);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(30);
    // Remaining counted down without gaps across both replicas.
    const remaining = ok.map((r) => Number(r.headers.get('x-ratelimit-remaining'))).sort((x, y) => x - y);
    expect(remaining).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const gw of [a, b]) {
      const ready = (await (await fetch(`${gw.url}/readyz`)).json()) as { checks: Record<string, string> };
      expect(ready.checks.rate_limiter).toBe('ok');
    }
  });

  it.skipIf(!pgAvailable)('refuse a key rotated on the other replica within 100 ms', async () => {
    const t = await a.signUp();
    // Replica b caches the key.
    const first = await fetch(`${b.v1}/models`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    expect(first.status).toBe(200);
    const rotated = await fetch(`${a.url}/admin/keys/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(rotated.status).toBe(200);
    const started = performance.now();
    let status = 0;
    while (performance.now() - started < 100) {
      status = (await fetch(`${b.v1}/models`, { headers: { authorization: `Bearer ${t.apiKey}` } })).status;
      if (status === 401) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(status).toBe(401);
  });

  it.skipIf(!pgAvailable)('apply an rpm override changed on the other replica at once', async () => {
    const t = await a.signUp();
    const before = await fetch(`${b.v1}/models`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    expect(before.headers.get('x-ratelimit-limit')).toBe('10');
    const patched = await fetch(`${a.url}/operator/tenants/${t.tenantId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ rpm: 3 }),
    });
    expect(patched.status).toBe(200);
    const started = performance.now();
    let limit: string | null = null;
    while (performance.now() - started < 100) {
      const r = await fetch(`${b.v1}/models`, { headers: { authorization: `Bearer ${t.apiKey}` } });
      limit = r.headers.get('x-ratelimit-limit');
      if (limit === '3') break;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(limit).toBe('3');
  });
});

await describeWith('redis', 'Redis revocation bus', () => {
  let redisA: Redis;
  let redisB: Redis;
  const buses: RedisRevocationBus[] = [];
  const logger = createLogger('silent');

  beforeAll(async () => {
    redisA = await connectRedis(TEST_REDIS_URL);
    redisB = await connectRedis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    await Promise.all(buses.map((bus) => bus.close()));
    await closeRedis(redisA);
    await closeRedis(redisB);
  });

  it('delivers key and tenant events to the other replica, and once to the publisher itself', async () => {
    const keyPrefix = `test:${randomBase62(10)}:`;
    const one = new RedisRevocationBus({ url: TEST_REDIS_URL, publisher: redisA, keyPrefix, logger });
    const two = new RedisRevocationBus({ url: TEST_REDIS_URL, publisher: redisB, keyPrefix, logger });
    buses.push(one, two);
    expect(await one.start()).toBe(true);
    expect(await two.start()).toBe(true);
    expect(one.channel).toBe(`${keyPrefix}revocations`);
    const seenByOne: RevocationEvent[] = [];
    const seenByTwo: RevocationEvent[] = [];
    one.subscribe((e) => seenByOne.push(e));
    two.subscribe((e) => seenByTwo.push(e));

    const started = performance.now();
    await one.publish({ kind: 'key', keyId: 'key_1' });
    await one.publish({ kind: 'tenant', tenantId: 'ten_1' });
    while (seenByTwo.length < 2 && performance.now() - started < 100)
      await new Promise((r) => setTimeout(r, 2));
    expect(seenByTwo).toEqual([
      { kind: 'key', keyId: 'key_1' },
      { kind: 'tenant', tenantId: 'ten_1' },
    ]);
    expect(seenByOne).toEqual(seenByTwo);
    // Garbage on the channel is ignored.
    await redisA.publish(one.channel, 'not json');
    await redisA.publish(one.channel, JSON.stringify({ origin: 'x', event: { kind: 'nope' } }));
    await two.publish({ kind: 'key', keyId: 'key_2' });
    await new Promise((r) => setTimeout(r, 20));
    expect(seenByOne.at(-1)).toEqual({ kind: 'key', keyId: 'key_2' });
    expect(seenByOne).toHaveLength(3);
  });
});
