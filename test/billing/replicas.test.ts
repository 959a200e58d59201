/** Two replicas on one PostgreSQL database: the books still add up, thresholds fire once, overspend stays bounded. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { measureChatPrompt } from '../../src/gateway/prompt-size.js';
import { costPicos } from '../../src/shared/money.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import { billingConfig, call, chatBody, QWEN_PRICE } from './billing-harness.js';
import { reconcile } from './reconcile.js';

const PROMPT = 'one two three';
const TRIAL = 2_000_000_000n; // 0.002 USD in pico-dollars

await describeWith('pg', 'billing across two replicas (postgres)', () => {
  let upstream: FakeUpstream;
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    const config = billingConfig(upstream.v1, { signup: { plan: 'starter', trialCredits: 0.002 } });
    a = await startTestGateway({ dialect: 'postgres', config });
    // Same database, its own data dir (its own write-ahead log), as on another machine.
    b = await startTestGateway({ database: { ...a.database, dataDir: `${a.database.dataDir}-b` }, config });
    await upstream.control('words:7,pace:300');
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await upstream?.stop();
  });

  it('never overspends beyond both replicas’ reservations and fires each threshold once', async () => {
    const t = await a.signUp();
    const reservation = costPicos(
      measureChatPrompt({ messages: [{ role: 'user', content: PROMPT }] }).size.boundTokens,
      10,
      QWEN_PRICE.inputPerMTok,
      QWEN_PRICE.outputPerMTok,
    );
    const fire = (gw: TestGateway) =>
      call(`${gw.v1}/chat/completions`, t.apiKey, {
        body: chatBody('qwen/qwen3-8b', PROMPT, { max_tokens: 10 }),
      }).then((r) => r.status);
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => fire(i % 2 ? a : b)));
    const ok = statuses.filter((s) => s === 200).length;
    expect(statuses.every((s) => s === 200 || s === 402)).toBe(true);
    // Each replica admits what ITS view of the balance pays for at the worst case.
    expect(ok).toBeLessThanOrEqual(2 * Number(TRIAL / reservation));
    await b.server.container.meter.flush();
    const books = await reconcile(a.server.container.database.db, t.tenantId, a.server.container.meter);
    expect(books.consumed).toBe(BigInt(ok) * 117_500_000n);
    // The documented bound: each replica spends at most the balance it saw.
    expect(books.balance >= -TRIAL).toBe(true);
    const events = await a.server.container.database.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('tenant_id', '=', t.tenantId)
      .where('type', '=', 'usage.threshold_reached')
      .execute();
    const fired = events.map(
      (e) => (JSON.parse(e.payload) as { data: { threshold: number } }).data.threshold,
    );
    expect(new Set(fired).size).toBe(fired.length);
  });
});
