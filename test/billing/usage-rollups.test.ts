/**
 * Usage reports and invoices read daily roll-ups for whole days and raw records only for partial
 * days; pruning raw records past retention changes neither.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { periodAt, previousPeriod } from '../../src/billing/periods.js';
import { pruneUsageRecords } from '../../src/billing/usage-daily.js';
import { writeUsageBatch } from '../../src/billing/usage-writer.js';
import { apportionMicros, formatMicros, picosOf } from '../../src/shared/money.js';
import type { NewUsageRecordRow } from '../../src/storage/tables.js';
import type { SignedUp } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import { ADMIN_TOKEN, type BillingRig, call, startBillingRig } from './billing-harness.js';

const HOUR = 3_600_000;

interface UsageRow {
  day?: string;
  model: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost: string;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  const suite = (name: string, body: () => void) =>
    dialect === 'sqlite' ? body() : describeWith('pg', name, body);
  await suite(`usage roll-ups (${dialect})`, () => {
    let rig: BillingRig;
    let t: SignedUp;
    const last = previousPeriod(Date.now());
    // Records spread over last month: several per day, at different hours, two models.
    const history: NewUsageRecordRow[] = [];

    beforeAll(async () => {
      rig = await startBillingRig(dialect);
      t = await rig.gw.signUp();
      for (let i = 0; i < 40; i++) {
        history.push({
          request_id: `hist-${i}`,
          tenant_id: t.tenantId,
          key_id: t.keyId,
          model: i % 3 === 0 ? 'openai/gpt-oss-20b' : 'qwen/qwen3-8b',
          provider: 'fake',
          upstream_model: null,
          endpoint: 'chat.completions',
          prompt_tokens: 10 + i,
          completion_tokens: 3 * i,
          cost_micros: i % 5 === 0 ? 0 : 100 + i,
          // Sub-micro-dollar parts that add up across records and days.
          cost_picos: i % 5 === 0 ? 0 : (i * 370_001) % 1_000_000,
          status: i % 5 === 0 ? 502 : 200,
          streamed: 0,
          estimated: 0,
          latency_ms: 5,
          created_at: last.start + i * 17 * HOUR + 1_234,
        });
      }
      await writeUsageBatch(rig.db, history, []);
      // Replaying the same records (as after a crash) must not count them twice.
      await writeUsageBatch(rig.db, history.slice(0, 10), []);
    });
    afterAll(async () => rig?.stop());

    const report = async (from: string, to: string, groupBy: 'day' | 'model') => {
      const res = await call(
        `${rig.gw.url}/admin/usage?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&group_by=${groupBy}`,
        t.apiKey,
      );
      expect(res.status).toBe(200);
      return ((await res.json()) as { data: UsageRow[] }).data;
    };

    /** The same report computed straight from the raw records. */
    const expected = (from: number, to: number) => {
      const byModel = new Map<
        string,
        { requests: number; prompt: number; completion: number; cost: bigint }
      >();
      for (const r of history) {
        const at = Number(r.created_at);
        if (at < from || at >= to) continue;
        const m = byModel.get(r.model) ?? { requests: 0, prompt: 0, completion: 0, cost: 0n };
        m.requests++;
        m.prompt += Number(r.prompt_tokens);
        m.completion += Number(r.completion_tokens);
        m.cost += picosOf(r.cost_micros, r.cost_picos);
        byModel.set(r.model, m);
      }
      const sorted = [...byModel].sort(([a], [b]) => a.localeCompare(b));
      const costs = apportionMicros(sorted.map(([, m]) => m.cost));
      return sorted.map(([model, m], i) => ({
        model,
        requests: m.requests,
        prompt_tokens: m.prompt,
        completion_tokens: m.completion,
        cost: formatMicros(costs[i]!),
      }));
    };
    const strip = (rows: UsageRow[]) =>
      rows.map(({ model, requests, prompt_tokens, completion_tokens, cost }) => ({
        model,
        requests,
        prompt_tokens,
        completion_tokens,
        cost,
      }));

    it('answers ranges with partial days at both edges exactly', async () => {
      const from = last.start + 30 * HOUR + 5 * 60_000; // mid-day
      const to = last.start + 500 * HOUR + 7 * 60_000; // another mid-day, weeks later
      const rows = await report(new Date(from).toISOString(), new Date(to).toISOString(), 'model');
      expect(strip(rows)).toEqual(expected(from, to));
    });

    it('keeps whole-day reports and invoices intact after raw records are pruned', async () => {
      const before = await report(
        new Date(last.start).toISOString(),
        new Date(last.end).toISOString(),
        'day',
      );
      const pruned = await pruneUsageRecords(rig.db, last.end, 7);
      expect(pruned).toBe(history.length);
      const left = await sql<{
        n: number;
      }>`select count(*) as n from usage_records where tenant_id = ${t.tenantId}`.execute(rig.db);
      expect(Number(left.rows[0]?.n)).toBe(0);

      const after = await report(new Date(last.start).toISOString(), new Date(last.end).toISOString(), 'day');
      expect(after).toEqual(before);
      expect(
        strip(await report(new Date(last.start).toISOString(), new Date(last.end).toISOString(), 'model')),
      ).toEqual(expected(last.start, last.end));

      // Last month was closed when the gateway started, before these records were written: they
      // are carried onto this month's invoice.
      const current = periodAt(Date.now());
      rig.clock.moveTo(current.end + 1000);
      const closed = await call(`${rig.gw.url}/operator/invoices/close`, ADMIN_TOKEN, {
        body: { period: current.id },
      });
      expect(closed.status).toBe(200);
      const invoices = (await (await call(`${rig.gw.url}/admin/invoices`, t.apiKey)).json()) as {
        data: Array<{
          period: string;
          total_micros: number;
          lines: Array<{ requests: number; carried_from?: string }>;
        }>;
      };
      const invoice = invoices.data.find((i) => i.period === current.id)!;
      expect(invoice.lines.every((l) => l.carried_from === last.id)).toBe(true);
      const exact = history.reduce((s, r) => s + picosOf(r.cost_micros, r.cost_picos), 0n);
      expect(invoice.total_micros).toBe(Number((exact + 500_000n) / 1_000_000n));
      expect(invoice.lines.reduce((s, l) => s + l.requests, 0)).toBe(history.length);
    });
  });
}
