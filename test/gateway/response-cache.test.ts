/**
 * The response cache from the outside, over a real upstream process: a repeated deterministic request
 * is answered without an upstream call (JSON and SSE, the SDK parsing the replay), billed per the
 * model's config, still rate limited, never shared between tenants; `x-simo-cache` forces or bypasses
 * it; answers over the size cap, abandoned streams and streams cut off upstream are never kept.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomBase62 } from '../../src/shared/ids.js';
import { createTestDatabase } from '../support/databases.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { type SignedUp, startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith, TEST_REDIS_URL } from '../support/services.js';

const pricing = { inputPerMTok: 1, outputPerMTok: 2 };
const MAX_ENTRY_BYTES = 4_000;

let up: FakeUpstream;
let gw: TestGateway;
let alice: SignedUp;
let bob: SignedUp;
let question = 0;

beforeAll(async () => {
  up = await startFakeUpstream();
  const cached = (id: string, billing: 'free' | 'full' | number, when?: 'always') => ({
    id,
    pricing,
    routes: [{ provider: 'up' }],
    cache: { ttlSeconds: 60, billing, ...(when ? { when } : {}) },
  });
  gw = await startTestGateway({
    config: {
      providers: [{ id: 'up', type: 'openai-compatible', baseUrl: up.v1 }],
      models: [
        cached('free', 'free'),
        cached('full', 'full'),
        cached('half', 0.5),
        cached('always', 'free', 'always'),
        { id: 'plain', pricing, routes: [{ provider: 'up' }] },
      ],
      responseCache: { maxEntryBytes: MAX_ENTRY_BYTES },
      routing: { routeHeader: true },
    },
  });
  [alice, bob] = [await gw.signUp(), await gw.signUp()];
});
afterAll(async () => {
  await gw?.stop();
  await up?.stop();
});
beforeEach(async () => {
  await Promise.all([up.reset(), up.resetStats()]);
});

/** A question no earlier test asked, so each test starts with a cold cache. */
const fresh = () => [{ role: 'user', content: `Question number ${++question}` }];

