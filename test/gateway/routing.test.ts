/**
 * Routing over real upstream processes: fallback between routes, what does and does not fall through,
 * the errors when every route fails, failures and aborts mid-stream, pacing, and graceful shutdown.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const FIRST_BYTE_TIMEOUT_MS = 300;
const hello = [{ role: 'user', content: 'Hello' }];
const ADMIN_TOKEN = 'routing-test-operator-token';

let a: FakeUpstream;
let b: FakeUpstream;
let gw: TestGateway;
let apiKey: string;
let tenantId: string;
/** Answers streams like vLLM does: headers at once, the first event only after a long think. */
let slowFirstEvent: Server;
let slowUrl: string;

/** A loopback port nobody listens on: connecting to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return address.port;
}

async function startSlowFirstEvent(): Promise<void> {
  slowFirstEvent = createHttpServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    const timer = setTimeout(() => res.end('data: {"choices":[]}\n\ndata: [DONE]\n\n'), 3000);
    res.on('close', () => clearTimeout(timer));
  });
  await new Promise<void>((resolve) => slowFirstEvent.listen(0, '127.0.0.1', resolve));
  const address = slowFirstEvent.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  slowUrl = `http://127.0.0.1:${address.port}/v1`;
}

function routingConfig(deadUrl: string): ConfigInput {
  const up = (id: string, baseUrl: string) => ({
    id,
    type: 'openai-compatible' as const,
    baseUrl,
    firstByteTimeoutMs: FIRST_BYTE_TIMEOUT_MS,
  });
  return {
    routing: { routeHeader: true },
    adminToken: ADMIN_TOKEN,
    providers: [
      up('a', a.v1),
      up('b', b.v1),
      up('dead', deadUrl),
      up('slow', slowUrl),
      { id: 'sim', type: 'simulator' },
    ],
    models: [
      {
        id: 'chain',
        routes: [
          { provider: 'a', model: 'model-on-a' },
          { provider: 'b', model: 'model-on-b' },
        ],
      },
      { id: 'dead-then-b', routes: [{ provider: 'dead' }, { provider: 'b' }] },
      { id: 'only-a', routes: [{ provider: 'a' }] },
      { id: 'only-dead', routes: [{ provider: 'dead' }] },
      { id: 'slow-then-b', routes: [{ provider: 'slow' }, { provider: 'b' }] },
      { id: 'only-slow', routes: [{ provider: 'slow' }] },
      { id: 'sim', routes: [{ provider: 'sim' }] },
    ],
  };
}

beforeAll(async () => {
  [a, b] = await Promise.all([startFakeUpstream(), startFakeUpstream(), startSlowFirstEvent()]);
  gw = await startTestGateway({ config: routingConfig(`http://127.0.0.1:${await closedPort()}/v1`) });
  ({ apiKey, tenantId } = await gw.signUp());
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([a?.stop(), b?.stop()]);
  slowFirstEvent?.closeAllConnections();
  await new Promise((resolve) => slowFirstEvent?.close(resolve));
});
beforeEach(async () => {
  await Promise.all([a.reset(), b.reset(), a.resetStats(), b.resetStats()]);
});

function chat(model: string, extra: Record<string, unknown> = {}, init: RequestInit = {}, url = gw.v1) {
  return fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: hello, ...extra }),
    ...init,
  });
}

/** The model name the upstream was last asked for. */
async function upstreamModel(upstream: FakeUpstream): Promise<unknown> {
  const body = (await upstream.stats()).lastRequest?.body as { model?: unknown } | undefined;
  return body?.model;
}

async function answerOf(res: Response) {
  expect(res.status).toBe(200);
  return (await res.json()) as { model: string; choices: Array<{ message: { content: string } }> };
}

async function expectEnvelope(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: Record<string, unknown> };
  expect(body.error).toMatchObject({ code, type: 'server_error', param: null });
  expect(typeof body.error.message).toBe('string');
}

interface TimedEvent {
  at: number;
  data: string;
}

/** Reads an SSE response event by event, stamping each with its arrival time. */
async function readEvents(
  res: Response,
  onEvent?: (e: TimedEvent, n: number) => void,
): Promise<TimedEvent[]> {
  const events: TimedEvent[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const at = performance.now();
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const raw = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      expect(raw.startsWith('data: ')).toBe(true);
      const event = { at, data: raw.slice('data: '.length) };
      events.push(event);
      onEvent?.(event, events.length);
      end = buffer.indexOf('\n\n');
    }
  }
  expect(buffer).toBe('');
  return events;
}

