/**
 * Raw HTTP against the gateway: SSE framing, headers, and every bad input answered with the right
 * status and the full OpenAI error envelope (never a 500).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/accounts/api-key-format.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const MODEL = 'qwen/qwen3-8b';
const UPSTREAM_MODEL = 'Qwen/Qwen3-8B';
const EMBEDDING_MODEL = 'qwen/qwen3-embedding-0.6b';
const MAX_BODY_BYTES = 4096;
const hello = [{ role: 'user', content: 'Hello' }];

interface Envelope {
  error: { message: string; type: string; param: string | null; code: string | null };
}

let upstream: FakeUpstream;
let gw: TestGateway;
let apiKey: string;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  gw = await startTestGateway({
    config: {
      limits: { maxBodyBytes: MAX_BODY_BYTES },
      providers: [{ id: 'up', type: 'openai-compatible', baseUrl: upstream.v1 }],
      models: [
        { id: MODEL, ownedBy: 'qwen', routes: [{ provider: 'up', model: UPSTREAM_MODEL }] },
        { id: EMBEDDING_MODEL, kind: 'embedding', routes: [{ provider: 'up' }] },
      ],
    },
  });
  ({ apiKey } = await gw.signUp());
});
afterAll(async () => {
  await gw?.stop();
  await upstream?.stop();
});

/** POSTs a JSON body (or raw text) with the test key unless headers say otherwise. */
function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Asserts the status and the complete envelope, and returns the error. */
async function expectError(res: Response, status: number, code: string, param?: string | null) {
  expect(res.status, `status of ${res.url}`).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('x-request-id')).toMatch(/\S{8,}/);
  const body = (await res.json()) as Envelope;
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.code).toBe(code);
  if (param !== undefined) expect(body.error.param).toBe(param);
  return body.error;
}

/** Splits an SSE body into events and checks the framing on the way. */
function sseEvents(text: string): string[] {
  expect(text.endsWith('\n\n')).toBe(true);
  const events = text.slice(0, -2).split('\n\n');
  for (const event of events) expect(event).toMatch(/^data: \S/);
  return events.map((e) => e.slice('data: '.length));
}

describe('SSE framing', () => {
  it('streams data lines separated by blank lines and ends with [DONE]', async () => {
    const res = await post('/v1/chat/completions', { model: MODEL, messages: hello, stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('x-request-id')).toMatch(/\S{8,}/);
    const events = sseEvents(await res.text());
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Record<string, unknown>);
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) {
      expect(chunk.object).toBe('chat.completion.chunk');
      expect(chunk.model).toBe(MODEL);
      expect(chunk).not.toHaveProperty('usage');
    }
    const body = (await upstream.stats()).lastRequest?.body as Record<string, unknown>;
    expect(body.model).toBe(UPSTREAM_MODEL);
    expect(body.stream_options).toEqual({ include_usage: true });
  });

  it('cuts off an upstream whose event never ends, and ends the stream with an error event', async () => {
    const before = (await upstream.stats()).aborted;
    // 40 MiB of one event: past the 16 Mi characters a single event may hold.
    await upstream.control('endless-event:40', 1);
    const res = await post('/v1/chat/completions', { model: MODEL, messages: hello, stream: true });
    expect(res.status).toBe(200);
    const events = sseEvents(await res.text()).filter((e) => e !== '[DONE]');
    const last = JSON.parse(events.at(-1)!) as Envelope;
    expect(last.error.message).toMatch(/\S/);
    await expect.poll(async () => (await upstream.stats()).aborted).toBe(before + 1);
  });

  it('keeps the client’s own stream_options fields and adds usage to the stream when asked', async () => {
    const res = await post('/v1/chat/completions', {
      model: MODEL,
      messages: hello,
      stream: true,
      stream_options: { include_usage: true, continuous_usage_stats: false },
    });
    const events = sseEvents(await res.text());
    const last = JSON.parse(events.at(-2)!) as { choices: unknown[]; usage: Record<string, number> };
    expect(last.choices).toEqual([]);
    expect(last.usage.total_tokens).toBe(5);
    const body = (await upstream.stats()).lastRequest?.body as Record<string, unknown>;
    expect(body.stream_options).toEqual({ include_usage: true, continuous_usage_stats: false });
  });
});

