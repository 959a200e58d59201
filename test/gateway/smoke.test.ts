import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';

for (const dialect of ['sqlite', 'postgres'] as const) {
  const run = (name: string, body: () => void) =>
    dialect === 'sqlite' ? body() : describeWith('pg', name, body);
  await run(`quickstart over a real upstream (${dialect})`, () => {
    let upstream: FakeUpstream;
    let gw: TestGateway;
    beforeAll(async () => {
      upstream = await startFakeUpstream();
      gw = await startTestGateway({ dialect, env: { SIMO_UPSTREAM_URL: upstream.v1 } });
    });
    afterAll(async () => {
      await gw?.stop();
      await upstream?.stop();
    });

    it('signs up and completes a chat through the upstream', async () => {
      const { apiKey } = await gw.signUp();
      const res = await fetch(`${gw.v1}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'qwen/qwen3-8b', messages: [{ role: 'user', content: 'Hello' }] }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { model: string; choices: Array<{ message: { content: string } }> };
      expect(body.model).toBe('qwen/qwen3-8b');
      expect(body.choices[0]?.message.content).toBe('Hello from fake upstream');
      const stats = await upstream.stats();
      expect((stats.lastRequest?.body as { model?: string } | undefined)?.model).toBe('qwen/qwen3-8b');
    });
  });
}
