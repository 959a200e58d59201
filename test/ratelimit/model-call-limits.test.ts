/**
 * Every model call counts against the tenant's rpm and tpm, on every surface: a JSON-RPC batch on
 * /mcp (raw, and as the official SDK transport sends it), A2A and the dashboard playground; a /v1
 * request is still counted once. Calls reach the fake upstream process, which counts them.
 */
import { randomUUID } from 'node:crypto';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loginJson } from '../accounts/http.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { type SignedUp, startTestGateway, type TestGateway } from '../support/gateway.js';

const RPM = 10;
const MODEL = 'qwen/qwen3-8b';

interface ToolReply {
  id: number;
  result?: { isError?: boolean; content: Array<{ text: string }> };
  error?: unknown;
}

const toolCall = (id: number) => ({
  jsonrpc: '2.0' as const,
  id,
  method: 'tools/call',
  params: { name: 'chat_completion', arguments: { model: MODEL, prompt: `question ${id}` } },
});

const batchOf = (n: number) => Array.from({ length: n }, (_, i) => toolCall(i + 1));

const refusedByRateLimit = (r: ToolReply) =>
  r.result?.isError === true && /^rate_limit_exceeded: /.test(r.result.content[0]?.text ?? '');

const answered = (r: ToolReply) => r.result !== undefined && r.result.isError !== true;

let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(() => upstream?.stop());

