import { randomUUID } from 'node:crypto';
import { type Message, Role } from '@a2a-js/sdk';
import { ClientFactory, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedUp, startTestGatewayAt, type TestGateway } from '../support/gateway.js';

/** The `@a2a-js/sdk` client against `/a2a`, discovered from the agent card like a real agent would. */
let g: TestGateway;
let user: SignedUp;

beforeAll(async () => {
  // The public URL in the card is the address the client really reaches.
  g = await startTestGatewayAt((_port, url) => ({ env: { SIMO_PUBLIC_URL: url } }));
  user = await g.signUp();
});
afterAll(() => g?.stop());

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

function clientFactory(apiKey: string) {
  const fetchImpl: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${apiKey}`);
    return fetch(input, { ...init, headers });
  };
  return new ClientFactory({ transports: [new JsonRpcTransportFactory({ fetchImpl })] });
}

const userMessage = (text: string): Message => ({
  messageId: randomUUID(),
  contextId: '',
  taskId: '',
  role: Role.ROLE_USER,
  parts: [
    { content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' },
  ],
  metadata: undefined,
  extensions: [],
  referenceTaskIds: [],
});

const textOfParts = (parts: Message['parts']) =>
  parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');

describe('A2A agent at /a2a', () => {
  it('sends a message (protocol 1.0) and gets the model’s answer, metered', async () => {
    const client = await clientFactory(user.apiKey).createFromUrl(g.url);
    const before = await usageCount(user.tenantId);
    const result = await client.sendMessage({
      tenant: '',
      message: userMessage('Hello agent'),
      configuration: undefined,
      metadata: undefined,
    });
    expect('messageId' in result).toBe(true);
    const answer = result as Message;
    expect(answer.role).toBe(Role.ROLE_AGENT);
    expect(textOfParts(answer.parts).length).toBeGreaterThan(0);
    expect(await usageCount(user.tenantId)).toBe(before + 1);
  });

  it('streams a message: task, growing answer artifact, completed', async () => {
    const client = await clientFactory(user.apiKey).createFromUrl(g.url);
    const before = await usageCount(user.tenantId);
    const kinds: string[] = [];
    let text = '';
    let finalState: number | undefined;
    for await (const event of client.sendMessageStream({
      tenant: '',
      message: userMessage('Tell me a story'),
      configuration: undefined,
      metadata: undefined,
    })) {
      const payload = event.payload;
      if (!payload) continue;
      kinds.push(payload.$case);
      if (payload.$case === 'artifactUpdate') text += textOfParts(payload.value.artifact?.parts ?? []);
      if (payload.$case === 'statusUpdate') finalState = payload.value.status?.state;
    }
    expect(kinds[0]).toBe('task');
    expect(kinds.filter((k) => k === 'artifactUpdate').length).toBeGreaterThan(1);
    expect(text.length).toBeGreaterThan(0);
    expect(finalState).toBe(3); // TASK_STATE_COMPLETED
    expect(await usageCount(user.tenantId)).toBe(before + 1);
  });

  it('answers v0.3 clients: message/send and message/stream over raw JSON-RPC', async () => {
    const headers = { authorization: `Bearer ${user.apiKey}`, 'content-type': 'application/json' };
    const message = {
      kind: 'message',
      messageId: randomUUID(),
      role: 'user',
      parts: [{ kind: 'text', text: 'Hi' }],
    };
    const send = await fetch(`${g.url}/a2a`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'message/send', params: { message } }),
    });
    expect(send.status).toBe(200);
    const body = (await send.json()) as {
      id: number;
      result: { kind: string; parts: Array<{ text: string }> };
    };
    expect(body.id).toBe(7);
    expect(body.result.kind).toBe('message');
    expect(body.result.parts[0]?.text.length).toBeGreaterThan(0);

    const stream = await fetch(`${g.url}/a2a`, {
      method: 'POST',
      headers: { ...headers, accept: 'text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 8,
        method: 'message/stream',
        params: { message: { ...message, messageId: randomUUID() } },
      }),
    });
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await stream.text())
      .split('\n\n')
      .filter((e) => e.startsWith('data: '))
      .map((e) => JSON.parse(e.slice(6)) as { result: { kind: string; status?: { state: string } } });
    expect(events[0]?.result.kind).toBe('task');
    expect(events.at(-1)?.result.status?.state).toBe('completed');
  });

  it('answers params of the wrong type with invalid params naming the field, not an internal error', async () => {
    const headers = { authorization: `Bearer ${user.apiKey}`, 'content-type': 'application/json' };
    const call = async (method: string, params: unknown) => {
      const res = await fetch(`${g.url}/a2a`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', id: 3, method, params }),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { id: number; error: { code: number; message: string } };
    };
    for (const method of ['tasks/get', 'tasks/cancel', 'tasks/resubscribe'])
      for (const id of [5, {}, [], true])
        expect(await call(method, { id }), `${method} ${JSON.stringify(id)}`).toEqual({
          jsonrpc: '2.0',
          id: 3,
          error: {
            code: -32602,
            message: expect.stringMatching(/^Invalid method parameters: params\.id: expected string/),
          },
        });
    const message = {
      kind: 'message',
      messageId: randomUUID(),
      role: 'user',
      parts: [{ kind: 'text', text: 'Hi' }],
    };
    const wrong: Array<[unknown, string]> = [
      [{ message: { ...message, taskId: 5 } }, 'params.message.taskId'],
      [{ message: { ...message, referenceTaskIds: 'task' } }, 'params.message.referenceTaskIds'],
      [{ message: { ...message, parts: [{ kind: 'file', file: 'x' }] } }, 'params.message.parts[0].file'],
      [
        { message: { ...message, parts: [{ kind: 'file', file: { bytes: 5 } }] } },
        'params.message.parts[0].file.bytes',
      ],
      [{ message, configuration: { acceptedOutputModes: 5 } }, 'params.configuration.acceptedOutputModes'],
    ];
    for (const method of ['message/send', 'message/stream'])
      for (const [params, field] of wrong) {
        const { error } = await call(method, params);
        expect(error.code, `${method} ${field}`).toBe(-32602);
        expect(error.message).toContain(`${field}: `);
      }
    // v1.0: a part's raw bytes are a base64 string.
    const v1 = await fetch(`${g.url}/a2a`, {
      method: 'POST',
      headers: { ...headers, 'a2a-version': '1.0' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 5,
        method: 'SendMessage',
        params: { message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ raw: 5 }] } },
      }),
    });
    const v1Error = ((await v1.json()) as { error: { code: number; message: string } }).error;
    expect(v1Error.code).toBe(-32602);
    expect(v1Error.message).toContain('params.message.parts[0].raw: ');
    // A string id the store does not know is still the SDK's "task not found".
    expect((await call('tasks/get', { id: 'no-such-task' })).error.code).toBe(-32001);
  });

  it('requires an API key (401 with resource_metadata) and is rate limited like /v1', async () => {
    const anonymous = await fetch(`${g.url}/a2a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"message/send","params":{}}',
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('resource_metadata=');
    const ok = await fetch(`${g.url}/a2a`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.apiKey}`, 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"nope"}}',
    });
    expect(ok.headers.get('x-ratelimit-limit')).toBe('60');
    const rpc = (await ok.json()) as { error?: { code: number } };
    expect(rpc.error?.code).toBe(-32001); // task not found
  });
});
