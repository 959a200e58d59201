/**
 * A month is invoiced only once it is over, and usage that reaches a month after it was closed (a late
 * flush from another replica, a replayed write-ahead log) is carried onto the next invoice as lines of
 * its own: across all invoices, every metered micro-dollar is billed exactly once.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { periodAt } from '../../src/billing/periods.js';
import { writeUsageBatch } from '../../src/billing/usage-writer.js';
import type { NewUsageRecordRow } from '../../src/storage/tables.js';
import { type SignedUp, startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import {
  ADMIN_TOKEN,
  type BillingRig,
  billingConfig,
  call,
  chatBody,
  startBillingRig,
} from './billing-harness.js';
import { reconcile } from './reconcile.js';

interface Line {
  model: string;
  requests: number;
  amount_micros: number;
  carried_from?: string;
}
interface Invoice {
  id: string;
  period: string;
  total_micros: number;
  lines: Line[];
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  const suite = (name: string, body: () => void) =>
    dialect === 'sqlite' ? body() : describeWith('pg', name, body);
  await suite(`late usage (${dialect})`, () => {
    let rig: BillingRig;
    let replica: TestGateway;
    let a: SignedUp;
    let b: SignedUp;
    const month = periodAt(Date.now());
    const next = periodAt(month.end);

    const close = (period: string) =>
      call(`${rig.gw.url}/operator/invoices/close`, ADMIN_TOKEN, { body: { period } });
    const chat = async (base: string, t: SignedUp) => {
      await rig.upstream.control('words:4', 1);
      const res = await call(`${base}/v1/chat/completions`, t.apiKey, {
        body: chatBody('qwen/qwen3-8b', 'one two three'),
      });
      expect(res.status).toBe(200);
    };
    const invoicesOf = async (t: SignedUp) =>
      ((await (await call(`${rig.gw.url}/admin/invoices`, t.apiKey)).json()) as { data: Invoice[] }).data;
    const lateRecord = (t: SignedUp, id: string, at: number): NewUsageRecordRow => ({
      request_id: id,
      tenant_id: t.tenantId,
      key_id: t.keyId,
      model: 'openai/gpt-oss-20b',
      provider: 'fake',
      upstream_model: null,
      endpoint: 'chat.completions',
      prompt_tokens: 100,
      completion_tokens: 50,
      cost_micros: 625,
      cost_picos: 0,
      status: 200,
      streamed: 0,
      estimated: 0,
      latency_ms: 3,
      created_at: at,
    });

    beforeAll(async () => {
      rig = await startBillingRig(dialect);
      // A second replica on the same database: its usage reaches the database on its own schedule.
      replica = await startTestGateway({
        database: rig.gw.database,
        config: billingConfig(rig.upstream.v1),
      });
      a = await rig.gw.signUp();
      b = await rig.gw.signUp();
      await chat(rig.gw.url, a);
      await chat(rig.gw.url, a);
    });
    afterAll(async () => {
      await replica?.stop();
      await rig?.stop();
    });

    it('refuses to close a month that is not over, on the API and at its last instant', async () => {
      const res = await close(month.id);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: Record<string, unknown> };
      expect(body.error).toMatchObject({
        type: 'invalid_request_error',
        code: 'invalid_parameter',
        param: 'period',
      });
      expect(body.error.message).toContain(new Date(month.end).toISOString());
      rig.clock.moveTo(month.end - 1000);
      expect((await close(month.id)).status).toBe(400);
      expect(await invoicesOf(a)).toEqual([]);
    });

    it('carries usage that reaches a closed month onto the next invoice, once', async () => {
      rig.clock.moveTo(month.end + 1000);
      const closed = (await (await close(month.id)).json()) as { created: number };
      expect(closed.created).toBe(1);
      const [first] = await invoicesOf(a);
      expect(first).toMatchObject({ period: month.id, lines: [{ model: 'qwen/qwen3-8b', requests: 2 }] });
      expect(first!.lines[0]!.carried_from).toBeUndefined();

      // Usage of the closed month still arrives: requests answered by the other replica (in real
      // time it is still this month), and records a crashed process's write-ahead log replays.
      await chat(replica.url, a);
      await chat(replica.url, b);
      await replica.server.container.meter.flush();
      await writeUsageBatch(rig.db, [lateRecord(a, 'replayed-1', month.start + 3_600_000)], []);
      // The same record replayed twice is one record.
      await writeUsageBatch(rig.db, [lateRecord(a, 'replayed-1', month.start + 3_600_000)], []);

      // The closed month gets no second invoice, also for a tenant that had none.
      expect(((await (await close(month.id)).json()) as { created: number }).created).toBe(0);
      expect(await invoicesOf(b)).toEqual([]);

      rig.clock.moveTo(next.end + 1000);
      expect(((await (await close(next.id)).json()) as { created: number }).created).toBe(2);
      const [second] = await invoicesOf(a);
      expect(second).toMatchObject({ period: next.id });
      expect(second!.lines).toEqual([
        expect.objectContaining({
          model: 'openai/gpt-oss-20b',
          requests: 1,
          amount_micros: 625,
          carried_from: month.id,
        }),
        expect.objectContaining({ model: 'qwen/qwen3-8b', requests: 1, carried_from: month.id }),
      ]);
      const [onlyB] = await invoicesOf(b);
      expect(onlyB).toMatchObject({ period: next.id, lines: [{ requests: 1, carried_from: month.id }] });

      // Every metered micro-dollar is on exactly one invoice (these costs are whole micro-dollars, so
      // no invoice rounds).
      for (const t of [a, b]) {
        const books = await reconcile(rig.db, t.tenantId, rig.gw.server.container.meter);
        const invoiced = (await invoicesOf(t)).reduce((s, i) => s + i.total_micros, 0);
        expect(BigInt(invoiced) * 1_000_000n).toBe(books.consumed);
      }
      // The printable invoice names the month the carried usage belongs to.
      const page = await call(`${rig.gw.url}/admin/invoices/${second!.id}?format=html`, a.apiKey);
      expect(await page.text()).toContain(`usage of ${month.id}, recorded after it was closed`);
    });

    it('bills usage written while a month is being closed exactly once', async () => {
      const later = periodAt(next.end);
      const racing = Promise.all(
        Array.from({ length: 20 }, (_, i) => chat(i % 2 ? replica.url : rig.gw.url, a)),
      );
      rig.clock.moveTo(later.end + 1000);
      const closing = close(later.id);
      await racing;
      expect((await closing).status).toBe(200);
      await replica.server.container.meter.flush();
      const after = periodAt(later.end);
      rig.clock.moveTo(after.end + 1000);
      expect((await close(after.id)).status).toBe(200);
      const books = await reconcile(rig.db, a.tenantId, rig.gw.server.container.meter);
      const invoices = await invoicesOf(a);
      expect(BigInt(invoices.reduce((s, i) => s + i.total_micros, 0)) * 1_000_000n).toBe(books.consumed);
      expect(invoices.flatMap((i) => i.lines).reduce((s, l) => s + l.requests, 0)).toBe(books.records.length);
    });
  });
}
