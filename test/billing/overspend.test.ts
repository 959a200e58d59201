/**
 * No tenant can spend more than its balance: every request is priced at its worst case (the prompt's
 * token bound plus all `n` choices using the whole completion cap) before it is admitted, on every
 * surface (chat, embeddings, MCP, A2A), however many run at once.
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureChatPrompt, measureEmbeddingsInput } from '../../src/gateway/prompt-size.js';
import { costPicos, picosPerToken } from '../../src/shared/money.js';
import type { SignedUp } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import {
  ADMIN_TOKEN,
  type BillingRig,
  call,
  chatBody,
  QWEN_PRICE,
  startBillingRig,
} from './billing-harness.js';
import { reconcile } from './reconcile.js';

const PROMPT = 'Write a long story about a lighthouse keeper.';
const PROMPT_BOUND = measureChatPrompt({ messages: [{ role: 'user', content: PROMPT }] }).size.boundTokens;
const EMBED_PRICE = { inputPerMTok: 0.1, outputPerMTok: 0 };
const qwenCost = (prompt: number, completion: number) =>
  costPicos(prompt, completion, QWEN_PRICE.inputPerMTok, QWEN_PRICE.outputPerMTok);
/** Completion tokens per choice that `available` pico-dollars pay for after the prompt's bound. */
const affordable = (available: bigint, choices: number) =>
  Number((available - qwenCost(PROMPT_BOUND, 0)) / (qwenCost(0, 1) * BigInt(choices)));

