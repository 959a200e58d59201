/**
 * Native pass-through: a provider that declares it speaks the Responses or Messages API itself gets
 * those requests relayed as they are (model renamed, Anthropic headers passed on), and usage is read
 * from its answers, Anthropic's cache reads normalised into the prompt once.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { picosOf, usageCostPicos } from '../../src/shared/money.js';
import { eventually } from '../billing/billing-harness.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const MODEL = 'acme/native-model';
const UPSTREAM_MODEL = 'native-model-v1';
const PRICING = { inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: 0.3 };

describe('native pass-through of /v1/responses and /v1/messages', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    gw = await startTestGateway({
      config: {
        providers: [
          {
            id: 'native',
            type: 'openai-compatible',
            baseUrl: upstream.v1,
            surfaces: ['responses', 'messages'],
          },
        ],
        models: [{ id: MODEL, pricing: PRICING, routes: [{ provider: 'native', model: UPSTREAM_MODEL }] }],
      },
    });
    const { apiKey } = await gw.signUp();
    openai = new OpenAI({ baseURL: gw.v1, apiKey, maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: gw.url, apiKey, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.stop();
  });
  beforeEach(async () => {
    await upstream.reset();
  });

  const record = (requestId: string) =>
    eventually(
      () =>
        gw.server.container.database.db
          .selectFrom('usage_records')
          .selectAll()
          .where('request_id', '=', requestId)
          .executeTakeFirst(),
      8000,
    );

  it('relays a response as it is, stores it, and follows previous_response_id itself', async () => {
    await upstream.control('cached:2');
    const { data: first, response: raw } = await openai.responses
      .create({ model: MODEL, input: 'Hello there friend' })
      .withResponse();
    expect(first.model).toBe(MODEL);
    expect(first.output_text).toBe('Hello from fake upstream');
    const last = (await upstream.stats()).lastRequest!;
    expect(last.path).toBe('/v1/responses');
    expect(last.body).toMatchObject({ model: UPSTREAM_MODEL, store: false });
    const r = await record(raw.headers.get('x-request-id')!);
    expect(r).toMatchObject({
      endpoint: 'responses',
      prompt_tokens: 3,
      cached_tokens: 2,
      completion_tokens: 4,
    });
    expect(picosOf(r.cost_micros, r.cost_picos)).toBe(
      usageCostPicos({ prompt: 3, cached: 2, completion: 4 }, PRICING),
    );

    const second = await openai.responses.create({
      model: MODEL,
      input: 'Again',
      previous_response_id: first.id,
    });
    const sent = (await upstream.stats()).lastRequest!.body as {
      input: unknown[];
      previous_response_id?: unknown;
    };
    expect(sent.previous_response_id).toBeUndefined();
    expect(sent.input).toHaveLength(3);
    expect((await openai.responses.retrieve(second.id)).id).toBe(second.id);

    const stream = await openai.responses.create({ model: MODEL, input: 'Hi', stream: true });
    let text = '';
    let done: OpenAI.Responses.Response | undefined;
    for await (const e of stream) {
      if (e.type === 'response.output_text.delta') text += e.delta;
      if (e.type === 'response.completed') done = e.response;
    }
    expect(text).toBe('Hello from fake upstream');
    expect(done?.model).toBe(MODEL);
    expect((await openai.responses.retrieve(done!.id)).id).toBe(done!.id);
  });

  it('relays a message with the Anthropic headers and normalises cache reads into the prompt', async () => {
    await upstream.control('cached:5');
    const { data: m, response: raw } = await anthropic.messages
      .create(
        { model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'Hello there' }] },
        { headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } },
      )
      .withResponse();
    expect(m.model).toBe(MODEL);
    expect(m.content).toEqual([{ type: 'text', text: 'Hello from fake upstream' }]);
    expect(m.usage).toMatchObject({ input_tokens: 2, cache_read_input_tokens: 5 });
    const last = (await upstream.stats()).lastRequest!;
    expect(last.path).toBe('/v1/messages');
    expect(last.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
    expect(last.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(last.body).toMatchObject({ model: UPSTREAM_MODEL, max_tokens: 64 });
    const r = await record(raw.headers.get('x-request-id')!);
    // Anthropic's input_tokens (2) leaves out the 5 cache reads; the record counts them in the prompt.
    expect(r).toMatchObject({
      endpoint: 'messages',
      prompt_tokens: 7,
      cached_tokens: 5,
      completion_tokens: 4,
    });

    const stream = anthropic.messages.stream({
      model: MODEL,
      max_tokens: 64,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    const final = await stream.finalMessage();
    expect(final.model).toBe(MODEL);
    expect(final.content).toEqual([{ type: 'text', text: 'Hello from fake upstream' }]);
    expect(final.usage.output_tokens).toBe(4);
  });
});
