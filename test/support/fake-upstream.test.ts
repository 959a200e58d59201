import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream-process.js';

type Completion = OpenAI.ChatCompletion;
type Chunk = OpenAI.ChatCompletionChunk;
type ErrorBody = { error: { message: string; type: string; param: null; code: string | null } };
type Json = Record<string, unknown>;

let up: FakeUpstream;

beforeAll(async () => {
  up = await startFakeUpstream();
});
afterAll(async () => {
  await up?.stop();
});
beforeEach(async () => {
  await up.reset();
  await up.resetStats();
});

const userMsg = (content: unknown) => ({ role: 'user', content });

function post(path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) {
  const init: RequestInit = {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
  if (signal) init.signal = signal;
  return fetch(`${up.v1}${path}`, init);
}

function chat(body: Json, behavior?: string) {
  const base = { model: 'my-model', messages: [userMsg('hi')] };
  return post('/chat/completions', { ...base, ...body }, behavior ? { 'x-fake-behavior': behavior } : {});
}

/** Splits an SSE body into its `data:` payloads, asserting the framing on the way. */
function sseEvents(text: string): string[] {
  expect(text.endsWith('\n\n')).toBe(true);
  const events = text.slice(0, -2).split('\n\n');
  for (const e of events) expect(e).toMatch(/^data: [^\n]+$/);
  return events.map((e) => e.slice('data: '.length));
}

const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T;
const chunksOf = (events: string[]) =>
  events.filter((e) => e !== '[DONE]').map((e) => JSON.parse(e) as Chunk);
const contentOf = (chunks: Chunk[]) => chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');

/** Reads a response body as text, also reporting whether the stream ended in an error. */
async function readAll(res: Response): Promise<{ text: string; error: unknown }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, error: undefined };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

