/**
 * Slow and greedy clients, over raw sockets: a head or body trickled in is cut off with a 408, a
 * client that stops reading its stream is cut off (upstream aborted, what was generated billed),
 * and one address cannot hold more than its share of connections; while paced streams and slow
 * but reading clients are served to the end.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { type SignedUp, startTestGateway, type TestGateway } from '../support/gateway.js';

const MODEL = 'qwen/qwen3-8b';

/** A raw client: everything it received, and whether the server closed it. */
interface RawClient {
  socket: Socket;
  received(): string;
  closed: Promise<number>;
}

async function rawClient(url: string): Promise<RawClient> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const opened = performance.now();
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => resolve(performance.now() - opened)),
  );
  return { socket, received: () => Buffer.concat(chunks).toString('latin1'), closed };
}

/** Resolves with the value, or with 'still open' once `ms` have passed. */
const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<'still open'>((r) => setTimeout(() => r('still open'), ms).unref())]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The JSON body of a raw HTTP/1.1 answer (Content-Length framed). */
function jsonBody(raw: string): { error: { code: string; type: string } } {
  return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
}

async function waitFor<T>(probe: () => Promise<T | undefined>, ms: number): Promise<T | undefined> {
  const until = performance.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined || performance.now() > until) return value;
    await sleep(100);
  }
}

describe('request timeouts', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ config: { limits: { headersTimeoutMs: 500, requestTimeoutMs: 1500 } } });
  });
  afterAll(() => gw?.stop());

  it('answers a body trickled in byte by byte with a 408 and closes the connection', async () => {
    const client = await rawClient(gw.url);
    client.socket.write(
      'POST /register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{',
    );
    const trickle = setInterval(() => client.socket.writable && client.socket.write(' '), 200);
    try {
      const closedAfter = await within(client.closed, 6_000);
      expect(closedAfter).not.toBe('still open');
      expect(closedAfter).toBeLessThan(1500 + 1500);
    } finally {
      clearInterval(trickle);
      client.socket.destroy();
    }
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(jsonBody(client.received()).error).toMatchObject({
      code: 'request_timeout',
      type: 'invalid_request_error',
    });
  });

  it('answers a head that never ends with a 408', async () => {
    const client = await rawClient(gw.url);
    client.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    const closedAfter = await within(client.closed, 6_000);
    client.socket.destroy();
    expect(closedAfter).not.toBe('still open');
    expect(closedAfter).toBeLessThan(500 + 1500);
    expect(jsonBody(client.received()).error.code).toBe('request_timeout');
  });

  it('does not bound a request once it has arrived, nor a keep-alive connection between requests', async () => {
    const client = await rawClient(gw.url);
    const get = 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n';
    client.socket.write(get);
    await sleep(2_000); // longer than both timeouts, idle between requests
    client.socket.write(get);
    await waitFor(
      async () => (client.received().split('HTTP/1.1 200').length === 3 ? true : undefined),
      3_000,
    );
    client.socket.destroy();
    expect(client.received().split('HTTP/1.1 200')).toHaveLength(3);
  });
});

it('takes timeouts longer than Node defaults, and refuses a head timeout longer than the request timeout', async () => {
  const long = await startTestGateway({
    config: { limits: { headersTimeoutMs: 400_000, requestTimeoutMs: 600_000 } },
  });
  expect((await fetch(`${long.url}/healthz`)).status).toBe(200);
  await long.stop();
  expect(() =>
    loadConfig({ env: {}, overrides: { limits: { headersTimeoutMs: 5_000, requestTimeoutMs: 1_000 } } }),
  ).toThrow(/headersTimeoutMs must not exceed requestTimeoutMs/);
});