describe('fallback before the first byte', () => {
  it('serves from the first route when it works, with its upstream model name', async () => {
    expect((await answerOf(await chat('chain'))).model).toBe('chain');
    expect(await upstreamModel(a)).toBe('model-on-a');
    expect((await b.stats()).requests).toBe(0);
  });

  it.each(['status:500', 'status:503', 'status:502', 'status:429'])(
    'falls through on %s',
    async (behavior) => {
      await a.control(behavior, 1);
      const answer = await answerOf(await chat('chain'));
      expect(answer.model).toBe('chain');
      expect((await a.stats()).chat).toBe(1);
      expect((await b.stats()).chat).toBe(1);
      expect(await upstreamModel(b)).toBe('model-on-b');
    },
  );

  it('falls through when the connection is refused', async () => {
    const answer = await answerOf(await chat('dead-then-b'));
    expect(answer.choices[0]?.message.content).toBe('Hello from fake upstream');
    expect((await b.stats()).chat).toBe(1);
  });

  it('falls through when the first byte does not come in time', async () => {
    await a.control('stall:3000', 1);
    const started = performance.now();
    await answerOf(await chat('chain'));
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(FIRST_BYTE_TIMEOUT_MS - 20);
    expect(elapsed).toBeLessThan(FIRST_BYTE_TIMEOUT_MS + 500);
    expect((await b.stats()).chat).toBe(1);
  });

  it('falls through for streams too', async () => {
    await a.control('status:503', 1);
    const res = await chat('chain', { stream: true });
    expect(res.status).toBe(200);
    const events = await readEvents(res);
    expect(events.at(-1)?.data).toBe('[DONE]');
    expect((await b.stats()).chat).toBe(1);
  });

  it('falls through for a stream whose first byte does not come in time', async () => {
    await a.control('stall:3000', 1);
    const res = await chat('chain', { stream: true });
    expect(res.status).toBe(200);
    expect((await readEvents(res)).at(-1)?.data).toBe('[DONE]');
    expect((await b.stats()).chat).toBe(1);
  });

  it('falls through when headers come at once but the first event does not', async () => {
    const started = performance.now();
    const res = await chat('slow-then-b', { stream: true });
    expect(res.status).toBe(200);
    expect((await readEvents(res)).at(-1)?.data).toBe('[DONE]');
    expect(performance.now() - started).toBeLessThan(FIRST_BYTE_TIMEOUT_MS + 1000);
    expect((await b.stats()).chat).toBe(1);
    await expectEnvelope(await chat('only-slow', { stream: true }), 504, 'upstream_timeout');
  });

  it('does not fall through on an upstream 400: the client gets it', async () => {
    await a.control('status:400', 1);
    const res = await chat('chain');
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' });
    expect((await b.stats()).requests).toBe(0);
  });
});

describe('when every route fails', () => {
  it('answers 502 upstream_error for upstream 5xx', async () => {
    await a.control('status:500', 1);
    await expectEnvelope(await chat('only-a'), 502, 'upstream_error');
  });

  it('answers 503 upstream_unavailable for an overloaded upstream', async () => {
    await a.control('status:503', 1);
    await expectEnvelope(await chat('only-a'), 503, 'upstream_unavailable');
  });

  it('answers 503 upstream_unavailable when nothing listens', async () => {
    await expectEnvelope(await chat('only-dead'), 503, 'upstream_unavailable');
    await expectEnvelope(await chat('only-dead', { stream: true }), 503, 'upstream_unavailable');
  });

  it('answers 504 upstream_timeout when the first byte never comes', async () => {
    await a.control('stall:3000', 2);
    await expectEnvelope(await chat('only-a'), 504, 'upstream_timeout');
    await expectEnvelope(await chat('only-a', { stream: true }), 504, 'upstream_timeout');
  });

  it('reports both tried routes failing with the last route’s error', async () => {
    await a.control('status:500', 1);
    await b.control('status:503', 1);
    await expectEnvelope(await chat('chain'), 503, 'upstream_unavailable');
    expect((await a.stats()).chat + (await b.stats()).chat).toBe(2);
  });
});

/** The usage record of a request, once the meter has written it. */
async function usageRecord(res: Response) {
  await gw.server.container.meter.flush();
  return gw.server.container.database.db
    .selectFrom('usage_records')
    .selectAll()
    .where('request_id', '=', res.headers.get('x-request-id') ?? '')
    .executeTakeFirstOrThrow();
}

