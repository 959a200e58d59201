/**
 * The built-in simulator answers every surface, with a deterministic tool call whenever tools are
 * offered, so sandboxes can exercise agent loops without a model server.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const MODEL = 'qwen/qwen3-8b';
const parameters = {
  type: 'object',
  properties: { city: { type: 'string' }, days: { type: 'integer' } },
  required: ['city', 'days'],
};

describe('simulator on every surface', () => {
  let gw: TestGateway;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    gw = await startTestGateway();
    const { apiKey } = await gw.signUp();
    openai = new OpenAI({ baseURL: gw.v1, apiKey, maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: gw.url, apiKey, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('calls the offered tool on chat, streamed and not, then answers the tool result in text', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'forecast', parameters } }];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather?' }];
    const r = await openai.chat.completions.create({ model: MODEL, messages, tools });
    const call = r.choices[0]?.message.tool_calls?.[0];
    expect(r.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call).toMatchObject({
      type: 'function',
      function: { name: 'forecast', arguments: '{"city":"example","days":1}' },
    });
    const stream = await openai.chat.completions.create({ model: MODEL, messages, tools, stream: true });
    let args = '';
    for await (const chunk of stream)
      args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
    expect(args).toBe('{"city":"example","days":1}');
    if (!call) throw new Error('no call');
    const after = await openai.chat.completions.create({
      model: MODEL,
      tools,
      messages: [
        ...messages,
        { role: 'assistant', tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: 'sunny' },
      ],
    });
    expect(after.choices[0]?.finish_reason).toBe('stop');
  });

  it('answers responses, messages and completions', async () => {
    const r = await openai.responses.create({
      model: MODEL,
      input: 'Weather?',
      tools: [{ type: 'function', name: 'forecast', parameters, strict: false }],
    });
    expect(r.output[0]).toMatchObject({ type: 'function_call', name: 'forecast' });
    const text = await openai.responses.create({ model: MODEL, input: 'Hi' });
    expect(text.output_text).toContain('SIMOSphere simulator');

    const m = await anthropic.messages.create({
      model: MODEL,
      max_tokens: 50,
      tools: [{ name: 'forecast', input_schema: parameters as Anthropic.Tool.InputSchema }],
      messages: [{ role: 'user', content: 'Weather?' }],
    });
    expect(m.stop_reason).toBe('tool_use');
    expect(m.content[0]).toMatchObject({
      type: 'tool_use',
      name: 'forecast',
      input: { city: 'example', days: 1 },
    });

    const c = await openai.completions.create({ model: MODEL, prompt: 'Hi', max_tokens: 3 });
    expect(c.choices[0]?.finish_reason).toBe('length');
    expect(c.usage?.completion_tokens).toBe(3);
  });
});