describe('request ids', () => {
  it('puts X-Request-Id on successes, 404s, 401s, 405s and validation errors', async () => {
    const responses = await Promise.all([
      fetch(`${gw.url}/healthz`),
      fetch(`${gw.url}/no/such/path`),
      fetch(`${gw.v1}/models`),
      fetch(`${gw.v1}/chat/completions`),
      post('/v1/chat/completions', '{'),
      fetch(`${gw.v1}/models`, { headers: { authorization: `Bearer ${apiKey}` } }),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 404, 401, 405, 400, 200]);
    for (const res of responses) expect(res.headers.get('x-request-id')).toMatch(/\S{8,}/);
    const ids = new Set(responses.map((r) => r.headers.get('x-request-id')));
    expect(ids.size).toBe(responses.length);
  });

  it("answers with its own request id, never the caller's (ids key usage records)", async () => {
    const given = 'trace-1234567890';
    const res = await fetch(`${gw.url}/healthz`, { headers: { 'x-request-id': given } });
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    const bad = await fetch(`${gw.url}/healthz`, { headers: { 'x-request-id': 'a b<script>' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^req_/);
  });
});

describe('bad chat requests get 400 with the parameter named', () => {
  const cases: Array<[name: string, body: unknown, code: string, param: string | null]> = [
    ['malformed JSON', '{"model": "qwen/qwen3-8b", "messages": [', 'invalid_json', null],
    ['forbidden __proto__ key', '{"model":"x","messages":[],"__proto__":{"a":1}}', 'invalid_json', null],
    ['an array body', '[1, 2, 3]', 'invalid_request', null],
    ['a string body', '"hello"', 'invalid_request', null],
    ['a null body', 'null', 'invalid_request', null],
    ['missing model', { messages: hello }, 'missing_required_parameter', 'model'],
    ['missing messages', { model: MODEL }, 'missing_required_parameter', 'messages'],
    ['model of the wrong type', { model: 42, messages: hello }, 'invalid_parameter', 'model'],
    ['messages of the wrong type', { model: MODEL, messages: 'hi' }, 'invalid_parameter', 'messages'],
    ['empty messages', { model: MODEL, messages: [] }, 'invalid_parameter', 'messages'],
    [
      'stream of the wrong type',
      { model: MODEL, messages: hello, stream: 'yes' },
      'invalid_parameter',
      'stream',
    ],
    [
      'max_tokens as text',
      { model: MODEL, messages: hello, max_tokens: 'ten' },
      'invalid_parameter',
      'max_tokens',
    ],
    ['max_tokens of 0', { model: MODEL, messages: hello, max_tokens: 0 }, 'invalid_parameter', 'max_tokens'],
    [
      'temperature above 2',
      { model: MODEL, messages: hello, temperature: 2.5 },
      'invalid_parameter',
      'temperature',
    ],
    [
      'temperature below 0',
      { model: MODEL, messages: hello, temperature: -0.1 },
      'invalid_parameter',
      'temperature',
    ],
    ['top_p above 1', { model: MODEL, messages: hello, top_p: 1.01 }, 'invalid_parameter', 'top_p'],
    [
      'top_logprobs above 20',
      { model: MODEL, messages: hello, top_logprobs: 21 },
      'invalid_parameter',
      'top_logprobs',
    ],
    ['n of 0', { model: MODEL, messages: hello, n: 0 }, 'invalid_parameter', 'n'],
    ['n fractional', { model: MODEL, messages: hello, n: 1.5 }, 'invalid_parameter', 'n'],
    [
      'presence_penalty below -2',
      { model: MODEL, messages: hello, presence_penalty: -3 },
      'invalid_parameter',
      'presence_penalty',
    ],
    [
      'five stop strings',
      { model: MODEL, messages: hello, stop: ['a', 'b', 'c', 'd', 'e'] },
      'invalid_parameter',
      'stop',
    ],
    [
      'unknown role',
      { model: MODEL, messages: [{ role: 'wizard', content: 'x' }] },
      'invalid_parameter',
      'messages[0].role',
    ],
    [
      'tool message without tool_call_id',
      { model: MODEL, messages: [...hello, { role: 'tool', content: '42' }] },
      'missing_required_parameter',
      'messages[1].tool_call_id',
    ],
    [
      'user message without content',
      { model: MODEL, messages: [{ role: 'user' }] },
      'missing_required_parameter',
      'messages[0].content',
    ],
    [
      'content of the wrong type',
      { model: MODEL, messages: [{ role: 'user', content: 5 }] },
      'invalid_parameter',
      'messages[0].content',
    ],
    [
      'response_format of an unknown type',
      { model: MODEL, messages: hello, response_format: { type: 'yaml' } },
      'invalid_parameter',
      'response_format.type',
    ],
  ];

  it.each(cases)('%s', async (_name, body, code, param) => {
    await expectError(await post('/v1/chat/completions', body), 400, code, param);
  });

  it('never forwards a rejected request upstream', async () => {
    await upstream.resetStats();
    await post('/v1/chat/completions', { model: MODEL, messages: hello, temperature: 9 });
    expect((await upstream.stats()).requests).toBe(0);
  });
});

describe('bad embedding requests', () => {
  it.each([
    ['missing input', { model: EMBEDDING_MODEL }, 'missing_required_parameter', 'input'],
    ['input of the wrong type', { model: EMBEDDING_MODEL, input: { a: 1 } }, 'invalid_parameter', 'input'],
    [
      'unknown encoding_format',
      { model: EMBEDDING_MODEL, input: 'x', encoding_format: 'hex' },
      'invalid_parameter',
      'encoding_format',
    ],
  ] as const)('%s', async (_name, body, code, param) => {
    await expectError(await post('/v1/embeddings', body), 400, code, param);
  });

  it('answers a chat model used for embeddings with model_not_found', async () => {
    await expectError(
      await post('/v1/embeddings', { model: MODEL, input: 'x' }),
      404,
      'model_not_found',
      'model',
    );
  });
});

describe('embeddings from a model server that reports no usage', () => {
  it('relays the vectors (200, no usage) instead of failing the answered, billed call', async () => {
    await upstream.control('no-usage', 1);
    const res = await post('/v1/embeddings', { model: EMBEDDING_MODEL, input: ['one', 'two'] });
    const body = (await res.json()) as { data: unknown[]; usage?: unknown };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.data).toHaveLength(2);
    expect(body.usage).toBeUndefined();
  });
});

describe('transport-level rejections', () => {
  it('answers 413 for a body over limits.maxBodyBytes', async () => {
    const big = { model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(MAX_BODY_BYTES) }] };
    await expectError(await post('/v1/chat/completions', big), 413, 'request_too_large');
  });

  it('answers 415 for a content type it cannot parse', async () => {
    const res = await post('/v1/chat/completions', '<chat/>', { 'content-type': 'application/xml' });
    await expectError(res, 415, 'unsupported_media_type');
  });

  it('answers 400 or 415 for a text/plain body', async () => {
    const res = await post('/v1/chat/completions', JSON.stringify({ model: MODEL, messages: hello }), {
      'content-type': 'text/plain',
    });
    expect([400, 415]).toContain(res.status);
    await expectError(res, res.status, res.status === 415 ? 'unsupported_media_type' : 'invalid_request');
  });

  it('answers 400 for an empty JSON body', async () => {
    await expectError(await post('/v1/chat/completions', ''), 400, 'invalid_json');
  });

  it('answers 404 for an unknown path, with the envelope', async () => {
    await expectError(await fetch(`${gw.url}/v1/nothing-here`), 404, 'not_found');
    await expectError(
      await post('/v2/chat/completions', { model: MODEL, messages: hello }),
      404,
      'not_found',
    );
  });

  it('answers 405 with an Allow header for a wrong method', async () => {
    const res = await fetch(`${gw.v1}/chat/completions`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(res.headers.get('allow')).toBe('POST');
    await expectError(res, 405, 'method_not_allowed');
    const del = await fetch(`${gw.v1}/models`, { method: 'DELETE' });
    expect(del.headers.get('allow')).toContain('GET');
    await expectError(del, 405, 'method_not_allowed');
  });
});