describe('requests per minute count every model call', () => {
  let gw: TestGateway;
  let tenant: SignedUp;

  beforeAll(async () => {
    gw = await startTestGateway({
      env: { SIMO_UPSTREAM_URL: upstream.v1 },
      config: { plans: { starter: { rpm: RPM } } },
    });
  });
  afterAll(() => gw?.stop());
  beforeEach(async () => {
    tenant = await gw.signUp();
    await upstream.resetStats();
  });

  const mcpPost = (body: unknown) =>
    fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tenant.apiKey}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify(body),
    });

  const v1Chat = (stream = false) =>
    fetch(`${gw.v1}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream }),
    });

  it('answers the calls of a raw MCP batch within the allowance and refuses the rest in their results', async () => {
    const res = await mcpPost(batchOf(30));
    expect(res.status).toBe(200);
    const replies = (await res.json()) as ToolReply[];
    expect(replies).toHaveLength(30);
    expect(replies.filter(answered)).toHaveLength(RPM);
    expect(replies.filter(refusedByRateLimit)).toHaveLength(30 - RPM);
    expect((await upstream.stats()).chat).toBe(RPM);
    // The response shows the budget the batch left, without a Retry-After for a 200.
    expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(res.headers.get('retry-after')).toBeNull();
    // The batch used the whole minute: the next request of any surface is refused.
    const next = await v1Chat();
    expect(next.status).toBe(429);
    expect((await upstream.stats()).chat).toBe(RPM);
  });

  it('counts a batch the official SDK transport sends like the raw one', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${tenant.apiKey}` } },
    });
    const replies: JSONRPCMessage[] = [];
    transport.onmessage = (message) => replies.push(message);
    await transport.start();
    await transport.send(batchOf(15) as JSONRPCMessage[]);
    await transport.close();
    const tools = replies as unknown as ToolReply[];
    expect(tools).toHaveLength(15);
    expect(tools.filter(answered)).toHaveLength(RPM);
    expect(tools.filter(refusedByRateLimit)).toHaveLength(5);
    expect((await upstream.stats()).chat).toBe(RPM);
  });

  it('counts a batch that arrives with part of the minute used against what is left', async () => {
    for (let i = 0; i < 4; i++) expect((await v1Chat()).status).toBe(200);
    // The batch's own HTTP request is the 5th unit and covers its first call: 6 calls fit.
    const replies = (await (await mcpPost(batchOf(8))).json()) as ToolReply[];
    expect(replies.filter(answered)).toHaveLength(RPM - 4);
    expect(replies.filter(refusedByRateLimit)).toHaveLength(8 - (RPM - 4));
    expect((await upstream.stats()).chat).toBe(RPM);
  });

  it('counts a /v1 completion once, streamed or not', async () => {
    const plain = await v1Chat();
    expect(plain.status).toBe(200);
    expect(plain.headers.get('x-ratelimit-remaining')).toBe(String(RPM - 1));
    await plain.arrayBuffer();
    const streamed = await v1Chat(true);
    expect(streamed.headers.get('x-ratelimit-remaining')).toBe(String(RPM - 2));
    expect(await streamed.text()).toContain('data: [DONE]');
    const models = await fetch(`${gw.v1}/models`, { headers: { authorization: `Bearer ${tenant.apiKey}` } });
    expect(models.headers.get('x-ratelimit-remaining')).toBe(String(RPM - 3));
  });

  it('counts each A2A message once and refuses them past the limit', async () => {
    const headers = { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' };
    const send = (method: 'message/send' | 'message/stream') =>
      fetch(`${gw.url}/a2a`, {
        method: 'POST',
        headers: method === 'message/stream' ? { ...headers, accept: 'text/event-stream' } : headers,
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method,
          params: {
            message: {
              kind: 'message',
              messageId: randomUUID(),
              role: 'user',
              parts: [{ kind: 'text', text: 'Hi' }],
            },
          },
        }),
      });
    const remaining: string[] = [];
    for (let i = 0; i < RPM; i++) {
      const res = await send(i % 2 === 0 ? 'message/send' : 'message/stream');
      expect(res.status).toBe(200);
      remaining.push(res.headers.get('x-ratelimit-remaining') ?? '');
      expect(await res.text()).not.toContain('rate_limit_exceeded');
    }
    expect(remaining).toEqual(Array.from({ length: RPM }, (_, i) => String(RPM - 1 - i)));
    expect((await upstream.stats()).chat).toBe(RPM);
    expect((await send('message/send')).status).toBe(429);
    expect((await send('message/stream')).status).toBe(429);
    expect((await upstream.stats()).chat).toBe(RPM);
  });

  it('counts each playground completion once and refuses them past the limit', async () => {
    const { cookie, csrf } = await loginJson(gw.url, tenant.email, tenant.password);
    const play = () =>
      fetch(`${gw.url}/dashboard/playground/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf },
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], stream: true }),
      });
    for (let i = 0; i < RPM; i++) {
      const res = await play();
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(RPM - 1 - i));
      expect(await res.text()).toContain('data: [DONE]');
    }
    const refused = await play();
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');
    expect((await upstream.stats()).chat).toBe(RPM);
  });
});

describe('tokens per minute count every model call', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({
      env: { SIMO_UPSTREAM_URL: upstream.v1 },
      config: { plans: { starter: { rpm: 1000, tpm: 100 } } },
    });
  });
  afterAll(() => gw?.stop());

  it('debits every call of a batch and then refuses calls and requests until tokens free up', async () => {
    const tenant = await gw.signUp();
    await upstream.resetStats();
    const post = () =>
      fetch(`${gw.url}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tenant.apiKey}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify(batchOf(4)),
      });
    // Each call: 2 prompt words + 4 answer words = 6 tokens on the fake upstream.
    const first = (await (await post()).json()) as ToolReply[];
    expect(first.filter(answered)).toHaveLength(4);
    const models = await fetch(`${gw.v1}/models`, { headers: { authorization: `Bearer ${tenant.apiKey}` } });
    expect(models.headers.get('x-ratelimit-remaining-tokens')).toBe(String(100 - 4 * 6));
    // Spend the rest of the budget, then a batch is refused like any request.
    while ((await post()).status === 200) {
      // each batch debits 24 tokens; the fifth finds the budget spent
    }
    const refused = await post();
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /100 tokens per minute/,
    );
    const calls = (await upstream.stats()).chat;
    expect(calls).toBeLessThanOrEqual(4 * 5);
  });
});
