import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { periodAt, previousPeriod } from '../../src/billing/periods.js';
import { buildCli } from '../../src/cli/main.js';
import { formatMicros, roundToMicros } from '../../src/shared/money.js';
import type { SignedUp } from '../support/gateway.js';
import { describeWith } from '../support/services.js';
import { ADMIN_TOKEN, type BillingRig, call, chatBody, startBillingRig } from './billing-harness.js';
import { reconcile } from './reconcile.js';

interface Invoice {
  id: string;
  tenant_id: string;
  period: string;
  status: string;
  total: string;
  total_micros: number;
  lines: Array<{
    model: string;
    requests: number;
    prompt_tokens: number;
    completion_tokens: number;
    amount: string;
  }>;
}

const thisPeriod = () => periodAt(Date.now()).id;

for (const dialect of ['sqlite', 'postgres'] as const) {
  const suite = (name: string, body: () => void) =>
    dialect === 'sqlite' ? describe(name, body) : describeWith('pg', name, body);
  await suite(`monthly invoices (${dialect})`, () => {
    let rig: BillingRig;
    let a: SignedUp;
    let b: SignedUp;
    const use = async (t: SignedUp, model: string, behavior: string) => {
      await rig.upstream.control(behavior, 1);
      const res = await call(`${rig.gw.v1}/chat/completions`, t.apiKey, {
        body: chatBody(model, 'one two three four five'),
      });
      expect(res.status).toBe(200);
    };
    const close = (period: string) =>
      call(`${rig.gw.url}/operator/invoices/close`, ADMIN_TOKEN, { body: { period } });
    const invoiceEvents = async (tenantId: string) =>
      (
        await rig.db
          .selectFrom('outbox_events')
          .select('payload')
          .where('tenant_id', '=', tenantId)
          .where('type', '=', 'invoice.created')
          .execute()
      ).map((e) => JSON.parse(e.payload) as { data: Record<string, unknown> });

    beforeAll(async () => {
      rig = await startBillingRig(dialect);
      a = await rig.gw.signUp();
      b = await rig.gw.signUp();
      await use(a, 'qwen/qwen3-8b', 'words:7');
      await use(a, 'qwen/qwen3-8b', 'words:11');
      await use(a, 'openai/gpt-oss-20b', 'words:5');
      await use(b, 'qwen/qwen3-8b', 'words:3');
      // A failed request is metered (cost 0) and counted on the invoice line.
      await rig.upstream.control('status:500', 1);
      await call(`${rig.gw.v1}/chat/completions`, b.apiKey, { body: chatBody('qwen/qwen3-8b', 'x') });
    });
    afterAll(async () => rig?.stop());

    it('closes a month into one invoice per tenant that equals its usage', async () => {
      // A month can only be closed once it is over.
      const early = await close(thisPeriod());
      expect(early.status).toBe(400);
      expect(await early.json()).toMatchObject({
        error: {
          type: 'invalid_request_error',
          param: 'period',
          message: expect.stringMatching(/not over yet/),
        },
      });
      rig.clock.moveTo(periodAt(Date.now()).end + 1000);
      const res = await close(thisPeriod());
      expect(res.status).toBe(200);
      const closed = (await res.json()) as { created: number; data: Invoice[] };
      expect(closed.created).toBe(2);

      for (const t of [a, b]) {
        const list = (await (await call(`${rig.gw.url}/admin/invoices`, t.apiKey)).json()) as {
          data: Invoice[];
        };
        expect(list.data).toHaveLength(1);
        const invoice = list.data[0]!;
        expect(invoice).toMatchObject({ period: thisPeriod(), status: 'closed' });
        const usage = (await (await call(`${rig.gw.url}/admin/usage?group_by=model`, t.apiKey)).json()) as {
          data: Array<{
            model: string;
            requests: number;
            prompt_tokens: number;
            completion_tokens: number;
            cost: string;
          }>;
          total: { cost: string };
        };
        expect(invoice.lines).toEqual(
          usage.data.map((u) => ({
            model: u.model,
            requests: u.requests,
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            amount: u.cost,
            amount_micros: expect.any(Number),
          })),
        );
        expect(invoice.total).toBe(usage.total.cost);
        const books = await reconcile(rig.db, t.tenantId, rig.gw.server.container.meter);
        // The exact consumption, rounded once to the micro-dollar, is the total and what the balance shows.
        expect(invoice.total_micros).toBe(roundToMicros(books.consumed));
        const balance = (await (await call(`${rig.gw.url}/admin/balance`, t.apiKey)).json()) as {
          balance: string;
          consumed: string;
        };
        expect(balance.consumed).toBe(invoice.total);
        expect(balance.balance).toBe(formatMicros(5_000_000 - invoice.total_micros));
        const events = await invoiceEvents(t.tenantId);
        expect(events).toHaveLength(1);
        expect(events[0]?.data).toMatchObject({
          invoice_id: invoice.id,
          total: invoice.total,
          period: thisPeriod(),
        });
      }
      const bInvoice = closed.data.find((i) => i.tenant_id === b.tenantId)!;
      expect(bInvoice.lines).toEqual([expect.objectContaining({ model: 'qwen/qwen3-8b', requests: 2 })]);
    });

    it('closing the same month again is a no-op', async () => {
      const again = (await (await close(thisPeriod())).json()) as { created: number };
      expect(again.created).toBe(0);
      expect(await invoiceEvents(a.tenantId)).toHaveLength(1);
      // The automatic close of the previous month (run at boot and hourly) is idempotent as well.
      const nextMonth = periodAt(Date.now()).end + 1000;
      await rig.gw.server.container.billing.invoices.closePreviousMonth(nextMonth);
      expect(await invoiceEvents(a.tenantId)).toHaveLength(1);
    });

    it('shows one invoice as JSON and as a printable page, only to its tenant', async () => {
      const list = (await (await call(`${rig.gw.url}/admin/invoices`, a.apiKey)).json()) as {
        data: Invoice[];
      };
      const id = list.data[0]!.id;
      const json = await call(`${rig.gw.url}/admin/invoices/${id}`, a.apiKey);
      expect(((await json.json()) as Invoice).id).toBe(id);
      for (const path of [`/admin/invoices/${id}?format=html`, `/admin/invoices/${id}.html`]) {
        const page = await call(`${rig.gw.url}${path}`, a.apiKey);
        expect(page.status).toBe(200);
        expect(page.headers.get('content-type')).toContain('text/html');
        // No other site may frame the invoice.
        expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
        expect(page.headers.get('x-frame-options')).toBe('DENY');
        const text = await page.text();
        expect(text).toContain(list.data[0]!.total);
        expect(text).toContain('@media print');
      }
      expect((await call(`${rig.gw.url}/admin/invoices/${id}`, b.apiKey)).status).toBe(404);
    });

    it('refuses malformed and future periods', async () => {
      expect((await close('2026-13')).status).toBe(400);
      expect((await close('next month')).status).toBe(400);
      const future = periodAt(periodAt(Date.now()).end + 40 * 86_400_000).id;
      expect((await close(future)).status).toBe(400);
    });

    it('validates usage report bounds', async () => {
      const bad = await call(`${rig.gw.url}/admin/usage?from=yesterday`, a.apiKey);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('from');
      const day = new Date().toISOString().slice(0, 10);
      const today = (await (
        await call(`${rig.gw.url}/admin/usage?from=${day}&to=${day}&group_by=day`, a.apiKey)
      ).json()) as { data: Array<{ day: string; requests: number }> };
      expect(today.data.reduce((s, d) => s + d.requests, 0)).toBe(3);
      expect(
        (await call(`${rig.gw.url}/admin/usage?from=2020-01-01&to=2020-01-02`, a.apiKey).then((r) =>
          r.json(),
        )) as unknown,
      ).toMatchObject({ data: [] });
    });

    if (dialect === 'sqlite')
      it('offers the same from the command line', async () => {
        const out: string[] = [];
        const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
          out.push(String(chunk));
          return true;
        });
        const env = { SIMO_DATA_DIR: rig.gw.database.dataDir, LOG_LEVEL: 'silent' };
        try {
          const cli = (...args: string[]) => buildCli(env).parseAsync(['node', 'simosphere', ...args]);
          await cli(
            'credits',
            'grant',
            '--tenant',
            b.tenantId,
            '--amount',
            '1.5',
            '--note',
            'cli test',
            '--json',
          );
          // The CLI refuses a month that is not over, as the API does.
          await expect(cli('invoices', 'close', '--period', thisPeriod(), '--json')).rejects.toThrow(
            /not over yet/,
          );
          await cli('invoices', 'close', '--period', previousPeriod(Date.now()).id, '--json');
        } finally {
          spy.mockRestore();
        }
        const [granted, closed] = out.map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(granted).toMatchObject({
          tenant_id: b.tenantId,
          kind: 'grant',
          amount: '1.500000',
          applied: true,
        });
        expect(closed).toMatchObject({ period: previousPeriod(Date.now()).id, created: [] });
        const books = await reconcile(rig.db, b.tenantId, rig.gw.server.container.meter);
        expect(books.granted).toBe(6_500_000_000_000n);
      });
  });
}