describe('streams whose client stops reading', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let tenant: SignedUp;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    gw = await startTestGateway({
      env: { SIMO_UPSTREAM_URL: upstream.v1 },
      config: { limits: { writeTimeoutMs: 1000, headersTimeoutMs: 500, requestTimeoutMs: 1000 } },
    });
    tenant = await gw.signUp();
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.stop();
  });
  beforeEach(async () => {
    await upstream.reset();
    await upstream.resetStats();
  });

  const usageRows = async () => {
    const c = gw.server.container;
    await c.meter.flush();
    return c.database.db
      .selectFrom('usage_records')
      .select(['status', 'completion_tokens', 'streamed'])
      .where('tenant_id', '=', tenant.tenantId)
      .execute();
  };

  const streamRequest = (content = 'hi') => {
    const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }], stream: true });
    return (
      `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${tenant.apiKey}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    );
  };

  it('cuts off a client that never reads a large fast answer, aborts the upstream and bills what was generated', async () => {
    const before = (await usageRows()).length;
    // ~20 MB of events, more than the socket buffers between us and the client take, each carrying a
    // one-letter token so that billing what was generated stays cheap.
    const letters = Array.from({ length: 120_000 }, (_, i) => 'abcdefghij'[i % 10]).join(' ');
    await upstream.control(`burst:200,content:${encodeURIComponent(letters)}`, 1);
    const client = await rawClient(gw.url);
    // Read the first bytes (the stream started), then never read again.
    client.socket.once('data', () => client.socket.pause());
    client.socket.write(streamRequest());
    const rows = await waitFor(async () => {
      const all = await usageRows();
      return all.length > before ? all : undefined;
    }, 40_000);
    client.socket.destroy();
    expect(rows, 'the stream was settled while the client still held it').toBeDefined();
    const row = rows!.at(-1)!;
    expect(row.status).toBe(200);
    expect(row.completion_tokens).toBeGreaterThan(0);
    expect(row.completion_tokens).toBeLessThan(120_000);
    const aborted = await waitFor(
      async () => ((await upstream.stats()).aborted > 0 ? true : undefined),
      5_000,
    );
    expect(aborted, 'the upstream request was aborted').toBe(true);
    // 20 MB through a fake upstream, the gateway and a stalled socket: slow on a busy machine.
  }, 60_000);

  it('serves a paced stream that outlasts every timeout, and a slow client that keeps reading', async () => {
    await upstream.control('pace:300,words:8', 1);
    const paced = await fetch(`${gw.v1}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    const pacedText = await paced.text();
    expect(pacedText.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(pacedText).not.toContain('"error"');

    // A few MB, read in small sips with pauses shorter than the write timeout.
    await upstream.control('words:30000', 1);
    const client = await rawClient(gw.url);
    const sipper = setInterval(() => {
      client.socket.resume();
      setTimeout(() => client.socket.pause(), 20);
    }, 300);
    client.socket.write(streamRequest());
    client.socket.pause();
    const done = await waitFor(
      async () => (client.received().includes('data: [DONE]') ? true : undefined),
      60_000,
    );
    clearInterval(sipper);
    client.socket.destroy();
    expect(done).toBe(true);
    expect((await upstream.stats()).aborted).toBe(0);
  });
});

describe('connections per address', () => {
  it('answers a direct connection over the cap with 429 and closes it', async () => {
    const gw = await startTestGateway({ config: { limits: { maxConnectionsPerAddress: 3 } } });
    const held = await Promise.all([1, 2, 3].map(() => rawClient(gw.url)));
    try {
      const extra = await rawClient(gw.url);
      extra.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
      expect(await within(extra.closed, 3_000)).not.toBe('still open');
      expect(extra.received()).toMatch(/^HTTP\/1\.1 429 /);
      expect(extra.received()).toMatch(/\r\nconnection: close\r\n/i);
      expect(extra.received()).toMatch(/\r\nretry-after: 1\r\n/i);
      expect(jsonBody(extra.received()).error).toMatchObject({
        code: 'too_many_connections',
        type: 'rate_limit_error',
      });
      // A held connection is served; once one closes, a new one is admitted.
      held[0]!.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await waitFor(async () => (held[0]!.received().includes('HTTP/1.1 200') ? true : undefined), 3_000);
      expect(held[0]!.received()).toMatch(/^HTTP\/1\.1 200 /);
      held[0]!.socket.destroy();
      await held[0]!.closed;
      const status = await waitFor(async () => {
        const res = await fetch(`${gw.url}/healthz`, { headers: { connection: 'close' } });
        return res.status === 200 ? 200 : undefined;
      }, 3_000);
      expect(status).toBe(200);
    } finally {
      for (const c of held) c.socket.destroy();
      await gw.stop();
    }
  });

  it('behind a trusted proxy, caps requests in flight per forwarded address, not the proxy', async () => {
    const gw = await startTestGateway({
      env: { SIMO_TRUST_PROXY: '127.0.0.1' },
      config: { limits: { maxConnectionsPerAddress: 2 } },
    });
    // The proxy's own connections are not capped.
    const proxy = await Promise.all([1, 2, 3, 4].map(() => rawClient(gw.url)));
    const startRequest = (c: RawClient, client: string) =>
      c.socket.write(
        `POST /register HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: ${client}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
      );
    try {
      // Two requests of one client in flight (their bodies still coming).
      startRequest(proxy[0]!, '203.0.113.7');
      startRequest(proxy[1]!, '203.0.113.7');
      await sleep(200);
      const get = (client: string) =>
        fetch(`${gw.url}/healthz`, { headers: { 'x-forwarded-for': client } }).then(async (r) => ({
          status: r.status,
          body: await r.text(),
          connection: r.headers.get('connection'),
        }));
      const third = await get('203.0.113.7');
      expect(third.status).toBe(429);
      expect(JSON.parse(third.body).error.code).toBe('too_many_connections');
      expect(third.connection).not.toBe('close');
      expect((await get('203.0.113.8')).status).toBe(200);
      // IPv6 clients count per /64, like every per-address limit.
      startRequest(proxy[2]!, '2001:db8:1:2::7');
      startRequest(proxy[3]!, '2001:db8:1:2::8');
      await sleep(200);
      expect((await get('2001:db8:1:2::9')).status).toBe(429);
      expect((await get('2001:db8:1:3::9')).status).toBe(200);
      // Once the client's requests end, it is served again.
      proxy[0]!.socket.destroy();
      proxy[1]!.socket.destroy();
      const status = await waitFor(
        async () => ((await get('203.0.113.7')).status === 200 ? 200 : undefined),
        3_000,
      );
      expect(status).toBe(200);
    } finally {
      for (const c of proxy) c.socket.destroy();
      await gw.stop();
    }
  });
});
