/**
 * The official `@anthropic-ai/sdk` against the gateway, whose upstream is the fake upstream process
 * speaking only Chat Completions: Messages requests and streams are translated both ways.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const MODEL = 'qwen/qwen3-8b';
const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Weather of a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('anthropic SDK: messages', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let client: Anthropic;
  let apiKey: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    gw = await startTestGateway({
      config: {
        providers: [{ id: 'up', type: 'openai-compatible', baseUrl: upstream.v1 }],
        models: [{ id: MODEL, ownedBy: 'qwen', routes: [{ provider: 'up' }] }],
      },
    });
    apiKey = (await gw.signUp()).apiKey;
    client = new Anthropic({ baseURL: gw.url, apiKey, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.stop();
  });
  beforeEach(async () => {
    await upstream.reset();
  });

  it('creates a message with a system prompt and stop sequences', async () => {
    const m = await client.messages.create({
      model: MODEL,
      max_tokens: 100,
      system: 'Be brief.',
      stop_sequences: ['END'],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello there' }] }],
    });
    expect(m.type).toBe('message');
    expect(m.role).toBe('assistant');
    expect(m.model).toBe(MODEL);
    expect(m.content).toEqual([{ type: 'text', text: 'Hello from fake upstream' }]);
    expect(m.stop_reason).toBe('end_turn');
    expect(m.usage).toMatchObject({ input_tokens: 4, output_tokens: 4 });
    const sent = (await upstream.stats()).lastRequest?.body as Record<string, unknown>;
    expect(sent).toMatchObject({
      max_tokens: 100,
      stop: ['END'],
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello there' },
      ],
    });
  });

  it('streams text with Anthropic events', async () => {
    await upstream.control('words:5');
    const stream = client.messages.stream({
      model: MODEL,
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    const types: string[] = [];
    stream.on('streamEvent', (e) => types.push(e.type));
    let text = '';
    stream.on('text', (t) => {
      text += t;
    });
    const final = await stream.finalMessage();
    expect(text).toBe('w0 w1 w2 w3 w4');
    expect(final.content).toEqual([{ type: 'text', text: 'w0 w1 w2 w3 w4' }]);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBe(5);
    expect(types[0]).toBe('message_start');
    expect(types[1]).toBe('content_block_start');
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
  });

  it('round-trips a tool_use, streamed and not', async () => {
    const input = { city: 'Paris' };
    await upstream.control(`tool-args:${encodeURIComponent(JSON.stringify(input))}`);
    const question: Anthropic.MessageParam = { role: 'user', content: 'Weather in Paris?' };
    const first = await client.messages.create({
      model: MODEL,
      max_tokens: 100,
      tools: [weatherTool],
      messages: [question],
    });
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((b) => b.type === 'tool_use');
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', input });
    if (use?.type !== 'tool_use') throw new Error('no tool_use');
    expect(use.id).toMatch(/^toolu_/);

    const stream = client.messages.stream({
      model: MODEL,
      max_tokens: 100,
      tools: [weatherTool],
      messages: [question],
    });
    const partial: string[] = [];
    stream.on('inputJson', (delta) => partial.push(delta));
    const streamed = await stream.finalMessage();
    expect(partial.join('')).toBe(JSON.stringify(input));
    expect(streamed.stop_reason).toBe('tool_use');
    expect(streamed.content.find((b) => b.type === 'tool_use')).toMatchObject({ name: 'get_weather', input });

    const answer = await client.messages.create({
      model: MODEL,
      max_tokens: 100,
      tools: [weatherTool],
      messages: [
        question,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny' }] },
      ],
    });
    expect(answer.stop_reason).toBe('end_turn');
    expect(answer.content).toEqual([{ type: 'text', text: 'Hello from fake upstream' }]);
    const sent = (await upstream.stats()).lastRequest?.body as { messages: Array<Record<string, unknown>> };
    expect(sent.messages.at(-2)).toMatchObject({
      role: 'assistant',
      tool_calls: [{ id: use.id, function: { name: 'get_weather', arguments: JSON.stringify(input) } }],
    });
    expect(sent.messages.at(-1)).toEqual({ role: 'tool', tool_call_id: use.id, content: 'sunny' });
  });

  it('counts tokens', async () => {
    const counted = await client.messages.countTokens({
      model: MODEL,
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'Hello there, how are you?' }],
    });
    expect(counted.input_tokens).toBeGreaterThan(5);
    expect(counted.input_tokens).toBeLessThan(100);
  });

  it('answers an unknown model with not_found_error', async () => {
    const err = await client.messages
      .create({ model: 'no/such-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    const apiErr = err as InstanceType<typeof Anthropic.NotFoundError>;
    expect(apiErr.status).toBe(404);
    expect(apiErr.error).toMatchObject({
      type: 'error',
      error: { type: 'not_found_error', message: "Model 'no/such-model' is not available on this tenant." },
    });
  });

  it('speaks Anthropic errors on the raw wire: missing max_tokens, bad key, ?beta=true', async () => {
    const post = (body: unknown, key = apiKey, query = '') =>
      fetch(`${gw.url}/v1/messages${query}`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const missing = await post({ model: MODEL, messages: [{ role: 'user', content: 'x' }] });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    const badKey = await post(
      { model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] },
      'sk-simo-nope',
    );
    expect(badKey.status).toBe(401);
    expect(await badKey.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const beta = await post(
      { model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] },
      apiKey,
      '?beta=true',
    );
    expect(beta.status).toBe(200);
    expect(beta.headers.get('x-ratelimit-limit')).toBeTruthy();
  });

  it('answers an unknown path or a wrong method under /v1/messages in Anthropic shape too', async () => {
    const batches = await client.messages.batches
      .create({ requests: [{ custom_id: 'a', params: { model: MODEL, max_tokens: 5, messages: [] } }] })
      .catch((e: unknown) => e);
    expect(batches).toBeInstanceOf(Anthropic.NotFoundError);
    expect((batches as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({
      type: 'error',
      error: { type: 'not_found_error', message: 'No route for POST /v1/messages/batches.' },
    });
    const headers = { 'x-api-key': apiKey, 'anthropic-version': '2023-06-01' };
    const wrongMethod = await fetch(`${gw.url}/v1/messages/count_tokens`, { headers });
    expect(wrongMethod.status).toBe(405);
    expect(await wrongMethod.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error' },
    });
    const malformed = await fetch(`${gw.url}/v1/messages/%ff`, { method: 'POST', headers });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    // Next to the Messages surface, the OpenAI envelope as everywhere else.
    const beside = await fetch(`${gw.url}/v1/messagesx`, { method: 'POST', headers });
    expect(await beside.json()).toMatchObject({ error: { code: 'not_found', param: null } });
  });
});
