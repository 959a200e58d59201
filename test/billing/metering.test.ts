import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenCounter } from '../../src/billing/token-counter.js';
import { measureChatPrompt } from '../../src/gateway/prompt-size.js';
import { costPicos, formatMicros, picosOf, roundToMicros } from '../../src/shared/money.js';
import type { SignedUp } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import {
  type BillingRig,
  call,
  chatBody,
  eventually,
  GPT_PRICE,
  QWEN_PRICE,
  readSse,
  startBillingRig,
} from './billing-harness.js';
import { reconcile } from './reconcile.js';

const PROMPT = 'one two three';
const qwenCost = (p: number, c: number) => costPicos(p, c, QWEN_PRICE.inputPerMTok, QWEN_PRICE.outputPerMTok);
/** A stored record's exact cost, pico-dollars. */
const costOf = (r: { cost_micros: number; cost_picos: number }) => picosOf(r.cost_micros, r.cost_picos);
// 3 × 3 + 7 × 15.5 = 117.5 micro-dollars, billed as such (not rounded to 118).
const COST = 117_500_000n;
const tokens = new TokenCounter();
/** Tokens an estimate adds to the prompt's text: the chat template around one user message. */
const FRAMING = measureChatPrompt({ messages: [{ role: 'user', content: PROMPT }] }).size.framingTokens;

