/**
 * The OpenAI Agents SDK (`@openai/agents`, Responses API) runs an agent with one function tool through
 * the gateway; the upstream is the fake upstream process, which calls the tool once and then answers.
 */
import { Agent, OpenAIProvider, Runner, setTracingDisabled, tool } from '@openai/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const MODEL = 'qwen/qwen3-8b';

describe('@openai/agents through the gateway', () => {
  let upstream: FakeUpstream;
  let gw: TestGateway;
  let apiKey: string;

  beforeAll(async () => {
    setTracingDisabled(true);
    upstream = await startFakeUpstream();
    gw = await startTestGateway({
      config: {
        providers: [{ id: 'up', type: 'openai-compatible', baseUrl: upstream.v1 }],
        models: [{ id: MODEL, routes: [{ provider: 'up' }] }],
      },
    });
    apiKey = (await gw.signUp()).apiKey;
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.stop();
  });

  it('completes a run with one function tool call', async () => {
    await upstream.control(`tool-args:${encodeURIComponent(JSON.stringify({ city: 'Paris' }))}`);
    const calls: string[] = [];
    const weather = tool({
      name: 'get_weather',
      description: 'Weather of a city',
      parameters: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        calls.push(city);
        return `sunny in ${city}`;
      },
    });
    const agent = new Agent({
      name: 'Forecaster',
      instructions: 'Answer with the weather.',
      model: MODEL,
      tools: [weather],
    });
    const runner = new Runner({
      modelProvider: new OpenAIProvider({ apiKey, baseURL: gw.v1, useResponses: true }),
    });
    const result = await runner.run(agent, 'Weather in Paris?');
    expect(calls).toEqual(['Paris']);
    expect(result.finalOutput).toBe('Hello from fake upstream');
    const sent = (await upstream.stats()).lastRequest?.body as { messages: Array<Record<string, unknown>> };
    expect(sent.messages.at(-1)).toMatchObject({ role: 'tool', content: 'sunny in Paris' });
  });
});
