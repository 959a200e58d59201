import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedUp, startTestGateway, type TestGateway } from '../support/gateway.js';

/** MCP and A2A obey the same credit check and rate limit as `/v1`. */
let g: TestGateway;
let broke: SignedUp;

beforeAll(async () => {
  // No trial credits: every metered request is refused with insufficient_credits. 4 requests a minute.
  g = await startTestGateway({
    config: { plans: { starter: { rpm: 4 } }, signup: { plan: 'starter', trialCredits: 0 } },
  });
  broke = await g.signUp();
});
afterAll(() => g?.stop());

const textOf = (result: unknown) =>
  ((result as { content?: Array<{ text?: string }> }).content ?? []).map((p) => p.text ?? '').join('');

describe('agent endpoints share the limits of /v1', () => {
  it('refuses MCP and A2A chats without credit, then rate limits the tenant across surfaces', async () => {
    // 1-3: MCP initialize, initialized notification, tools/call.
    const client = new Client({ name: 'limits-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${g.url}/mcp`), {
        requestInit: { headers: { 'X-API-Key': broke.apiKey } },
      }),
    );
    const result = await client.callTool({ name: 'chat_completion', arguments: { prompt: 'hello' } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('insufficient_credits');

    // 4: an A2A v0.3 message/send gets the refusal as the agent's answer.
    const headers = { authorization: `Bearer ${broke.apiKey}`, 'content-type': 'application/json' };
    const message = {
      kind: 'message',
      messageId: randomUUID(),
      role: 'user',
      parts: [{ kind: 'text', text: 'Hi' }],
    };
    const send = await fetch(`${g.url}/a2a`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'message/send', params: { message } }),
    });
    const body = (await send.json()) as { result: { parts: Array<{ text: string }> } };
    expect(body.result.parts[0]?.text).toContain('insufficient_credits');
    expect(send.headers.get('x-ratelimit-remaining')).toBe('0');

    // 5: over the plan's 4 requests a minute, whichever surface is used.
    const limited = await fetch(`${g.url}/a2a`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'message/send', params: { message } }),
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    const v1 = await fetch(`${g.v1}/models`, { headers: { authorization: `Bearer ${broke.apiKey}` } });
    expect(v1.status).toBe(429);
    await client.close();
  });
});
