/**
 * The official `openai` SDK against a running gateway whose upstream is the fake upstream process:
 * what a customer's code sees, including the error classes and our error fields.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const MODEL = 'qwen/qwen3-8b';
const EMBEDDING_MODEL = 'qwen/qwen3-embedding-0.6b';
const messages = [{ role: 'user' as const, content: 'Hello there' }];

describe('openai SDK against the gateway', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    // Only the upstream serves the models, so upstream failures reach the client (no simulator fallback).
    gw = await startTestGateway({
      config: {
        providers: [{ id: 'up', type: 'openai-compatible', baseUrl: upstream.v1 }],
        models: [
          { id: MODEL, ownedBy: 'qwen', routes: [{ provider: 'up' }] },
          { id: EMBEDDING_MODEL, kind: 'embedding', routes: [{ provider: 'up' }] },
        ],
      },
    });
    const { apiKey } = await gw.signUp();
    client = new OpenAI({ baseURL: gw.v1, apiKey, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.stop();
  });
  beforeEach(async () => {
    await upstream.reset();
  });

  it('completes a chat and reports the public model id and usage', async () => {
    const completion = await client.chat.completions.create({ model: MODEL, messages });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe(MODEL);
    expect(completion.choices[0]?.message.content).toBe('Hello from fake upstream');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 });
  });

  it('streams text that reassembles exactly to the non-streamed answer', async () => {
    await upstream.control('words:12');
    const whole = await client.chat.completions.create({ model: MODEL, messages });
    const stream = await client.chat.completions.create({ model: MODEL, messages, stream: true });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.model).toBe(MODEL);
      expect(chunk.usage).toBeUndefined();
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(chunks).toBeGreaterThan(12);
    expect(text).toBe(whole.choices[0]?.message.content);
    // The client did not ask for usage, but the gateway asked the upstream for it anyway (for billing).
    const body = (await upstream.stats()).lastRequest?.body as { stream_options?: unknown };
    expect(body.stream_options).toEqual({ include_usage: true });
  });

  it('sends the usage chunk only when the client asks for it', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const usageChunks = [];
    let text = '';
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usageChunks.push(chunk);
    }
    expect(text).toBe('Hello from fake upstream');
    expect(usageChunks).toHaveLength(1);
    expect(usageChunks[0]?.choices).toEqual([]);
    expect(usageChunks[0]?.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 });
  });

  it('lists and retrieves models, including ids with a slash', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toContain(MODEL);
    const model = await client.models.retrieve(MODEL);
    expect(model).toMatchObject({ id: MODEL, object: 'model', owned_by: 'qwen' });
    expect(typeof model.created).toBe('number');
  });

  it('creates embeddings as floats and as base64', async () => {
    const model = EMBEDDING_MODEL;
    const floats = await client.embeddings.create({
      model,
      input: ['alpha', 'beta'],
      encoding_format: 'float',
    });
    expect(floats.model).toBe(model);
    expect(floats.data).toHaveLength(2);
    expect(floats.data[0]?.embedding).toHaveLength(8);
    // Without encoding_format the SDK asks for base64 and decodes it back into the same floats.
    const decoded = await client.embeddings.create({ model, input: ['alpha', 'beta'] });
    expect((lastBody(await upstream.stats()) as { encoding_format?: string }).encoding_format).toBe('base64');
    expect(decoded.data[0]?.embedding).toEqual(floats.data[0]?.embedding);
    expect(decoded.data[1]?.embedding).toEqual(floats.data[1]?.embedding);
    expect(floats.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
  });

  it('raises AuthenticationError for a bad key, with our code and type', async () => {
    const bad = new OpenAI({ baseURL: gw.v1, apiKey: 'sk-simo-not-a-real-key', maxRetries: 0 });
    const err = await bad.chat.completions.create({ model: MODEL, messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    const e = err as InstanceType<typeof OpenAI.AuthenticationError>;
    expect(e.status).toBe(401);
    expect(e.code).toBe('invalid_api_key');
    expect(e.type).toBe('authentication_error');
    expect(e.headers.get('www-authenticate')).toContain('resource_metadata=');
    expect(e.requestID).toMatch(/\S/);
  });

  it('raises NotFoundError for an unknown model, naming the model param', async () => {
    const err = await client.chat.completions.create({ model: 'gpt-5', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    const e = err as InstanceType<typeof OpenAI.NotFoundError>;
    expect(e.status).toBe(404);
    expect(e.code).toBe('model_not_found');
    expect(e.param).toBe('model');
    expect(e.type).toBe('invalid_request_error');
    expect((e.error as { message?: string }).message).toBe("Model 'gpt-5' is not available on this tenant.");
    const missing = await client.models.retrieve('gpt-5').catch((x: unknown) => x);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('raises BadRequestError for bad parameters, naming the param', async () => {
    const err = await client.chat.completions
      .create({ model: MODEL, messages, temperature: 3 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const e = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(e.status).toBe(400);
    expect(e.code).toBe('invalid_parameter');
    expect(e.param).toBe('temperature');
    expect(e.type).toBe('invalid_request_error');
  });

  it('raises InternalServerError-class errors for upstream failures', async () => {
    await upstream.control('status:500', 1);
    const err = await client.chat.completions.create({ model: MODEL, messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_error');
  });
});

function lastBody(stats: { lastRequest: { body: unknown } | null }): unknown {
  return stats.lastRequest?.body;
}
