/**
 * Costs are exact, not rounded per request: a cheap model's tiny request costs a fraction of a
 * micro-dollar, and any number of them add up to Σ tokens × price within one micro-dollar in total —
 * in the ledger, the balance, the usage report and the invoice alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previousPeriod } from '../../src/billing/periods.js';
import { writeUsageBatch } from '../../src/billing/usage-writer.js';
import { costPicos, formatMicros, roundToMicros } from '../../src/shared/money.js';
import type { NewUsageRecordRow } from '../../src/storage/tables.js';
import type { SignedUp } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import { ADMIN_TOKEN, type BillingRig, call, chatBody, startBillingRig } from './billing-harness.js';
import { reconcile } from './reconcile.js';

/** 3 prompt + 5 completion tokens: 0.31 µ$ (was rounded to 0: free inference). */
const NANO = { id: 'cheap/nano', pricing: { inputPerMTok: 0.02, outputPerMTok: 0.05 } };
/** Embeddings of 8 tokens: 0.8 µ$ (was rounded to 1: +25%). */
const MICRO = {
  id: 'cheap/micro',
  kind: 'embedding' as const,
  pricing: { inputPerMTok: 0.1, outputPerMTok: 0 },
};
const REQUESTS = 400;

interface Usage {
  data: Array<{
    model: string;
    requests: number;
    prompt_tokens: number;
    completion_tokens: number;
    cost: string;
  }>;
  total: { requests: number; cost: string };
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  const suite = (name: string, body: () => void) =>
    dialect === 'sqlite' ? describe(name, body) : describeWith('pg', name, body);
  await suite(`many tiny requests add up exactly (${dialect})`, () => {
    let rig: BillingRig;
    let t: SignedUp;
    const usage = async (query: string) =>
      (await (await call(`${rig.gw.url}/admin/usage?${query}`, t.apiKey)).json()) as Usage;
    /** Σ tokens × price of records, in pico-dollars. */
    const exactCost = (rows: Array<{ model: string; prompt_tokens: number; completion_tokens: number }>) =>
      rows.reduce((sum, r) => {
        const { pricing } = r.model === NANO.id ? NANO : MICRO;
        return (
          sum + costPicos(r.prompt_tokens, r.completion_tokens, pricing.inputPerMTok, pricing.outputPerMTok)
        );
      }, 0n);

    beforeAll(async () => {
      rig = await startBillingRig(dialect, (base) => ({
        ...base,
        models: [
          ...(base.models ?? []),
          { ...NANO, routes: [{ provider: 'fake' }] },
          { ...MICRO, routes: [{ provider: 'fake' }] },
        ],
      }));
      t = await rig.gw.signUp();
    });
    afterAll(async () => rig?.stop());

    it('bills hundreds of sub-micro-dollar requests to their exact total', async () => {
      await rig.upstream.control('words:5');
      const send = (i: number) =>
        i % 2 === 0
          ? call(`${rig.gw.v1}/chat/completions`, t.apiKey, { body: chatBody(NANO.id, 'one two three') })
          : call(`${rig.gw.v1}/embeddings`, t.apiKey, {
              body: { model: MICRO.id, input: 'one two three four five six seven eight' },
            });
      for (let i = 0; i < REQUESTS; i += 25) {
        const batch = await Promise.all(Array.from({ length: 25 }, (_, j) => send(i + j)));
        expect(batch.map((r) => r.status)).toEqual(Array(25).fill(200));
      }
      const books = await reconcile(rig.db, t.tenantId, rig.gw.server.container.meter);
      expect(books.records).toHaveLength(REQUESTS);
      const records = await rig.db
        .selectFrom('usage_records')
        .select(['model', 'prompt_tokens', 'completion_tokens'])
        .where('tenant_id', '=', t.tenantId)
        .execute();
      // Not one pico-dollar lost or added: REQUESTS / 2 × (0.31 + 0.8) µ$.
      const exact = exactCost(records);
      expect(exact).toBe(BigInt(REQUESTS / 2) * 1_110_000n);
      expect(books.consumed).toBe(exact);

      const shown = formatMicros(roundToMicros(exact));
      expect(shown).toBe('0.000222');
      const balance = (await (await call(`${rig.gw.url}/admin/balance`, t.apiKey)).json()) as {
        consumed: string;
        balance: string;
      };
      expect(balance.consumed).toBe(shown);
      expect(balance.balance).toBe(formatMicros(5_000_000 - roundToMicros(exact)));
      const report = await usage('group_by=model');
      expect(report.total).toMatchObject({ requests: REQUESTS, cost: shown });
      expect(report.data.map((l) => [l.model, l.cost])).toEqual([
        [MICRO.id, '0.000160'],
        [NANO.id, '0.000062'],
      ]);
    });

    it('closes a month of tiny requests into an invoice equal to its usage and to its exact cost', async () => {
      // Two months back: a month over, and not closed yet (the previous one is closed at boot).
      const month = previousPeriod(previousPeriod(Date.now()).start);
      const rows: NewUsageRecordRow[] = Array.from({ length: 1_000 }, (_, i) => {
        const model = i % 3 === 0 ? MICRO : NANO;
        const prompt = 1 + (i % 9);
        const completion = model === NANO ? i % 7 : 0;
        const cost = costPicos(prompt, completion, model.pricing.inputPerMTok, model.pricing.outputPerMTok);
        return {
          request_id: `tiny-${t.tenantId}-${i}`,
          tenant_id: t.tenantId,
          key_id: t.keyId,
          model: model.id,
          provider: 'fake',
          upstream_model: model.id,
          endpoint: 'chat.completions',
          prompt_tokens: prompt,
          completion_tokens: completion,
          cost_micros: Number(cost / 1_000_000n),
          cost_picos: Number(cost % 1_000_000n),
          status: 200,
          streamed: 0,
          estimated: 0,
          latency_ms: 3,
          // Spread over the month, a few per hour.
          created_at: month.start + i * 2_400_000,
        };
      });
      for (let i = 0; i < rows.length; i += 100) await writeUsageBatch(rig.db, rows.slice(i, i + 100), []);
      const exact = exactCost(rows);

      const closed = await call(`${rig.gw.url}/operator/invoices/close`, ADMIN_TOKEN, {
        body: { period: month.id },
      });
      expect(closed.status).toBe(200);
      const invoices = (await (await call(`${rig.gw.url}/admin/invoices`, t.apiKey)).json()) as {
        data: Array<{
          period: string;
          total: string;
          total_micros: number;
          lines: Array<{ model: string; amount: string }>;
        }>;
      };
      const invoice = invoices.data.find((i) => i.period === month.id)!;
      expect(invoice.total).toBe(formatMicros(roundToMicros(exact)));
      expect(Math.abs(invoice.total_micros * 1e6 - Number(exact))).toBeLessThanOrEqual(500_000);
      const lineSum = invoice.lines.reduce((s, l) => s + Math.round(Number(l.amount) * 1e6), 0);
      expect(lineSum).toBe(invoice.total_micros);

      const report = await usage(
        `from=${month.id}-01&to=${new Date(month.end - 1).toISOString().slice(0, 10)}`,
      );
      expect(report.total.cost).toBe(invoice.total);
      expect(report.data.map((l) => [l.model, l.cost])).toEqual(
        invoice.lines.map((l) => [l.model, l.amount]),
      );
    });
  });
}
