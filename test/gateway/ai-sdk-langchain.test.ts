/**
 * Two popular client stacks against the gateway: the Vercel AI SDK (via its OpenAI-compatible provider)
 * and LangChain's ChatOpenAI. One chat and one stream each.
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, streamText } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const MODEL = 'qwen/qwen3-8b';
const ANSWER = 'Hello from fake upstream';

describe('AI SDK and LangChain against the gateway', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let apiKey: string;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    gw = await startTestGateway({ env: { SIMO_UPSTREAM_URL: upstream.v1 } });
    ({ apiKey } = await gw.signUp());
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.stop();
  });

  describe('Vercel AI SDK (@ai-sdk/openai-compatible)', () => {
    const provider = () =>
      createOpenAICompatible({ baseURL: gw.v1, apiKey, name: 'simosphere', includeUsage: true });

    it('generateText', async () => {
      const result = await generateText({ model: provider()(MODEL), prompt: 'Hi', maxRetries: 0 });
      expect(result.text).toBe(ANSWER);
      expect(result.finishReason).toBe('stop');
      expect(result.usage.inputTokens).toBe(1);
      expect(result.usage.outputTokens).toBe(4);
      expect(result.response.modelId).toBe(MODEL);
    });

    it('streamText', async () => {
      const result = streamText({ model: provider()(MODEL), prompt: 'Hi', maxRetries: 0 });
      const parts: string[] = [];
      for await (const delta of result.textStream) parts.push(delta);
      expect(parts.length).toBeGreaterThan(1);
      expect(parts.join('')).toBe(ANSWER);
      expect((await result.usage).outputTokens).toBe(4);
    });
  });

  describe('LangChain (@langchain/openai ChatOpenAI)', () => {
    const chat = () =>
      new ChatOpenAI({ model: MODEL, apiKey, configuration: { baseURL: gw.v1 }, maxRetries: 0 });

    it('invoke', async () => {
      const message = await chat().invoke('Hi');
      expect(message.content).toBe(ANSWER);
      expect(message.usage_metadata).toMatchObject({ input_tokens: 1, output_tokens: 4 });
    });

    it('stream', async () => {
      const parts: string[] = [];
      for await (const chunk of await chat().stream('Hi')) {
        if (typeof chunk.content === 'string') parts.push(chunk.content);
      }
      expect(parts.filter((p) => p !== '').length).toBeGreaterThan(1);
      expect(parts.join('')).toBe(ANSWER);
    });
  });
});
