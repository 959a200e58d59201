/**
 * The official `openai` SDK's Responses and legacy Completions clients against the gateway, whose
 * upstream is the fake upstream process speaking only Chat Completions: every call is translated.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const MODEL = 'qwen/qwen3-8b';
const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
};

describe('openai SDK: responses and completions', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let client: OpenAI;
  let other: OpenAI;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    gw = await startTestGateway({
      config: {
        providers: [{ id: 'up', type: 'openai-compatible', baseUrl: upstream.v1 }],
        models: [{ id: MODEL, ownedBy: 'qwen', routes: [{ provider: 'up' }] }],
      },
    });
    client = new OpenAI({ baseURL: gw.v1, apiKey: (await gw.signUp()).apiKey, maxRetries: 0 });
    other = new OpenAI({ baseURL: gw.v1, apiKey: (await gw.signUp()).apiKey, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.stop();
  });
  beforeEach(async () => {
    await upstream.reset();
  });

  it('creates a response from text input and instructions', async () => {
    const r = await client.responses.create({
      model: MODEL,
      instructions: 'Be brief.',
      input: 'Hello there',
    });
    expect(r.object).toBe('response');
    expect(r.status).toBe('completed');
    expect(r.model).toBe(MODEL);
    expect(r.output_text).toBe('Hello from fake upstream');
    expect(r.usage).toMatchObject({ input_tokens: 4, output_tokens: 4, total_tokens: 8 });
    const sent = (await upstream.stats()).lastRequest?.body as { messages: unknown[] };
    expect(sent.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hello there' },
    ]);
  });

  it('streams the documented event sequence with increasing sequence numbers', async () => {
    await upstream.control('words:5');
    const stream = await client.responses.create({ model: MODEL, input: 'Hi', stream: true });
    const types: string[] = [];
    const seqs: number[] = [];
    let text = '';
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      seqs.push(event.sequence_number);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(types.slice(0, 4)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
    ]);
    expect(types.slice(-4)).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect(text).toBe('w0 w1 w2 w3 w4');
    expect(completed?.output_text ?? completed?.output[0]).toBeTruthy();
    expect(completed?.usage).toMatchObject({ output_tokens: 5 });
  });

  it('round-trips a function tool call, streamed and not', async () => {
    const args = JSON.stringify({ city: 'Paris' });
    await upstream.control(`tool-args:${encodeURIComponent(args)}`);
    const first = await client.responses.create({
      model: MODEL,
      input: 'Weather in Paris?',
      tools: [weatherTool],
    });
    const call = first.output.find((o) => o.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', arguments: args });
    if (call?.type !== 'function_call') throw new Error('no call');
    const second = await client.responses.create({
      model: MODEL,
      tools: [weatherTool],
      input: [
        { role: 'user', content: 'Weather in Paris?' },
        call,
        { type: 'function_call_output', call_id: call.call_id, output: 'sunny' },
      ],
    });
    expect(second.output_text).toBe('Hello from fake upstream');
    const sent = (await upstream.stats()).lastRequest?.body as { messages: Array<Record<string, unknown>> };
    expect(sent.messages.at(-2)).toMatchObject({ role: 'assistant', tool_calls: [{ id: call.call_id }] });
    expect(sent.messages.at(-1)).toEqual({ role: 'tool', tool_call_id: call.call_id, content: 'sunny' });

    const stream = client.responses.stream({ model: MODEL, input: 'Weather?', tools: [weatherTool] });
    const deltas: string[] = [];
    stream.on('response.function_call_arguments.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    expect(deltas.length).toBe(2);
    expect(deltas.join('')).toBe(args);
    expect(final.output.find((o) => o.type === 'function_call')).toMatchObject({ arguments: args });
  });

  it('keeps a stored response for previous_response_id, retrieval, input items and deletion, per tenant', async () => {
    const first = await client.responses.create({ model: MODEL, input: 'My name is Ada.' });
    expect((first as { store?: boolean }).store).toBe(true);
    const second = await client.responses.create({
      model: MODEL,
      input: 'What is my name?',
      previous_response_id: first.id,
    });
    expect(second.previous_response_id).toBe(first.id);
    const sent = (await upstream.stats()).lastRequest?.body as { messages: unknown[] };
    expect(sent.messages).toEqual([
      { role: 'user', content: 'My name is Ada.' },
      { role: 'assistant', content: 'Hello from fake upstream' },
      { role: 'user', content: 'What is my name?' },
    ]);

    const got = await client.responses.retrieve(second.id);
    expect(got.id).toBe(second.id);
    expect(got.output_text).toBe('Hello from fake upstream');
    const items = await client.responses.inputItems.list(second.id);
    expect(items.data).toHaveLength(1);
    expect(items.data[0]).toMatchObject({ type: 'message', role: 'user' });

    // Another tenant sees nothing of it.
    await expect(other.responses.retrieve(second.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(other.responses.delete(second.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      other.responses.create({ model: MODEL, input: 'x', previous_response_id: first.id }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);

    await client.responses.delete(second.id);
    await expect(client.responses.retrieve(second.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);

    const unstored = await client.responses.create({ model: MODEL, input: 'x', store: false });
    await expect(client.responses.retrieve(unstored.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('translates text.format, max_output_tokens and reasoning to the chat request', async () => {
    await upstream.control('words:50');
    const r = await client.responses.create({
      model: MODEL,
      input: 'Give JSON',
      max_output_tokens: 3,
      reasoning: { effort: 'low' },
      text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true } },
    });
    expect(r.status).toBe('incomplete');
    expect(r.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    const sent = (await upstream.stats()).lastRequest?.body as Record<string, unknown>;
    expect(sent).toMatchObject({
      max_tokens: 3,
      reasoning_effort: 'low',
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'answer', schema: { type: 'object' }, strict: true },
      },
    });
  });

  it('answers legacy completions, plain and streamed', async () => {
    const c = await client.completions.create({ model: MODEL, prompt: 'Say hello', max_tokens: 20 });
    expect(c.object).toBe('text_completion');
    expect(c.model).toBe(MODEL);
    expect(c.choices[0]).toMatchObject({ text: 'Hello from fake upstream', index: 0, finish_reason: 'stop' });
    expect(c.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 4 });

    const stream = await client.completions.create({
      model: MODEL,
      prompt: 'Say hello',
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Hello from fake upstream');
    expect(finish).toBe('stop');
    expect(usage).toMatchObject({ completion_tokens: 4 });
    // OpenAI's default cap for a completion is 16 tokens.
    expect((await upstream.stats()).lastRequest?.body).toMatchObject({ max_tokens: 16 });
  });
});