describe('authentication', () => {
  const chat = { model: MODEL, messages: hello };

  async function expect401(res: Response, code: string) {
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer .*resource_metadata="http[^"]+"/);
    await expectError(res, 401, code);
  }

  it('rejects a request without a key', async () => {
    await expect401(await post('/v1/chat/completions', chat, { authorization: '' }), 'missing_api_key');
    await expect401(await fetch(`${gw.v1}/models`), 'missing_api_key');
    await expect401(
      await fetch(`${gw.v1}/models`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
      'missing_api_key',
    );
  });

  it('rejects a well-formed key that was never issued', async () => {
    const { key } = generateApiKey();
    await expect401(
      await post('/v1/chat/completions', chat, { authorization: `Bearer ${key}` }),
      'invalid_api_key',
    );
  });

  it('rejects malformed keys (wrong checksum, wrong prefix, garbage)', async () => {
    const flipped = apiKey.slice(0, -1) + (apiKey.endsWith('A') ? 'B' : 'A');
    for (const bad of [flipped, 'sk-proj-abc', 'sk-simo-', 'x'.repeat(500)]) {
      await expect401(
        await post('/v1/chat/completions', chat, { authorization: `Bearer ${bad}` }),
        'invalid_api_key',
      );
    }
  });

  it('accepts the key as Authorization: Bearer and as X-API-Key', async () => {
    const bearer = await fetch(`${gw.v1}/models`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(bearer.status).toBe(200);
    const xApiKey = await post('/v1/chat/completions', chat, { authorization: '', 'x-api-key': apiKey });
    expect(xApiKey.status).toBe(200);
    const lowerBearer = await fetch(`${gw.v1}/models`, { headers: { authorization: `bearer ${apiKey}` } });
    expect(lowerBearer.status).toBe(200);
  });

  it('authenticates before revealing whether a model exists', async () => {
    await expect401(
      await post('/v1/chat/completions', { model: 'nope', messages: hello }, { authorization: '' }),
      'missing_api_key',
    );
  });
});

describe('pass-through and model mapping', () => {
  it('forwards unknown but well-formed fields and maps the model both ways', async () => {
    const res = await post('/v1/chat/completions', {
      model: MODEL,
      messages: [{ role: 'user', content: 'Hello', vendor_hint: 'keep' }],
      temperature: 0.2,
      top_k: 40,
      repetition_penalty: 1.1,
      chat_template_kwargs: { enable_thinking: false },
      stop: ['\n\n'],
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { model: string; choices: Array<{ message: { content: string } }> };
    expect(answer.model).toBe(MODEL);
    expect(answer.choices[0]?.message.content).toBe('Hello from fake upstream');
    const stats = await upstream.stats();
    expect(stats.lastRequest?.body).toEqual({
      model: UPSTREAM_MODEL,
      messages: [{ role: 'user', content: 'Hello', vendor_hint: 'keep' }],
      temperature: 0.2,
      top_k: 40,
      repetition_penalty: 1.1,
      chat_template_kwargs: { enable_thinking: false },
      stop: ['\n\n'],
    });
  });

  it('does not forward the client’s credentials or headers to the upstream', async () => {
    await post('/v1/chat/completions', { model: MODEL, messages: hello }, { 'x-custom-client': 'secret' });
    const headers = (await upstream.stats()).lastRequest?.headers ?? {};
    expect(headers.authorization).toBeUndefined();
    expect(headers['x-custom-client']).toBeUndefined();
    expect(JSON.stringify(headers)).not.toContain(apiKey);
  });

  it('maps embeddings to the public model id too', async () => {
    const res = await post('/v1/embeddings', { model: EMBEDDING_MODEL, input: 'hi', dimensions: 8 });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { model: string }).model).toBe(EMBEDDING_MODEL);
    expect((await upstream.stats()).lastRequest?.body).toEqual({
      model: EMBEDDING_MODEL,
      input: 'hi',
      dimensions: 8,
    });
  });
});
