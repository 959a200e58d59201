/**
 * Embeddings requests are bounded before any model server sees them, and the simulator answers the
 * official openai SDK's default `encoding_format: "base64"` the way OpenAI does.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const MODEL = 'qwen/qwen3-embedding-0.6b';

/** Float32 little-endian, as OpenAI encodes `base64` embeddings. */
const decodeFloat32 = (b64: string) => {
  const bytes = Buffer.from(b64, 'base64');
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
};
const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

async function rawEmbeddings(gw: TestGateway, key: string, body: unknown) {
  const res = await fetch(`${gw.v1}/embeddings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & { error?: Record<string, unknown> },
  };
}

describe('embeddings on the built-in simulator', () => {
  let gw: TestGateway;
  let key: string;
  let client: OpenAI;
  beforeAll(async () => {
    gw = await startTestGateway({ config: { plans: { starter: { rpm: 100_000 } } } });
    key = (await gw.signUp()).apiKey;
    client = new OpenAI({ baseURL: gw.v1, apiKey: key, maxRetries: 0 });
  });
  afterAll(() => gw?.stop());

  it('answers the SDK default (base64) with the same unit vectors as floats', async () => {
    const input = ['alpha', 'beta gamma'];
    const decoded = await client.embeddings.create({ model: MODEL, input, dimensions: 64 });
    const floats = await client.embeddings.create({
      model: MODEL,
      input,
      dimensions: 64,
      encoding_format: 'float',
    });
    expect(decoded.data).toHaveLength(2);
    for (const [i, item] of decoded.data.entries()) {
      expect(item.embedding).toHaveLength(64);
      expect(item.embedding.some((x) => x !== 0)).toBe(true);
      expect(norm(item.embedding)).toBeCloseTo(1, 4);
      const reference = floats.data[i]!.embedding;
      for (const [j, x] of item.embedding.entries()) expect(x).toBeCloseTo(reference[j]!, 6);
    }
    expect(decoded.data[0]!.embedding).not.toEqual(decoded.data[1]!.embedding);
    expect(decoded.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('sends base64 as float32 little-endian on the wire', async () => {
    const b64 = await rawEmbeddings(gw, key, {
      model: MODEL,
      input: 'wire',
      encoding_format: 'base64',
      dimensions: 8,
    });
    const float = await rawEmbeddings(gw, key, { model: MODEL, input: 'wire', dimensions: 8 });
    const encoded = (b64.body.data as Array<{ embedding: string }>)[0]!.embedding;
    expect(typeof encoded).toBe('string');
    expect(Buffer.from(encoded, 'base64')).toHaveLength(32);
    const values = (float.body.data as Array<{ embedding: number[] }>)[0]!.embedding;
    expect(decodeFloat32(encoded)).toEqual(values.map((v) => Math.fround(v)));
  });

  for (const dimensions of [100_000, 1_000_000, 8193, 0, -1, 1.5, '12'] as const) {
    it(`refuses dimensions ${JSON.stringify(dimensions)} with a 400 naming it`, async () => {
      const res = await rawEmbeddings(gw, key, { model: MODEL, input: 'x', dimensions });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param: 'dimensions' });
    });
  }

  it('raises BadRequestError in the SDK for an oversized vector', async () => {
    const err = await client.embeddings
      .create({ model: MODEL, input: 'x', dimensions: 100_000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('dimensions');
  });

  it('bounds the number and size of inputs', async () => {
    const tooMany = await rawEmbeddings(gw, key, {
      model: MODEL,
      input: Array.from({ length: 2049 }, () => 'x'),
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error?.param).toBe('input');
    const tooLong = await rawEmbeddings(gw, key, {
      model: MODEL,
      input: [[1, 2], Array.from({ length: 40_000 }, () => 7)],
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error?.param).toBe('input[1]');
    const negative = await rawEmbeddings(gw, key, { model: MODEL, input: [1, -2, 3] });
    expect(negative.status).toBe(400);
  });

  it('keeps each simulated answer small: inputs × dimensions is capped with a clear 400', async () => {
    const big = await rawEmbeddings(gw, key, {
      model: MODEL,
      input: Array.from({ length: 2048 }, (_, i) => `text ${i}`),
      dimensions: 4096,
    });
    expect(big.status).toBe(400);
    expect(big.body.error).toMatchObject({ param: 'dimensions' });
    expect(String(big.body.error?.message)).toMatch(/at most 131,072 embedding values/);
    const most = await rawEmbeddings(gw, key, {
      model: MODEL,
      input: Array.from({ length: 16 }, (_, i) => `t${i}`),
      dimensions: 8192,
    });
    expect(most.status).toBe(200);
    expect((most.body.data as unknown[]).length).toBe(16);
  });
});

describe('embeddings bounds in front of a real upstream', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let key: string;
  beforeAll(async () => {
    upstream = await startFakeUpstream();
    gw = await startTestGateway({
      config: {
        providers: [{ id: 'up', type: 'openai-compatible', baseUrl: upstream.v1 }],
        models: [{ id: MODEL, kind: 'embedding', routes: [{ provider: 'up' }] }],
      },
    });
    key = (await gw.signUp()).apiKey;
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.stop();
  });

  it('never forwards an out-of-range dimensions, and forwards an allowed one unchanged', async () => {
    const before = (await upstream.stats()).embeddings;
    const refused = await rawEmbeddings(gw, key, { model: MODEL, input: 'x', dimensions: 100_000 });
    expect(refused.status).toBe(400);
    expect(refused.body.error?.param).toBe('dimensions');
    expect((await upstream.stats()).embeddings).toBe(before);
    const allowed = await rawEmbeddings(gw, key, { model: MODEL, input: 'x', dimensions: 3072 });
    expect(allowed.status).toBe(200);
    const stats = await upstream.stats();
    expect(stats.embeddings).toBe(before + 1);
    expect((stats.lastRequest?.body as { dimensions?: number } | undefined)?.dimensions).toBe(3072);
  });
});