function chat(who: SignedUp, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return fetch(`${gw.v1}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${who.apiKey}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

async function usageRecord(requestId: string | null) {
  await gw.server.container.meter.flush();
  return gw.server.container.database.db
    .selectFrom('usage_records')
    .selectAll()
    .where('request_id', '=', requestId ?? '')
    .executeTakeFirstOrThrow();
}

const costOf = (r: { cost_micros: number; cost_picos: number }) => r.cost_micros * 1e6 + r.cost_picos;
const upstreamChats = async () => (await up.stats()).chat;

describe('response cache', () => {
  it('answers a repeated deterministic request from the cache, free, without an upstream call', async () => {
    const body = { model: 'free', messages: fresh(), temperature: 0 };
    const first = await chat(alice, body);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-simo-cache')).toBe('miss');
    const second = await chat(alice, body);
    expect(second.status).toBe(200);
    expect(second.headers.get('x-simo-cache')).toBe('hit');
    expect(await upstreamChats()).toBe(1);
    // x-simo-route says the cache answered, with the route that made the answer and no attempt now.
    expect(first.headers.get('x-simo-route')).toBe('provider=up; model=free; attempts=1');
    expect(second.headers.get('x-simo-route')).toBe('provider=up; model=free; attempts=0; cache=hit');
    const [a, b] = [await first.json(), (await second.json()) as { model: string }];
    expect(b).toEqual(a);
    expect(b.model).toBe('free');

    const miss = await usageRecord(first.headers.get('x-request-id'));
    const hit = await usageRecord(second.headers.get('x-request-id'));
    expect(miss).toMatchObject({ cache: 'miss', status: 200, provider: 'up', attempts: 1 });
    expect(costOf(miss)).toBeGreaterThan(0);
    // The hit is recorded with the same tokens, marked cached, and costs nothing.
    expect(hit).toMatchObject({
      cache: 'hit',
      attempts: 0,
      provider: 'up',
      prompt_tokens: miss.prompt_tokens,
      completion_tokens: miss.completion_tokens,
      cost_micros: 0,
      cost_picos: 0,
    });

    // The tenant sees both in its usage records.
    const res = await fetch(`${gw.url}/admin/usage/records?limit=2`, {
      headers: { authorization: `Bearer ${alice.apiKey}` },
    });
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as { data: Array<Record<string, unknown>> };
    expect(data).toEqual([
      expect.objectContaining({ request_id: hit.request_id, cache: 'hit', attempts: 0, cost: '0.000000' }),
      expect.objectContaining({ request_id: miss.request_id, cache: 'miss', attempts: 1, provider: 'up' }),
    ]);
  });

  it('bills a hit at the full price or at the configured fraction', async () => {
    for (const [model, factor] of [
      ['full', 1],
      ['half', 0.5],
    ] as const) {
      const body = { model, messages: fresh(), seed: 7 };
      const first = await chat(alice, body);
      const second = await chat(alice, body);
      expect(second.headers.get('x-simo-cache')).toBe('hit');
      const miss = await usageRecord(first.headers.get('x-request-id'));
      const hit = await usageRecord(second.headers.get('x-request-id'));
      expect(costOf(hit)).toBe(Math.floor(costOf(miss) * factor));
    }
  });

  it('never answers one tenant from another tenant’s cache', async () => {
    const body = { model: 'free', messages: fresh(), temperature: 0 };
    await chat(alice, body);
    expect((await chat(alice, body)).headers.get('x-simo-cache')).toBe('hit');
    const other = await chat(bob, body);
    expect(other.headers.get('x-simo-cache')).toBe('miss');
    expect(await upstreamChats()).toBe(2);
    // And the other tenant's own answer is a hit for it only afterwards.
    expect((await chat(bob, body)).headers.get('x-simo-cache')).toBe('hit');
    expect(await upstreamChats()).toBe(2);
  });

  it('leaves non-deterministic requests alone unless forced; no-store bypasses it', async () => {
    const body = { model: 'free', messages: fresh() };
    const plain = await chat(alice, body);
    expect(plain.headers.get('x-simo-cache')).toBeNull();
    await chat(alice, body);
    expect(await upstreamChats()).toBe(2);

    expect((await chat(alice, body, { 'x-simo-cache': 'force' })).headers.get('x-simo-cache')).toBe('miss');
    expect((await chat(alice, body, { 'x-simo-cache': 'force' })).headers.get('x-simo-cache')).toBe('hit');
    expect(await upstreamChats()).toBe(3);

    const det = { model: 'free', messages: fresh(), temperature: 0 };
    await chat(alice, det);
    const bypass = await chat(alice, det, { 'x-simo-cache': 'no-store' });
    expect(bypass.headers.get('x-simo-cache')).toBeNull();
    expect(await upstreamChats()).toBe(5);

    // A model that caches `always` needs no temperature 0; a model without `cache` never caches.
    const any = { model: 'always', messages: fresh(), temperature: 1 };
    await chat(alice, any);
    expect((await chat(alice, any)).headers.get('x-simo-cache')).toBe('hit');
    const uncached = { model: 'plain', messages: fresh(), temperature: 0 };
    await chat(alice, uncached, { 'x-simo-cache': 'force' });
    expect((await chat(alice, uncached, { 'x-simo-cache': 'force' })).headers.get('x-simo-cache')).toBeNull();
  });

  it('replays a streamed answer as the same SSE stream, which the OpenAI SDK reads', async () => {
    const client = new OpenAI({ baseURL: gw.v1, apiKey: alice.apiKey, maxRetries: 0 });
    const messages = fresh() as Array<{ role: 'user'; content: string }>;
    const read = async () => {
      const { data, response } = await client.chat.completions
        .create({
          model: 'free',
          messages,
          temperature: 0,
          stream: true,
          stream_options: { include_usage: true },
        })
        .withResponse();
      let text = '';
      let usage: unknown;
      for await (const chunk of data) {
        text += chunk.choices[0]?.delta.content ?? '';
        if (chunk.usage) usage = chunk.usage;
        expect(chunk.model).toBe('free');
      }
      return {
        text,
        usage,
        cache: response.headers.get('x-simo-cache'),
        route: response.headers.get('x-simo-route'),
        requestId: response.headers.get('x-request-id'),
      };
    };
    const live = await read();
    const replay = await read();
    expect(live.cache).toBe('miss');
    expect(replay.cache).toBe('hit');
    expect(replay.route).toBe('provider=up; model=free; attempts=0; cache=hit');
    expect(await usageRecord(replay.requestId)).toMatchObject({ cache: 'hit', attempts: 0, streamed: 1 });
    expect(replay.text).toBe(live.text);
    expect(live.text).toBe('Hello from fake upstream');
    expect(replay.usage).toEqual(live.usage);
    expect(await upstreamChats()).toBe(1);

    // The wire format of the replay is the live one: data lines, blank lines, `[DONE]` last; the
    // usage chunk only when asked for.
    const raw = await chat(alice, { model: 'free', messages, temperature: 0, stream: true });
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const wire = await raw.text();
    expect(wire.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(wire).not.toContain('"usage"');
    expect(await upstreamChats()).toBe(1);
  });

  it('counts hits against the rate limit', async () => {
    const body = { model: 'free', messages: fresh(), temperature: 0 };
    const first = await chat(alice, body);
    const second = await chat(alice, body);
    expect(second.headers.get('x-simo-cache')).toBe('hit');
    const remaining = (r: Response) => Number(r.headers.get('x-ratelimit-remaining'));
    expect(remaining(second)).toBe(remaining(first) - 1);
  });

  it('does not keep an answer larger than the entry cap', async () => {
    await up.control('words:2000');
    const body = { model: 'free', messages: fresh(), temperature: 0 };
    for (const stream of [false, true]) {
      const first = await chat(alice, { ...body, stream });
      expect(first.status).toBe(200);
      expect((await first.text()).length).toBeGreaterThan(MAX_ENTRY_BYTES);
      expect((await chat(alice, { ...body, stream })).headers.get('x-simo-cache')).toBe('miss');
    }
    expect(await upstreamChats()).toBe(4);
  });

  it('does not keep a stream its client abandoned or its upstream cut off', async () => {
    const body = { model: 'free', messages: fresh(), temperature: 0, stream: true };
    await up.control('pace:50,words:40', 1);
    const abort = new AbortController();
    const res = await fetch(`${gw.v1}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    abort.abort();
    await new Promise((r) => setTimeout(r, 300));
    const after = await chat(alice, body);
    expect(after.headers.get('x-simo-cache')).toBe('miss');
    await after.text();

    const cut = { model: 'free', messages: fresh(), temperature: 0, stream: true };
    await up.control('drop-after:2', 1);
    await (await chat(alice, cut)).text();
    const again = await chat(alice, cut);
    expect(again.headers.get('x-simo-cache')).toBe('miss');
    await again.text();
  });

  it('serves the other chat surfaces from the same cache', async () => {
    const body = { model: 'free', prompt: `Complete number ${++question}`, temperature: 0 };
    const post = () =>
      fetch(`${gw.v1}/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post()).headers.get('x-simo-cache')).toBe('miss');
    const second = await post();
    expect(second.headers.get('x-simo-cache')).toBe('hit');
    expect(((await second.json()) as { object: string }).object).toBe('text_completion');
    expect(await upstreamChats()).toBe(1);
  });

  it('shows the hit ratio in /metrics', async () => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).toMatch(/simosphere_response_cache_lookups_total\{model="free",outcome="hit"\} [1-9]/);
    const ratio = Number(/^simosphere_response_cache_hit_ratio (\S+)$/m.exec(text)?.[1]);
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThan(1);
  });
});

await describeWith('redis', 'response cache in Redis, shared by replicas', () => {
  it('answers on one replica what another kept, and never across tenants', async () => {
    const database = await createTestDatabase(
      process.env.SIMO_TEST_DIALECT === 'postgres' ? 'postgres' : 'sqlite',
    );
    const shared = {
      database,
      env: { SIMO_REDIS_URL: TEST_REDIS_URL },
      config: {
        providers: [{ id: 'up', type: 'openai-compatible' as const, baseUrl: up.v1 }],
        models: [{ id: 'free', routes: [{ provider: 'up' }], cache: { ttlSeconds: 60 } }],
        redis: { keyPrefix: `test:${randomBase62(10)}:` },
      },
    };
    const one = await startTestGateway(shared);
    const two = await startTestGateway(shared);
    try {
      const [carol, dave] = [await one.signUp(), await one.signUp()];
      const body = JSON.stringify({ model: 'free', messages: fresh(), temperature: 0 });
      const post = (replica: TestGateway, who: SignedUp) =>
        fetch(`${replica.v1}/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${who.apiKey}`, 'content-type': 'application/json' },
          body,
        });
      expect((await post(one, carol)).headers.get('x-simo-cache')).toBe('miss');
      await one.server.container.responseCache?.drain();
      expect((await post(two, carol)).headers.get('x-simo-cache')).toBe('hit');
      expect((await post(two, dave)).headers.get('x-simo-cache')).toBe('miss');
      expect(await upstreamChats()).toBe(2);
    } finally {
      await one.stop();
      await two.stop();
      await database.drop();
    }
  });
});