for (const dialect of ['sqlite', 'postgres'] as const) {
  const suite = (name: string, body: () => void) =>
    dialect === 'sqlite' ? describe(name, body) : describeWith('pg', name, body);
  await suite(`metering adds up to the micro-dollar (${dialect})`, () => {
    let rig: BillingRig;
    let tenant: SignedUp;
    const record = (requestId: string) =>
      rig.db.selectFrom('usage_records').selectAll().where('request_id', '=', requestId).executeTakeFirst();
    const settled = (requestId: string) => eventually(() => record(requestId), 8000);
    const chat = (body: unknown, signal?: AbortSignal) =>
      call(`${rig.gw.v1}/chat/completions`, tenant.apiKey, { body, ...(signal ? { signal } : {}) });

    beforeAll(async () => {
      rig = await startBillingRig(dialect);
      tenant = await rig.gw.signUp();
    });
    afterAll(async () => rig?.stop());

    it('grants the trial credit at sign-up and reports it', async () => {
      const res = await call(`${rig.gw.url}/admin/balance`, tenant.apiKey);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        balance: '5.000000',
        currency: 'USD',
        granted: '5.000000',
        consumed: '0.000000',
        reserved: '0.000000',
      });
    });

    it('bills a non-streamed answer from the upstream usage, exactly', async () => {
      await rig.upstream.control('words:7', 1);
      const res = await chat(chatBody('qwen/qwen3-8b', PROMPT));
      expect(res.status).toBe(200);
      const body = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
      expect(body.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 7 });
      const r = await settled(res.headers.get('x-request-id')!);
      expect(r).toMatchObject({
        tenant_id: tenant.tenantId,
        key_id: tenant.keyId,
        model: 'qwen/qwen3-8b',
        provider: 'fake',
        upstream_model: 'qwen/qwen3-8b',
        prompt_tokens: 3,
        completion_tokens: 7,
        status: 200,
        streamed: 0,
        estimated: 0,
      });
      expect(costOf(r)).toBe(COST);
    });

    it('bills a stream with include_usage exactly, and shows the client its usage', async () => {
      await rig.upstream.control('words:7', 1);
      const res = await chat(
        chatBody('qwen/qwen3-8b', PROMPT, { stream: true, stream_options: { include_usage: true } }),
      );
      const events = await readSse(res);
      expect(events.at(-1)?.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 7 });
      const r = await settled(res.headers.get('x-request-id')!);
      expect(r).toMatchObject({ prompt_tokens: 3, completion_tokens: 7, streamed: 1, estimated: 0 });
      expect(costOf(r)).toBe(COST);
    });

    it('bills a stream without include_usage exactly too (usage is asked for upstream)', async () => {
      await rig.upstream.control('words:7', 1);
      const res = await chat(chatBody('qwen/qwen3-8b', PROMPT, { stream: true }));
      const events = await readSse(res);
      expect(events.some((e) => e.usage)).toBe(false);
      const r = await settled(res.headers.get('x-request-id')!);
      expect(r).toMatchObject({ prompt_tokens: 3, completion_tokens: 7, streamed: 1, estimated: 0 });
      expect(costOf(r)).toBe(COST);
    });

    it('estimates a stream cut by the upstream with the Qwen tokenizer, marked estimated', async () => {
      await rig.upstream.control('words:10,drop-after:3', 1);
      const res = await chat(chatBody('qwen/qwen3-8b', PROMPT, { stream: true }));
      await readSse(res);
      const r = await settled(res.headers.get('x-request-id')!);
      const prompt = (await tokens.count('qwen/qwen3-8b', PROMPT)) + FRAMING;
      const completion = await tokens.count('qwen/qwen3-8b', 'w0 w1 w2 ');
      expect(r).toMatchObject({
        prompt_tokens: prompt,
        completion_tokens: completion,
        estimated: 1,
        streamed: 1,
      });
      expect(costOf(r)).toBe(qwenCost(prompt, completion));
    });

    it('charges nothing for a stream that fails before generating anything', async () => {
      await rig.upstream.control('words:10,drop-after:0', 1);
      const res = await chat(chatBody('qwen/qwen3-8b', PROMPT, { stream: true }));
      const text = await readSse(res);
      expect(JSON.stringify(text)).toContain('upstream_error');
      const r = await settled(res.headers.get('x-request-id')!);
      expect(r).toMatchObject({ prompt_tokens: 0, completion_tokens: 0, status: 502 });
      expect(costOf(r)).toBe(0n);
    });

    it('estimates a non-Qwen model with the OpenAI o200k tokenizer', async () => {
      await rig.upstream.control('words:10,drop-after:4', 1);
      const res = await chat(chatBody('openai/gpt-oss-20b', PROMPT, { stream: true }));
      await readSse(res);
      const r = await settled(res.headers.get('x-request-id')!);
      const prompt = (await tokens.count('openai/gpt-oss-20b', PROMPT)) + FRAMING;
      const completion = await tokens.count('openai/gpt-oss-20b', 'w0 w1 w2 w3 ');
      expect(r).toMatchObject({ prompt_tokens: prompt, completion_tokens: completion, estimated: 1 });
      expect(costOf(r)).toBe(costPicos(prompt, completion, GPT_PRICE.inputPerMTok, GPT_PRICE.outputPerMTok));
    });

    it('bills what was generated when the client abandons a stream', async () => {
      await rig.upstream.control('pace:40,words:30', 1);
      const abort = new AbortController();
      const res = await chat(chatBody('qwen/qwen3-8b', PROMPT, { stream: true }), abort.signal);
      const requestId = res.headers.get('x-request-id')!;
      const reader = res.body!.getReader();
      let seen = '';
      while ((seen.match(/"content":"w/g) ?? []).length < 3) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
      abort.abort();
      const r = await settled(requestId);
      const full = await tokens.count(
        'qwen/qwen3-8b',
        Array.from({ length: 30 }, (_, i) => `w${i}`).join(' '),
      );
      const atLeast = await tokens.count('qwen/qwen3-8b', 'w0 w1 w2 ');
      expect(r.estimated).toBe(1);
      expect(r.completion_tokens).toBeGreaterThanOrEqual(atLeast);
      expect(r.completion_tokens).toBeLessThan(full);
      expect(costOf(r)).toBe(qwenCost(r.prompt_tokens, r.completion_tokens));
      await eventually(async () => ((await rig.upstream.stats()).aborted > 0 ? true : undefined));
    });

    it('charges nothing when no upstream answered, but still records the request', async () => {
      await rig.upstream.control('status:500', 1);
      const res = await chat(chatBody('qwen/qwen3-8b', PROMPT));
      expect(res.status).toBe(502);
      const r = await settled(res.headers.get('x-request-id')!);
      expect(r).toMatchObject({ status: 502, prompt_tokens: 0, completion_tokens: 0, estimated: 0 });
      expect(costOf(r)).toBe(0n);
    });

    it('bills a fallback once, on the route that answered', async () => {
      const before = (await rig.upstream.stats()).chat;
      await rig.upstream.control('status:500', 1);
      await rig.upstream.control('words:7');
      await rig.upstream.control('status:500', 1);
      const res = await chat(chatBody('qwen/qwen3-fallback', PROMPT));
      await rig.upstream.reset();
      expect(res.status).toBe(200);
      const r = await settled(res.headers.get('x-request-id')!);
      expect((await rig.upstream.stats()).chat - before).toBe(2);
      expect(r).toMatchObject({
        provider: 'fake-b',
        upstream_model: 'up-b',
        attempts: 2,
        prompt_tokens: 3,
        estimated: 0,
      });
      expect(costOf(r)).toBe(qwenCost(3, r.completion_tokens));
      // The tenant's record listing shows the same, on either database.
      const listed = (await (
        await call(`${rig.gw.url}/admin/usage/records?limit=1`, tenant.apiKey)
      ).json()) as {
        data: Array<Record<string, unknown>>;
      };
      expect(listed.data).toEqual([
        expect.objectContaining({
          request_id: r.request_id,
          provider: 'fake-b',
          upstream_model: 'up-b',
          attempts: 2,
          cache: null,
          prompt_tokens: 3,
        }),
      ]);
    });

    it('bills every request, even when a caller reuses one X-Request-Id', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        await rig.upstream.control('words:7', 1);
        const res = await call(`${rig.gw.v1}/chat/completions`, tenant.apiKey, {
          body: chatBody('qwen/qwen3-8b', PROMPT),
          headers: { 'x-request-id': `trace-${'x'.repeat(110)}` },
        });
        expect(res.status).toBe(200);
        ids.push(res.headers.get('x-request-id')!);
      }
      expect(new Set(ids).size).toBe(2);
      for (const id of ids) expect(costOf(await settled(id))).toBe(COST);
    });

    it('balance, usage report and ledger agree', async () => {
      const balance = (await (await call(`${rig.gw.url}/admin/balance`, tenant.apiKey)).json()) as Record<
        string,
        string
      >;
      const books = await reconcile(rig.db, tenant.tenantId, rig.gw.server.container.meter);
      expect(books.granted).toBe(5_000_000_000_000n);
      expect(balance.balance).toBe(formatMicros(5_000_000 - roundToMicros(books.consumed)));
      expect(balance.consumed).toBe(formatMicros(roundToMicros(books.consumed)));
      const usage = (await (
        await call(`${rig.gw.url}/admin/usage?group_by=model`, tenant.apiKey)
      ).json()) as {
        data: Array<{ model: string; requests: number; cost: string }>;
        total: { requests: number; cost: string };
      };
      expect(usage.total.requests).toBe(books.records.length);
      expect(usage.total.cost).toBe(formatMicros(roundToMicros(books.consumed)));
      expect(usage.data.map((d) => d.model).sort()).toEqual([
        'openai/gpt-oss-20b',
        'qwen/qwen3-8b',
        'qwen/qwen3-fallback',
      ]);
      const byDay = (await (await call(`${rig.gw.url}/admin/usage?group_by=day`, tenant.apiKey)).json()) as {
        data: Array<{ day: string; requests: number }>;
      };
      expect(byDay.data.every((d) => /^\d{4}-\d{2}-\d{2}$/.test(d.day))).toBe(true);
      expect(byDay.data.reduce((s, d) => s + d.requests, 0)).toBe(books.records.length);
    });
  });
}
