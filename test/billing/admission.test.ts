import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureChatPrompt } from '../../src/gateway/prompt-size.js';
import { costPicos, roundToMicros } from '../../src/shared/money.js';
import { describeWith } from '../support/services.js';
import {
  ADMIN_TOKEN,
  type BillingRig,
  call,
  chatBody,
  eventually,
  QWEN_PRICE,
  startBillingRig,
} from './billing-harness.js';
import { reconcile } from './reconcile.js';

const PROMPT = 'one two three';
// Every answer below is 3 prompt + 7 completion tokens: 117.5 micro-dollars, in pico-dollars.
const COST = 117_500_000n;
const TRIAL = 1_000_000_000n; // config trialCredits 0.001 USD, in pico-dollars
/** Prompt tokens a request of PROMPT is reserved for: its bytes plus the chat template's framing. */
const PROMPT_BOUND = measureChatPrompt({ messages: [{ role: 'user', content: PROMPT }] }).size.boundTokens;
const qwenCost = (prompt: number, completion: number) =>
  costPicos(prompt, completion, QWEN_PRICE.inputPerMTok, QWEN_PRICE.outputPerMTok);

for (const dialect of ['sqlite', 'postgres'] as const) {
  const suite = (name: string, body: () => void) =>
    dialect === 'sqlite' ? describe(name, body) : describeWith('pg', name, body);
  await suite(`credit admission, reservations and thresholds (${dialect})`, () => {
    let rig: BillingRig;
    const chat = (key: string, extra: Record<string, unknown> = {}) =>
      call(`${rig.gw.v1}/chat/completions`, key, { body: chatBody('qwen/qwen3-8b', PROMPT, extra) });
    const grant = (tenantId: string, amount: number | string, note?: string) =>
      call(`${rig.gw.url}/operator/tenants/${tenantId}/credits`, ADMIN_TOKEN, { body: { amount, note } });

    beforeAll(async () => {
      rig = await startBillingRig(dialect, { signup: { plan: 'starter', trialCredits: 0.001 } });
      await rig.upstream.control('words:7');
    });
    afterAll(async () => rig?.stop());

    it('answers 402 insufficient_credits before any upstream call once the balance is spent', async () => {
      const t = await rig.gw.signUp();
      const drained = await grant(t.tenantId, '-0.001', 'test: drain');
      expect(drained.status).toBe(200);
      expect(await drained.json()).toMatchObject({ kind: 'adjustment', balance: { balance: '0.000000' } });
      const before = (await rig.upstream.stats()).requests;
      const res = await chat(t.apiKey);
      expect(res.status).toBe(402);
      expect(await res.json()).toEqual({
        error: {
          type: 'insufficient_quota',
          code: 'insufficient_credits',
          message: expect.any(String),
          param: null,
        },
      });
      expect((await rig.upstream.stats()).requests).toBe(before);
      // Not admitted, so not metered.
      expect((await reconcile(rig.db, t.tenantId, rig.gw.server.container.meter)).records).toHaveLength(0);
    });

    it('spends sequentially while the balance pays for the worst case, then refuses', async () => {
      const t = await rig.gw.signUp();
      const statuses: number[] = [];
      for (let i = 0; i < 15 && statuses.at(-1) !== 402; i++) statuses.push((await chat(t.apiKey)).status);
      // 7 whole answers leave 177.5 µ$: the 8th is sent with the 4 completion tokens that still pay
      // for its prompt's bound (35 tokens × 3 µ$), and the 106.5 µ$ left after it afford none.
      expect(statuses).toEqual([...Array(8).fill(200), 402]);
      const books = await reconcile(rig.db, t.tenantId, rig.gw.server.container.meter);
      expect(books.consumed).toBe(7n * COST + qwenCost(3, 4));
      expect(books.balance).toBe(TRIAL - books.consumed);
      expect(books.balance >= 0n).toBe(true);
    });

    it('fires each usage threshold exactly once, in the debit transaction', async () => {
      const t = await rig.gw.signUp();
      for (let i = 0; i < 12; i++) if ((await chat(t.apiKey)).status === 402) break;
      await rig.gw.server.container.meter.flush();
      const events = await rig.db
        .selectFrom('outbox_events')
        .select('payload')
        .where('tenant_id', '=', t.tenantId)
        .where('type', '=', 'usage.threshold_reached')
        .execute();
      const data = events.map((e) => (JSON.parse(e.payload) as { data: Record<string, unknown> }).data);
      // 94% is spent: a balance is never overdrawn, so the 100% threshold is not reached.
      expect(data.map((d) => d.threshold).sort()).toEqual([0.5, 0.8]);
      for (const d of data) {
        expect(d.granted).toBe('0.001000');
        expect(typeof d.consumed).toBe('string');
        expect(Number(d.consumed) * 1e6).toBeGreaterThanOrEqual(Number(d.threshold) * 1000);
      }
      // A new grant starts a new period: nothing fired yet in it, and nothing re-fired by the grant.
      expect((await grant(t.tenantId, 1, 'top-up')).status).toBe(200);
      const row = await rig.db
        .selectFrom('credit_balances')
        .select('thresholds_fired')
        .where('tenant_id', '=', t.tenantId)
        .executeTakeFirstOrThrow();
      expect(row.thresholds_fired).toBe('[]');
      const audit = await rig.db
        .selectFrom('audit_log')
        .select(['action', 'actor'])
        .where('tenant_id', '=', t.tenantId)
        .where('action', '=', 'credits.granted')
        .execute();
      expect(audit).toEqual([{ action: 'credits.granted', actor: 'operator' }]);
      expect((await chat(t.apiKey)).status).toBe(200);
    });

    it('never admits more than the balance pays for at the worst case, however many run at once', async () => {
      const t = await rig.gw.signUp();
      // Slow answers keep every admitted request in flight until all 30 have been decided.
      await rig.upstream.control('words:7,stall:600');
      const maxTokens = 10;
      const reservation = qwenCost(PROMPT_BOUND, maxTokens);
      const results = await Promise.all(
        Array.from({ length: 30 }, () => chat(t.apiKey, { max_tokens: maxTokens }).then((r) => r.status)),
      );
      await rig.upstream.control('words:7');
      const ok = results.filter((s) => s === 200).length;
      expect(results.filter((s) => s !== 200).every((s) => s === 402)).toBe(true);
      expect(ok).toBe(Number(TRIAL / reservation));
      const books = await reconcile(rig.db, t.tenantId, rig.gw.server.container.meter);
      expect(books.consumed).toBe(BigInt(ok) * COST);
      expect(books.balance >= 0n).toBe(true);
      expect(rig.gw.server.container.billing.meter.reservedFor(t.tenantId)).toBe(0n);
    });

    it('sends a request without max_tokens upstream with the cap its balance affords', async () => {
      const t = await rig.gw.signUp();
      await rig.upstream.control('words:7,stall:300', 1);
      const pending = chat(t.apiKey);
      const meter = rig.gw.server.container.billing.meter;
      const reserved = await eventually(async () => meter.reservedFor(t.tenantId) || undefined);
      // (1000 µ$ − the prompt's bound) ÷ 15.5 µ$ per completion token.
      const affordable = Number((TRIAL - qwenCost(PROMPT_BOUND, 0)) / qwenCost(0, 1));
      expect(reserved).toBe(qwenCost(PROMPT_BOUND, affordable));
      expect(roundToMicros(reserved)).toBeLessThanOrEqual(1000);
      // The first request holds the whole balance; a second one while it is in flight is refused.
      expect((await chat(t.apiKey)).status).toBe(402);
      expect((await pending).status).toBe(200);
      const sent = (await rig.upstream.stats()).lastRequest?.body as Record<string, unknown>;
      expect(sent.max_tokens).toBe(affordable);
      expect(meter.reservedFor(t.tenantId)).toBe(0n);
    });

    it('never reserves more completion tokens than the context window holds', async () => {
      const t = await rig.gw.signUp();
      expect((await grant(t.tenantId, 10, 'room for a whole context window')).status).toBe(200);
      await rig.upstream.control('words:7,stall:300', 1);
      const pending = chat(t.apiKey, { max_tokens: 9_000_000_000_000_000 });
      const meter = rig.gw.server.container.billing.meter;
      const reserved = await eventually(async () => meter.reservedFor(t.tenantId) || undefined);
      const contextWindow = rig.gw.server.container.catalog.get('qwen/qwen3-8b')!.contextWindow;
      expect(reserved).toBe(qwenCost(PROMPT_BOUND, contextWindow));
      expect((await pending).status).toBe(200);
      // The client's own cap is sent as it is; a request without one is not capped when the balance
      // pays for the whole window.
      await rig.upstream.control('words:7', 1);
      expect((await chat(t.apiKey)).status).toBe(200);
      const sent = (await rig.upstream.stats()).lastRequest?.body as Record<string, unknown>;
      expect(sent.max_tokens).toBeUndefined();
    });

    it('validates operator grants and hides the operator API without the token', async () => {
      const t = await rig.gw.signUp();
      expect((await grant(t.tenantId, 'abc')).status).toBe(400);
      expect((await grant(t.tenantId, 0)).status).toBe(400);
      expect((await grant('ten_missing', 1)).status).toBe(404);
      const wrong = await call(`${rig.gw.url}/operator/tenants/${t.tenantId}/credits`, t.apiKey, {
        body: { amount: 1 },
      });
      expect(wrong.status).toBe(401);
      const again = () =>
        call(`${rig.gw.url}/operator/tenants/${t.tenantId}/credits`, ADMIN_TOKEN, {
          body: { amount: '2.5' },
          headers: { 'idempotency-key': `grant-${t.tenantId}` },
        }).then((r) => r.json() as Promise<{ applied: boolean; balance: { balance: string } }>);
      expect(await again()).toMatchObject({ applied: true, balance: { balance: '2.501000' } });
      expect(await again()).toMatchObject({ applied: false, balance: { balance: '2.501000' } });

      // Keys belong to a tenant: the same key for another tenant is another grant.
      const other = await rig.gw.signUp();
      const sameKey = await call(`${rig.gw.url}/operator/tenants/${other.tenantId}/credits`, ADMIN_TOKEN, {
        body: { amount: '1' },
        headers: { 'idempotency-key': `grant-${t.tenantId}` },
      });
      expect(((await sameKey.json()) as { applied: boolean }).applied).toBe(true);
      // A key that cannot be kept is refused rather than ignored.
      const tooLong = await call(`${rig.gw.url}/operator/tenants/${t.tenantId}/credits`, ADMIN_TOKEN, {
        body: { amount: '1' },
        headers: { 'idempotency-key': 'k'.repeat(101) },
      });
      expect(tooLong.status).toBe(400);
    });
  });
}
