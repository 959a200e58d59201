import { request } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedUp, startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';

/** The official MCP client against `/mcp`: tools listed and called, metered like `/v1`. */
let g: TestGateway;
let user: SignedUp;

async function connect(apiKey: string) {
  const client = new Client({ name: 'simosphere-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${g.url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${apiKey}` } },
  });
  await client.connect(transport);
  return client;
}

/** A POST with exactly these headers (fetch would not let us choose `Host`). */
function rawPost(path: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${g.url}${path}`, { method: 'POST', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function usageCount(tenantId: string): Promise<number> {
  const c = g.server.container;
  await c.meter.flush();
  const row = await c.database.db
    .selectFrom('usage_records')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A raw JSON-RPC POST to `/mcp` with the test user's key. */
const postMcp = (body: unknown) =>
  fetch(`${g.url}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${user.apiKey}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify(body),
  });

const textOf = (result: unknown) =>
  ((result as { content?: Array<{ text?: string }> }).content ?? []).map((p) => p.text ?? '').join('');

function suite(dialect: 'sqlite' | 'postgres') {
  beforeAll(async () => {
    g = await startTestGateway({ dialect });
    user = await g.signUp();
  });
  afterAll(() => g?.stop());
  it('lists the four tools', async () => {
    const client = await connect(user.apiKey);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'chat_completion',
      'get_balance',
      'get_usage',
      'list_models',
    ]);
    const chat = tools.find((t) => t.name === 'chat_completion')!;
    expect(Object.keys(chat.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['model', 'messages', 'prompt']),
    );
    await client.close();
  });

  it('chat_completion answers through the metered pipeline (usage_records grows)', async () => {
    const client = await connect(user.apiKey);
    const before = await usageCount(user.tenantId);
    const result = await client.callTool({
      name: 'chat_completion',
      arguments: { model: 'qwen/qwen3-8b', prompt: 'Say hello' },
    });
    expect(result.isError).toBeFalsy();
    expect(textOf(result).length).toBeGreaterThan(0);
    const messages = await client.callTool({
      name: 'chat_completion',
      arguments: { messages: [{ role: 'user', content: 'Hi again' }] },
    });
    expect(messages.isError).toBeFalsy();
    expect(await usageCount(user.tenantId)).toBe(before + 2);
    const records = await g.server.container.database.db
      .selectFrom('usage_records')
      .select(['endpoint', 'model', 'prompt_tokens', 'completion_tokens'])
      .where('tenant_id', '=', user.tenantId)
      .execute();
    expect(records.every((r) => r.endpoint === 'chat.completions' && r.model === 'qwen/qwen3-8b')).toBe(true);
    expect(records.every((r) => r.completion_tokens > 0)).toBe(true);
    await client.close();
  });

  it('list_models, get_usage and get_balance read the tenant’s own data', async () => {
    const client = await connect(user.apiKey);
    const models = JSON.parse(textOf(await client.callTool({ name: 'list_models', arguments: {} })));
    expect(models.map((m: { id: string }) => m.id)).toContain('qwen/qwen3-8b');
    const usage = JSON.parse(textOf(await client.callTool({ name: 'get_usage', arguments: {} })));
    expect(Array.isArray(usage.data)).toBe(true);
    expect(usage.data.length).toBeGreaterThan(0);
    const balance = JSON.parse(textOf(await client.callTool({ name: 'get_balance', arguments: {} })));
    expect(balance.currency).toBe('USD');
    expect(balance.balance).toBeDefined();
    await client.close();
  });

  it('get_balance and get_usage follow the role table of /admin: a developer key reads usage, not the balance', async () => {
    const made = await fetch(`${g.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'a developer key' }),
    });
    const key = (await made.json()) as { id: string; api_key: string };
    // As if a developer had created it (the members suite covers that flow); not used yet, so not cached.
    await g.server.container.database.db
      .updateTable('api_keys')
      .set({ role: 'developer' })
      .where('id', '=', key.id)
      .execute();
    const client = await connect(key.api_key);
    const balance = await client.callTool({ name: 'get_balance', arguments: {} });
    expect(balance.isError).toBe(true);
    expect(textOf(balance)).toContain('permission_denied');
    const usage = await client.callTool({ name: 'get_usage', arguments: {} });
    expect(usage.isError).toBeFalsy();
    await client.close();
  });

  it('expected failures are tool errors, not protocol errors', async () => {
    const client = await connect(user.apiKey);
    const result = await client.callTool({
      name: 'chat_completion',
      arguments: { model: 'no/such-model', prompt: 'x' },
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('model_not_found');
    await client.close();
  });

  it('counts every MCP request against the rate limit', async () => {
    const res = await postMcp({ jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit')).toBe('60');
    expect(Number(res.headers.get('x-ratelimit-remaining'))).toBeLessThan(60);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: 1, result: {} });
  });

  it('answers params of the wrong type with Invalid params naming the field, also inside a batch', async () => {
    const post = async (body: unknown) => {
      const res = await postMcp(body);
      expect(res.status).toBe(200);
      return res.json();
    };
    const wrong: Array<[string, unknown, string]> = [
      ['tools/call', { name: 'list_models', arguments: 5 }, 'params.arguments: expected record'],
      ['tools/call', { name: 5 }, 'params.name: expected string'],
      ['tools/list', { cursor: 5 }, 'params.cursor: expected string'],
      [
        'initialize',
        { protocolVersion: 5, capabilities: {}, clientInfo: {} },
        'params.protocolVersion: expected string',
      ],
    ];
    for (const [method, params, reason] of wrong)
      expect(await post({ jsonrpc: '2.0', id: 9, method, params }), method).toEqual({
        jsonrpc: '2.0',
        id: 9,
        error: { code: -32602, message: expect.stringContaining(`Invalid params: ${reason}`) },
      });
    const batch = (await post([
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 5 } },
      { jsonrpc: '2.0', id: 2, method: 'ping' },
    ])) as Array<{ id: number; error?: { code: number }; result?: unknown }>;
    expect(batch.find((m) => m.id === 1)?.error?.code).toBe(-32602);
    expect(batch.find((m) => m.id === 2)?.result).toEqual({});
  });

  it('rejects foreign origins (403), missing keys (401 with resource_metadata), and GET (405)', async () => {
    const headers = {
      authorization: `Bearer ${user.apiKey}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    const foreign = await fetch(`${g.url}/mcp`, {
      method: 'POST',
      headers: { ...headers, origin: 'https://evil.example' },
      body,
    });
    expect(foreign.status).toBe(403);
    const same = await fetch(`${g.url}/mcp`, {
      method: 'POST',
      headers: { ...headers, origin: g.url },
      body,
    });
    expect(same.status).toBe(200);
    // DNS rebinding: a hostile name resolving to us, with a matching Host, is still refused.
    const { port } = new URL(g.url);
    const rebound = await rawPost(
      `/mcp`,
      {
        ...headers,
        host: `rebind.example:${port}`,
        origin: `http://rebind.example:${port}`,
      },
      body,
    );
    expect(rebound).toBe(403);
    const anonymous = await fetch(`${g.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('resource_metadata=');
    const get = await fetch(`${g.url}/mcp`);
    expect(get.status).toBe(405);
  });
}

// Tool calls read and write through the billing store, so both databases are exercised.
describe('MCP server at /mcp (sqlite)', () => suite('sqlite'));
await describeWith('pg', 'MCP server at /mcp (postgres)', () => suite('postgres'));