async function waitFor(check: () => Promise<boolean>, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('fake upstream', () => {
  it('lists models', async () => {
    const res = await fetch(`${up.v1}/models`);
    expect(await res.json()).toEqual({
      object: 'list',
      data: [{ id: 'fake-model', object: 'model', created: 1700000000, owned_by: 'fake' }],
    });
  });

  it('answers a non-stream chat completion in the OpenAI shape', async () => {
    const messages = [
      { role: 'system', content: 'You are helpful' },
      userMsg([
        { type: 'text', text: 'hi there' },
        { type: 'image_url', image_url: { url: 'x' } },
      ]),
    ];
    const res = await chat({ messages });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = await json<Completion>(res);
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(typeof body.created).toBe('number');
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'my-model',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello from fake upstream', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
    });
    expect(body.choices).toHaveLength(1);
  });

  it('truncates at max_tokens / max_completion_tokens with finish_reason length', async () => {
    const a = await json<Completion>(chat({ max_tokens: 2 }));
    expect(a.choices[0]!.message.content).toBe('Hello from ');
    expect(a.choices[0]!.finish_reason).toBe('length');
    expect(a.usage!.completion_tokens).toBe(2);
    const b = await json<Completion>(chat({ max_completion_tokens: 3 }));
    expect(b.choices[0]!.finish_reason).toBe('length');
    expect(b.usage!.completion_tokens).toBe(3);
  });

  it('answers n choices, each up to the cap, and counts all of them in usage', async () => {
    const body = await json<Completion>(chat({ n: 3, max_tokens: 2 }));
    expect(body.choices.map((c) => [c.index, c.message.content])).toEqual([
      [0, 'Hello from '],
      [1, 'Hello from '],
      [2, 'Hello from '],
    ]);
    expect(body.usage!.completion_tokens).toBe(6);
    const streamed = await chat({ n: 2, stream: true, stream_options: { include_usage: true } });
    const chunks = sseEvents(await streamed.text())
      .filter((e) => e !== '[DONE]')
      .map(
        (e) =>
          JSON.parse(e) as { choices: Array<{ index: number }>; usage: { completion_tokens: number } | null },
      );
    expect(new Set(chunks.flatMap((c) => c.choices.map((ch) => ch.index)))).toEqual(new Set([0, 1]));
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(2 * 4);
  });

  it('streams SSE chunks ending in [DONE], without usage unless asked', async () => {
    const res = await chat({ stream: true });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = sseEvents(await res.text());
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = chunksOf(events);
    expect(chunks).toHaveLength(6); // role + 4 words + finish
    for (const c of chunks) {
      expect(c).toMatchObject({ object: 'chat.completion.chunk', model: 'my-model' });
      expect('usage' in c).toBe(false);
    }
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.at(-1)!.choices[0]!).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(contentOf(chunks)).toBe('Hello from fake upstream');
  });

  it('adds the usage chunk (and usage:null elsewhere) with include_usage, unless no-usage', async () => {
    const body = { stream: true, stream_options: { include_usage: true } };
    const chunks = chunksOf(sseEvents(await (await chat(body)).text()));
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 1, completion_tokens: 4, total_tokens: 5 });
    for (const c of chunks.slice(0, -1)) expect(c.usage).toBeNull();

    const bare = chunksOf(sseEvents(await (await chat(body, 'no-usage')).text()));
    expect(bare.every((c) => !('usage' in c) && c.choices.length === 1)).toBe(true);
    const plain = await json<Completion>(chat({}, 'no-usage'));
    expect('usage' in plain).toBe(false);
  });

  it('honours content:, words: and pace: behaviours', async () => {
    const a = await json<Completion>(chat({}, `content:${encodeURIComponent('a, b: c')}`));
    expect(a.choices[0]!.message.content).toBe('a, b: c');
    const started = Date.now();
    const chunks = chunksOf(sseEvents(await (await chat({ stream: true }, 'pace:20,words:5')).text()));
    expect(Date.now() - started).toBeGreaterThanOrEqual(20 * 7 - 10); // 8 frames, 7 gaps
    expect(contentOf(chunks)).toBe('w0 w1 w2 w3 w4');
  });

  it('answers with a tool call when tools are given, in both forms', async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }];
    const body = await json<Completion>(chat({ tools }));
    expect(body.choices[0]!.finish_reason).toBe('tool_calls');
    expect(body.choices[0]!.message.tool_calls).toEqual([
      {
        id: expect.stringMatching(/^call_/),
        type: 'function',
        function: { name: 'get_weather', arguments: '{}' },
      },
    ]);
    const chunks = chunksOf(sseEvents(await (await chat({ tools, stream: true })).text()));
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls.every((t) => t.index === 0)).toBe(true);
    expect(calls[0]).toMatchObject({
      id: expect.stringMatching(/^call_/),
      function: { name: 'get_weather' },
    });
    expect(calls.map((t) => t.function?.arguments ?? '').join('')).toBe('{}');
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('tool_calls');
    const none = await json<Completion>(chat({ tools, tool_choice: 'none' }));
    expect(none.choices[0]!.finish_reason).toBe('stop');
  });

  it('calls the tool and arguments it is told to, in pieces, and answers in text after a tool result', async () => {
    const tools = ['a', 'b'].map((name) => ({ type: 'function', function: { name } }));
    const args = JSON.stringify({ city: 'Paris' });
    const behavior = `tool:b,tool-args:${encodeURIComponent(args)}`;
    const body = await json<Completion>(chat({ tools }, behavior));
    expect(body.choices[0]!.message.tool_calls?.[0]).toMatchObject({
      function: { name: 'b', arguments: args },
    });
    const chunks = chunksOf(sseEvents(await (await chat({ tools, stream: true }, behavior)).text()));
    const pieces = chunks
      .flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])
      .map((t) => t.function?.arguments ?? '');
    expect(pieces.filter((p) => p !== '').length).toBe(2);
    expect(pieces.join('')).toBe(args);
    const call = body.choices[0]!.message.tool_calls![0]!;
    const after = await json<Completion>(
      chat({
        tools,
        messages: [
          { role: 'user', content: 'weather?' },
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: call.id, content: 'sunny' },
        ],
      }),
    );
    expect(after.choices[0]!.finish_reason).toBe('stop');
    expect(after.choices[0]!.message.content).toBe('Hello from fake upstream');
  });

  it('reports cached prompt tokens when told to', async () => {
    const body = await json<Completion & { usage: Record<string, unknown> }>(chat({}, 'cached:3'));
    expect(body.usage).toMatchObject({ prompt_tokens: 3, prompt_tokens_details: { cached_tokens: 3 } });
  });

  it('returns an OpenAI error body for status:<code>', async () => {
    const res = await chat({}, 'status:500');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      error: { message: 'fake failure', type: 'server_error', param: null, code: 'fake_500' },
    });
  });

  it('stalls before sending headers', async () => {
    const started = Date.now();
    const res = await chat({}, 'stall:300');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(res.status).toBe(200);
  });

  it('drop-after cuts the stream without [DONE], and drops non-stream requests', async () => {
    const res = await chat({ stream: true }, 'drop-after:2');
    const { text, error } = await readAll(res);
    expect(error).toBeDefined();
    expect(text).not.toContain('[DONE]');
    expect(contentOf(chunksOf(sseEvents(text)))).toBe('Hello from ');
    await expect(chat({}, 'drop-after:0')).rejects.toThrow();
    expect((await up.stats()).aborted).toBe(0); // our own drops are not client aborts
  });

  it('counts client aborts mid-stream', async () => {
    const ac = new AbortController();
    const res = await post(
      '/chat/completions',
      { messages: [], stream: true },
      { 'x-fake-behavior': 'pace:50,words:50' },
      ac.signal,
    );
    await res.body!.getReader().read();
    ac.abort();
    await waitFor(async () => (await up.stats()).aborted === 1);
  });

  it('applies a control default for `times` requests; the header overrides it', async () => {
    await up.control('status:503', 2);
    expect((await chat({}, 'ok')).status).toBe(200); // header wins and does not use up a time
    expect((await chat({})).status).toBe(503);
    expect((await fetch(`${up.v1}/models`)).status).toBe(503);
    expect((await chat({})).status).toBe(200);
    await up.control('status:429');
    expect((await chat({})).status).toBe(429);
    await up.reset();
    expect((await chat({})).status).toBe(200);
    await expect(up.control('nonsense')).rejects.toThrow(/400/);
  });

  it('records stats and the last forwarded request', async () => {
    await post(
      '/chat/completions',
      { model: 'up-model', messages: [], user: 'u1' },
      { authorization: 'Bearer sk-x' },
    );
    await post('/embeddings', { model: 'e', input: 'x' });
    const s = await up.stats();
    expect(s).toMatchObject({ requests: 2, chat: 1, embeddings: 1, aborted: 0 });
    expect(s.lastRequest?.body).toEqual({ model: 'e', input: 'x' });
    await chat({ model: 'up-model', user: 'u1' }, 'ok');
    const last = (await up.stats()).lastRequest!;
    expect(last.headers['x-fake-behavior']).toBe('ok');
    expect(last.body).toMatchObject({ model: 'up-model', user: 'u1' });
  });

  it('returns embeddings as floats or little-endian float32 base64', async () => {
    type Embeddings<E> = Omit<OpenAI.CreateEmbeddingResponse, 'data'> & {
      data: Array<{ object: 'embedding'; index: number; embedding: E }>;
    };
    const floats = await json<Embeddings<number[]>>(
      post('/embeddings', { model: 'emb', input: ['a b', 'c'] }),
    );
    expect(floats).toMatchObject({
      object: 'list',
      model: 'emb',
      usage: { prompt_tokens: 3, total_tokens: 3 },
    });
    expect(floats.data.map((d) => d.index)).toEqual([0, 1]);
    const vector = floats.data[0]!.embedding;
    expect(vector).toHaveLength(8);
    expect(floats.data[1]!.embedding).not.toEqual(vector);
    const again = await json<Embeddings<number[]>>(post('/embeddings', { input: 'a b' }));
    expect(again.data[0]!.embedding).toEqual(vector); // deterministic

    const single = await json<Embeddings<string>>(
      post('/embeddings', { input: 'a b', encoding_format: 'base64' }),
    );
    const buf = Buffer.from(single.data[0]!.embedding, 'base64');
    expect(buf.length).toBe(32);
    expect(Array.from({ length: 8 }, (_, i) => buf.readFloatLE(i * 4))).toEqual(vector);
  });

  it('rejects malformed JSON with 400 and unknown paths with 404', async () => {
    const bad = await post('/chat/completions', '{not json');
    expect(bad.status).toBe(400);
    expect((await json<ErrorBody>(bad)).error.type).toBe('invalid_request_error');
    const missing = await fetch(`${up.url}/nope`);
    expect(missing.status).toBe(404);
    expect((await json<ErrorBody>(missing)).error.code).toBe('unknown_url');
  });
});

describe('fake upstream with --api-key', () => {
  let keyed: FakeUpstream;
  beforeAll(async () => {
    keyed = await startFakeUpstream({ apiKey: 'sk-test' });
  });
  afterAll(async () => {
    await keyed?.stop();
  });

  it('requires the bearer key on /v1', async () => {
    const none = await fetch(`${keyed.v1}/models`);
    expect(none.status).toBe(401);
    expect((await json<ErrorBody>(none)).error.code).toBe('invalid_api_key');
    const wrong = await fetch(`${keyed.v1}/models`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const ok = await fetch(`${keyed.v1}/models`, { headers: { authorization: 'Bearer sk-test' } });
    expect(ok.status).toBe(200);
  });
});
