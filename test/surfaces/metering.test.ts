/**
 * Every new surface is billed like chat: one usage record per call under its own endpoint name, the
 * exact cost (cached prompt tokens at their own price), the same 402 and 429 answers and rate-limit
 * headers, and `/admin/usage?group_by=endpoint` shows them apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { picosOf, usageCostPicos } from '../../src/shared/money.js';
import {
  ADMIN_TOKEN,
  type BillingRig,
  billingConfig,
  call,
  eventually,
  startBillingRig,
} from '../billing/billing-harness.js';
import type { SignedUp } from '../support/gateway.js';

const MODEL = 'qwen/qwen3-8b';
const PRICING = { inputPerMTok: 3, outputPerMTok: 15.5, cachedInputPerMTok: 0.3 };
const PROMPT = 'one two three four five';
const PRICEY = 'pricey/model';

/** One request per surface, JSON and streamed, as the clients send them. */
const surfaces = [
  {
    endpoint: 'chat.completions',
    path: '/v1/chat/completions',
    body: { model: MODEL, messages: [{ role: 'user', content: PROMPT }] },
  },
  { endpoint: 'responses', path: '/v1/responses', body: { model: MODEL, input: PROMPT } },
  {
    endpoint: 'messages',
    path: '/v1/messages',
    body: { model: MODEL, max_tokens: 50, messages: [{ role: 'user', content: PROMPT }] },
  },
  {
    endpoint: 'completions',
    path: '/v1/completions',
    body: { model: MODEL, prompt: PROMPT, max_tokens: 50 },
  },
] as const;

describe('metering and limits of the new surfaces', () => {
  let rig: BillingRig;
  let tenant: SignedUp;
  const operator = (path: string, body: unknown) =>
    call(`${rig.gw.url}/operator${path}`, ADMIN_TOKEN, { method: 'PATCH', body });
  const record = (requestId: string) =>
    rig.db.selectFrom('usage_records').selectAll().where('request_id', '=', requestId).execute();

  beforeAll(async () => {
    rig = await startBillingRig('sqlite', (base, v1) => ({
      ...billingConfig(v1),
      models: [
        { id: MODEL, pricing: PRICING, routes: [{ provider: 'fake' }] },
        // Ten cents per output token: 100 of them cost more than the $5 trial.
        { id: PRICEY, pricing: { inputPerMTok: 1, outputPerMTok: 100_000 }, routes: [{ provider: 'fake' }] },
      ],
      plans: base.plans ?? {},
    }));
    tenant = await rig.gw.signUp();
  });
  afterAll(async () => rig?.stop());

  for (const s of surfaces)
    for (const stream of [false, true])
      it(`${s.endpoint}${stream ? ' (streamed)' : ''}: one record, exact cost with cached tokens priced apart`, async () => {
        await rig.upstream.control('words:7,cached:3', 1);
        const res = await call(`${rig.gw.url}${s.path}`, tenant.apiKey, { body: { ...s.body, stream } });
        expect(res.status).toBe(200);
        expect(res.headers.get('x-ratelimit-limit')).toBeTruthy();
        const text = await res.text();
        const rows = await eventually(async () => {
          const r = await record(res.headers.get('x-request-id')!);
          return r.length > 0 ? r : undefined;
        }, 8000);
        expect(rows).toHaveLength(1);
        const r = rows[0]!;
        expect(r).toMatchObject({
          endpoint: s.endpoint,
          model: MODEL,
          prompt_tokens: 5,
          completion_tokens: 7,
          cached_tokens: 3,
          streamed: stream ? 1 : 0,
          estimated: 0,
        });
        expect(picosOf(r.cost_micros, r.cost_picos)).toBe(
          usageCostPicos({ prompt: 5, completion: 7, cached: 3 }, PRICING),
        );
        // 2 × 3 + 3 × 0.3 + 7 × 15.5 = 115.4 micro-dollars.
        expect(picosOf(r.cost_micros, r.cost_picos)).toBe(115_400_000n);
        if (stream) return;
        const body = JSON.parse(text) as { usage: Record<string, unknown> };
        if (s.endpoint === 'messages')
          // Anthropic counts cache reads apart from input_tokens.
          expect(body.usage).toMatchObject({ input_tokens: 2, cache_read_input_tokens: 3, output_tokens: 7 });
        if (s.endpoint === 'responses')
          expect(body.usage).toMatchObject({ input_tokens: 5, input_tokens_details: { cached_tokens: 3 } });
      });

  it('shows usage by endpoint in /admin/usage', async () => {
    const res = await call(`${rig.gw.url}/admin/usage?group_by=endpoint`, tenant.apiKey);
    expect(res.status).toBe(200);
    const report = (await res.json()) as {
      data: Array<{ endpoint: string; model: string; requests: number }>;
    };
    const byEndpoint = Object.fromEntries(report.data.map((row) => [row.endpoint, row.requests]));
    expect(byEndpoint).toEqual({ 'chat.completions': 2, completions: 2, messages: 2, responses: 2 });
  });

  it('refuses every surface with 402 when the balance cannot pay (Anthropic shape on messages)', async () => {
    for (const s of surfaces) {
      const body = { ...s.body, model: PRICEY, max_tokens: 100, max_output_tokens: 100 };
      const res = await call(`${rig.gw.url}${s.path}`, tenant.apiKey, { body });
      expect(res.status, s.endpoint).toBe(402);
      const err = (await res.json()) as Record<string, unknown>;
      if (s.endpoint === 'messages')
        expect(err).toMatchObject({ type: 'error', error: { type: 'billing_error' } });
      else expect(err).toMatchObject({ error: { code: 'insufficient_credits' } });
    }
  });

  it('rate-limits every surface with 429 and Retry-After (Anthropic shape on messages)', async () => {
    for (const s of surfaces) {
      // A fresh tenant per surface, limited to 2 requests a minute.
      const limited = await rig.gw.signUp();
      expect((await operator(`/tenants/${limited.tenantId}`, { rpm: 2 })).status).toBe(200);
      let res: Response | undefined;
      for (let i = 0; i < 3; i++)
        res = await call(`${rig.gw.url}${s.path}`, limited.apiKey, { body: s.body });
      expect(res!.status, s.endpoint).toBe(429);
      expect(res!.headers.get('retry-after')).toBeTruthy();
      expect(res!.headers.get('x-ratelimit-remaining')).toBe('0');
      const err = (await res!.json()) as Record<string, unknown>;
      if (s.endpoint === 'messages')
        expect(err).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
      else expect(err).toMatchObject({ error: { code: 'rate_limit_exceeded' } });
    }
  });
});