interface ErrorBody {
  error: { type: string; code: string; message: string; param: string | null };
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  const suite = (name: string, body: () => void) =>
    dialect === 'sqlite' ? describe(name, body) : describeWith('pg', name, body);
  await suite(`no overspending, at any concurrency (${dialect})`, () => {
    let rig: BillingRig;
    const chat = (t: SignedUp, extra: Record<string, unknown>, model = 'qwen/qwen3-8b') =>
      call(`${rig.gw.v1}/chat/completions`, t.apiKey, { body: chatBody(model, PROMPT, extra) });
    const adjust = (t: SignedUp, amount: string) =>
      call(`${rig.gw.url}/operator/tenants/${t.tenantId}/credits`, ADMIN_TOKEN, { body: { amount } });
    /** A tenant left with `usd` of its $5 trial. */
    const tenantWith = async (usd: string) => {
      const t = await rig.gw.signUp();
      const left = (5_000_000 - Math.round(Number(usd) * 1e6)) / 1e6;
      if (left > 0) expect((await adjust(t, `-${left.toFixed(6)}`)).status).toBe(200);
      return t;
    };
    const books = (t: SignedUp) => reconcile(rig.db, t.tenantId, rig.gw.server.container.meter);
    const lastSent = async () => (await rig.upstream.stats()).lastRequest?.body as Record<string, unknown>;

    beforeAll(async () => {
      rig = await startBillingRig(dialect, (base, upstreamV1) => ({
        ...base,
        providers: [
          ...(base.providers ?? []),
          // A server that reads the cap from `max_completion_tokens` only (OpenAI's reasoning models).
          {
            id: 'reasoning',
            type: 'openai-compatible',
            baseUrl: upstreamV1,
            maxTokensParam: 'max_completion_tokens',
          },
        ],
        models: [
          ...(base.models ?? []),
          { id: 'openai/o4-mini', pricing: QWEN_PRICE, routes: [{ provider: 'reasoning' }] },
          { id: 'text-embed', kind: 'embedding', pricing: EMBED_PRICE, routes: [{ provider: 'fake' }] },
        ],
      }));
    });
    afterAll(async () => rig?.stop());

    it('refuses 20 parallel n:128 × max_tokens:4096 requests a $5 trial cannot pay for, saying what it affords', async () => {
      const t = await rig.gw.signUp();
      // Every admitted request would use its whole cap: 128 × 4096 tokens ≈ $8.13 at $15.5/M.
      await rig.upstream.control('words:5000,stall:300');
      const results = await Promise.all(
        Array.from({ length: 20 }, () => chat(t, { n: 128, max_tokens: 4096 })),
      );
      await rig.upstream.control('words:7');
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(402));
      const body = (await results[0]!.json()) as ErrorBody;
      expect(body.error).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_credits' });
      const perChoice = affordable(5_000_000_000_000n, 128);
      expect(body.error.message).toContain(
        `You requested up to 4096 completion tokens for each of 128 choices, but after up to ${PROMPT_BOUND} prompt tokens your available balance of $5.000000 can only afford ${perChoice} per choice.`,
      );
      const b = await books(t);
      expect(b.records).toHaveLength(0);
      expect(b.balance).toBe(5_000_000_000_000n);
    });

    it('admits only what the balance pays for when every choice uses its whole cap', async () => {
      const t = await rig.gw.signUp();
      await rig.upstream.control('words:5000,stall:300');
      const results = await Promise.all(
        Array.from({ length: 20 }, () => chat(t, { n: 4, max_tokens: 4096 })),
      );
      await rig.upstream.control('words:7');
      const statuses = results.map((r) => r.status);
      const ok = statuses.filter((s) => s === 200).length;
      expect(statuses.every((s) => s === 200 || s === 402)).toBe(true);
      const worst = qwenCost(PROMPT_BOUND, 4 * 4096);
      expect(ok).toBe(Number(5_000_000_000_000n / worst));
      const b = await books(t);
      expect(b.records).toHaveLength(ok);
      for (const r of b.records) expect(r.completion_tokens).toBe(4 * 4096);
      expect(b.balance >= 0n).toBe(true);
    });

    it('sends a request without max_tokens with the cap the balance affords, and stays above zero', async () => {
      const t = await tenantWith('0.002');
      await rig.upstream.control('words:5000', 1);
      const res = await chat(t, { n: 2 });
      expect(res.status).toBe(200);
      const cap = affordable(2_000_000_000n, 2);
      expect((await lastSent()).max_tokens).toBe(cap);
      const b = await books(t);
      expect(b.records[0]?.completion_tokens).toBe(2 * cap);
      expect(b.balance >= 0n).toBe(true);
      // What is left no longer pays for the prompt: refused, saying so.
      const refused = await chat(t, {});
      expect(refused.status).toBe(402);
      expect(((await refused.json()) as ErrorBody).error.message).toMatch(
        /can only afford 0 completion tokens/,
      );
    });

    it('puts the cap where the upstream reads it', async () => {
      const t = await tenantWith('0.001');
      await rig.upstream.control('words:7', 1);
      expect((await chat(t, {}, 'openai/o4-mini')).status).toBe(200);
      const sent = await lastSent();
      expect(sent.max_tokens).toBeUndefined();
      expect(sent.max_completion_tokens).toBe(affordable(1_000_000_000n, 1));
    });

    it('prices tools and every message into the prompt', async () => {
      const t = await tenantWith('0.01');
      const tools = [
        {
          type: 'function',
          function: { name: 'lookup', description: 'x'.repeat(400), parameters: { type: 'object' } },
        },
      ];
      const messages = Array.from({ length: 30 }, (_, i) => ({
        role: i % 2 ? 'assistant' : 'user',
        content: 'hi',
      }));
      const bound = measureChatPrompt({ messages: messages as never, tools: tools as never }).size
        .boundTokens;
      // Tools and framing are most of this prompt: far more than its text alone.
      expect(bound).toBeGreaterThan(30 * 2 + 400 + 100);
      await rig.upstream.control('words:7', 1);
      expect(
        (
          await call(`${rig.gw.v1}/chat/completions`, t.apiKey, {
            body: { model: 'qwen/qwen3-8b', messages, tools, tool_choice: 'none' },
          })
        ).status,
      ).toBe(200);
      const expected = Number((10_000_000_000n - qwenCost(bound, 0)) / qwenCost(0, 1));
      expect((await lastSent()).max_tokens).toBe(expected);
    });

    it('refuses embeddings whose input the balance cannot pay for', async () => {
      const t = await tenantWith('0.001');
      const big = 'word '.repeat(4_000);
      const res = await call(`${rig.gw.v1}/embeddings`, t.apiKey, {
        body: { model: 'text-embed', input: big },
      });
      expect(res.status).toBe(402);
      const bound = measureEmbeddingsInput(big).size.boundTokens;
      const affords = 1_000_000_000n / picosPerToken(EMBED_PRICE.inputPerMTok);
      expect(((await res.json()) as ErrorBody).error.message).toContain(
        `Its input may be up to ${bound} tokens, but your available balance of $0.001000 can only afford ${affords}.`,
      );
      const small = await call(`${rig.gw.v1}/embeddings`, t.apiKey, {
        body: { model: 'text-embed', input: 'one two three' },
      });
      expect(small.status).toBe(200);
    });

    it('applies the same admission to MCP tool calls and A2A messages', async () => {
      const t = await tenantWith('0.001');
      const client = new Client({ name: 'simosphere-test', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${rig.gw.url}/mcp`), {
          requestInit: { headers: { Authorization: `Bearer ${t.apiKey}` } },
        }),
      );
      try {
        const result = (await client.callTool({
          name: 'chat_completion',
          arguments: { model: 'qwen/qwen3-8b', prompt: PROMPT, max_tokens: 4096 },
        })) as { isError?: boolean; content: Array<{ text?: string }> };
        expect(result.isError).toBe(true);
        expect(result.content.map((c) => c.text).join('')).toMatch(/can only afford \d+/);
      } finally {
        await client.close();
      }

      await rig.upstream.control('words:7', 1);
      const message = {
        kind: 'message',
        messageId: randomUUID(),
        role: 'user',
        parts: [{ kind: 'text', text: PROMPT }],
      };
      const sent = await fetch(`${rig.gw.url}/a2a`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'message/send', params: { message } }),
      });
      expect(sent.status).toBe(200);
      // The agent's model is the first chat model; the answer was capped at what the balance affords.
      expect((await lastSent()).max_tokens).toBe(affordable(1_000_000_000n, 1));
      expect((await books(t)).balance >= 0n).toBe(true);
    });
  });
}