describe('the route in the usage record and x-simo-route', () => {
  it('names the first route, tried once, when it answers', async () => {
    const res = await chat('chain');
    await answerOf(res);
    expect(res.headers.get('x-simo-route')).toBe('provider=a; model=model-on-a; attempts=1');
    expect(await usageRecord(res)).toMatchObject({
      provider: 'a',
      upstream_model: 'model-on-a',
      attempts: 1,
      cache: null,
    });
  });

  it('counts both routes of a fallthrough and names the one that answered', async () => {
    await a.control('status:503', 2);
    const json = await chat('chain');
    await answerOf(json);
    const stream = await chat('chain', { stream: true });
    expect((await readEvents(stream)).at(-1)?.data).toBe('[DONE]');
    for (const res of [json, stream]) {
      expect(res.headers.get('x-simo-route')).toBe('provider=b; model=model-on-b; attempts=2');
      expect(await usageRecord(res)).toMatchObject({
        provider: 'b',
        upstream_model: 'model-on-b',
        attempts: 2,
        status: 200,
      });
    }
  });

  it('counts the routes tried when none answered', async () => {
    await a.control('status:500', 1);
    await b.control('status:503', 1);
    const res = await chat('chain');
    await expectEnvelope(res, 503, 'upstream_unavailable');
    expect(res.headers.get('x-simo-route')).toBeNull();
    expect(await usageRecord(res)).toMatchObject({ provider: null, attempts: 2, status: 503 });
  });

  it('lists the records with their route and attempts to the operator, newest first, in pages', async () => {
    await a.control('status:503', 1);
    const fallthrough = await chat('chain');
    await answerOf(fallthrough);
    const direct = await chat('chain');
    await answerOf(direct);
    const list = async (query: string) => {
      const res = await fetch(`${gw.url}/operator/tenants/${tenantId}/usage/records?${query}`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { data: Array<Record<string, unknown>>; has_more: boolean };
    };
    const first = await list('limit=1');
    expect(first.has_more).toBe(true);
    expect(first.data).toEqual([
      expect.objectContaining({
        request_id: direct.headers.get('x-request-id'),
        provider: 'a',
        upstream_model: 'model-on-a',
        attempts: 1,
        cache: null,
        status: 200,
        endpoint: 'chat.completions',
      }),
    ]);
    const next = await list(`limit=1&before=${first.data[0]!.request_id}`);
    expect(next.data).toEqual([
      expect.objectContaining({
        request_id: fallthrough.headers.get('x-request-id'),
        provider: 'b',
        upstream_model: 'model-on-b',
        attempts: 2,
      }),
    ]);
    const refused = await fetch(`${gw.url}/operator/tenants/${tenantId}/usage/records`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(refused.status).toBe(401);
  });
});

describe('streams after the first byte', () => {
  it('reports a mid-stream failure as one error event, then [DONE]', async () => {
    await a.control('drop-after:2', 1);
    const res = await chat('chain', { stream: true });
    expect(res.status).toBe(200);
    const events = await readEvents(res);
    const data = events.map((e) => e.data);
    expect(data.at(-1)).toBe('[DONE]');
    const error = JSON.parse(data.at(-2)!) as { error: Record<string, unknown> };
    expect(error.error).toMatchObject({ type: 'server_error', code: 'upstream_error', param: null });
    const chunks = data
      .slice(0, -2)
      .map((d) => JSON.parse(d) as { choices: Array<{ delta: { content?: string } }> });
    // The role chunk, then the two content chunks sent before the drop.
    expect(chunks).toHaveLength(3);
    expect(chunks.map((c) => c.choices[0]?.delta.content).join('')).toBe('Hello from ');
    // Once bytes flowed there is no fallback.
    expect((await b.stats()).requests).toBe(0);
  });

  it('aborts the upstream request promptly when the client leaves', async () => {
    await a.control('pace:50,words:60', 1);
    const controller = new AbortController();
    const res = await chat('only-a', { stream: true }, { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    // Typically a few ms; the bound leaves room for a machine busy with other work.
    const deadline = performance.now() + 2000;
    let aborted = 0;
    while (performance.now() < deadline) {
      aborted = (await a.stats()).aborted;
      if (aborted > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(aborted).toBe(1);
  });

  it('aborts a non-streamed upstream request when the client leaves (before its timeout)', async () => {
    const failures = async (kind: string) =>
      (await gw.server.container.metrics.upstreamFailures.get()).values.find(
        (v) => v.labels.provider === 'a' && v.labels.kind === kind,
      )?.value ?? 0;
    const [abortedBefore, timeoutsBefore] = [await failures('aborted'), await failures('timeout')];
    await a.control('stall:3000', 1);
    const controller = new AbortController();
    const pending = chat('only-a', {}, { signal: controller.signal }).catch(() => undefined);
    const deadline = performance.now() + 2000;
    while ((await a.stats()).requests === 0 && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    await pending;
    while ((await a.stats()).aborted === 0 && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect((await a.stats()).aborted).toBe(1);
    // Cancelled because the client left, not by the first-byte timeout (300 ms) running out.
    expect(await failures('aborted')).toBe(abortedBefore + 1);
    expect(await failures('timeout')).toBe(timeoutsBefore);
  });

  it('relays paced chunks as they arrive, not buffered', async () => {
    await a.control('pace:40,words:5', 1);
    const started = performance.now();
    const res = await chat('only-a', { stream: true });
    const events = await readEvents(res);
    // role, 5 words, finish: each one paced 40 ms apart upstream.
    const content = events.filter((e) => e.data !== '[DONE]' && !e.data.includes('"choices":[]'));
    expect(content).toHaveLength(7);
    const gaps = content.slice(1).map((e, i) => e.at - content[i]!.at);
    // A buffering relay would deliver everything at once. Scheduling noise on a busy machine can merge
    // a pair of chunks now and then, so look at the spread and the typical gap, not every single one.
    expect(content.at(-1)!.at - content[0]!.at).toBeGreaterThan(6 * 40 * 0.75);
    expect([...gaps].sort((x, y) => x - y)[Math.floor(gaps.length / 2)]).toBeGreaterThan(25);
    expect(content[0]!.at - started).toBeLessThan(200);
  });
});

describe('simulator provider', () => {
  it('honours max_tokens, and streams the same text', async () => {
    const res = await chat('sim', { max_tokens: 3 });
    const answer = (await res.json()) as {
      choices: Array<{ message: { content: string }; finish_reason: string }>;
      usage: { completion_tokens: number };
    };
    expect(answer.choices[0]?.finish_reason).toBe('length');
    expect(answer.usage.completion_tokens).toBe(3);
    const text = answer.choices[0]!.message.content;
    expect(text.trim().split(' ')).toHaveLength(3);

    const streamed = await readEvents(await chat('sim', { max_tokens: 3, stream: true }));
    const chunks = streamed.slice(0, -1).map((e) => JSON.parse(e.data) as Record<string, unknown>);
    expect(streamed.at(-1)?.data).toBe('[DONE]');
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
    const deltas = chunks.map(
      (c) => (c.choices as Array<{ delta: { content?: string } }>)[0]?.delta.content ?? '',
    );
    expect(deltas.join('')).toBe(text);
  });

  it('adds the usage chunk only with stream_options.include_usage', async () => {
    const res = await chat('sim', {
      max_completion_tokens: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
    const events = await readEvents(res);
    const last = JSON.parse(events.at(-2)!.data) as { choices: unknown[]; usage: Record<string, number> };
    expect(last.choices).toEqual([]);
    expect(last.usage.completion_tokens).toBe(2);
    expect(last.usage.total_tokens).toBe(last.usage.prompt_tokens! + 2);
  });
});

describe('graceful shutdown', () => {
  it('lets a stream in flight finish with [DONE]', async () => {
    const own = await startTestGateway({ config: routingConfig(a.v1) });
    const key = (await own.signUp()).apiKey;
    await a.control('pace:30,words:10', 1);
    const res = await fetch(`${own.v1}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'only-a', messages: hello, stream: true }),
    });
    let stopping: Promise<void> | undefined;
    const events = await readEvents(res, (_e, n) => {
      if (n === 2) stopping = own.stop();
    });
    expect(stopping).toBeDefined();
    await stopping;
    expect(events.at(-1)?.data).toBe('[DONE]');
    expect(events.some((e) => e.data.includes('"error"'))).toBe(false);
    expect(events.length).toBeGreaterThanOrEqual(12);
    // And it no longer accepts connections.
    await expect(fetch(`${own.url}/healthz`)).rejects.toThrow();
  });
});
