/**
 * The hot queries at realistic table sizes on PostgreSQL: every query is produced by the app's own
 * functions (captured through Kysely's query log, so it is byte for byte what production sends), then
 * run through `EXPLAIN (ANALYZE, FORMAT JSON)` inside a rolled-back transaction. A hot query must not
 * scan a large table sequentially and must run in a few milliseconds. The plan table is printed so CI
 * logs show it.
 */
import { type CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { findApiKeyByHash, touchApiKey } from '../../src/accounts/api-key-store.js';
import { listAudit } from '../../src/accounts/audit-log.js';
import { LoginThrottle } from '../../src/accounts/login-throttle.js';
import { SessionService } from '../../src/accounts/sessions.js';
import { findTenant } from '../../src/accounts/tenant-store.js';
import { readTotals } from '../../src/billing/credit-store.js';
import { InvoiceService, lockUninvoiced } from '../../src/billing/invoices.js';
import type { UsageMeter } from '../../src/billing/meter.js';
import { parsePeriod } from '../../src/billing/periods.js';
import { DAY_MS, pruneUsageRecords } from '../../src/billing/usage-daily.js';
import { usageLines } from '../../src/billing/usage-report.js';
import { writeUsageBatch } from '../../src/billing/usage-writer.js';
import { type DatabaseHandle, openDatabase } from '../../src/storage/database.js';
import type { Database, NewUsageRecordRow } from '../../src/storage/tables.js';
import {
  fanOutEvents,
  leaseDueDeliveries,
  listAttempts,
  listWaitingDeliveries,
} from '../../src/webhooks/delivery-store.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { describeWith } from '../support/services.js';
import { fillRealisticData, SIZES } from './realistic-fill.js';

/** Tables big enough that a sequential scan in a hot query is a bug. */
const LARGE_TABLES = new Set([
  'usage_records',
  'credit_ledger',
  'audit_log',
  'webhook_deliveries',
  'webhook_delivery_attempts',
  'outbox_events',
  'api_keys',
  'sessions',
  'login_attempts',
  'users',
  'tenants',
]);

const silentLogger = { info: () => {} } as unknown as Logger;

/** Server-side execution budget of one hot query (EXPLAIN ANALYZE "Execution Time"). */
const HOT_MS = 50;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

interface PlanSummary {
  root: string;
  indexes: string[];
  seqScans: string[];
  ms: number;
}

function walk(node: PlanNode, visit: (n: PlanNode) => void): void {
  visit(node);
  for (const child of node.Plans ?? []) walk(child, visit);
}

await describeWith('pg', 'query plans at realistic sizes', () => {
  const NOW = Date.UTC(2026, 10, 20, 15, 30, 0);
  let testDb: TestDatabase;
  let handle: DatabaseHandle;
  let client: pg.Client;
  let capture: Kysely<Database>;
  let captured: CompiledQuery[] = [];
  const report: Array<{ name: string } & PlanSummary> = [];

  /** Runs app code against the filled database and returns the statements it sent. */
  async function queriesOf(fn: (db: Kysely<Database>) => Promise<unknown>): Promise<CompiledQuery[]> {
    captured = [];
    await fn(capture);
    return captured;
  }

  /** EXPLAIN ANALYZE in a transaction that is rolled back, so writes leave no trace; best of two runs. */
  async function explain(query: CompiledQuery, parameters = query.parameters): Promise<PlanSummary> {
    let best: PlanSummary | undefined;
    for (let run = 0; run < 2; run++) {
      await client.query('begin');
      try {
        const res = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode; 'Execution Time': number }> }>(
          `explain (analyze, format json) ${query.sql}`,
          parameters as unknown[],
        );
        const out = res.rows[0]!['QUERY PLAN'][0]!;
        const indexes = new Set<string>();
        const seqScans: string[] = [];
        walk(out.Plan, (n) => {
          if (n['Index Name']) indexes.add(n['Index Name']);
          if (n['Node Type'] === 'Seq Scan' && n['Relation Name']) seqScans.push(n['Relation Name']);
        });
        const summary = {
          root: out.Plan['Node Type'],
          indexes: [...indexes],
          seqScans,
          ms: out['Execution Time'],
        };
        if (!best || summary.ms < best.ms) best = summary;
      } finally {
        await client.query('rollback');
      }
    }
    return best!;
  }

  /** Explains a hot query, records it for the printed table, and checks it is indexed and fast. */
  async function expectHot(
    name: string,
    query: CompiledQuery | undefined,
    opts: { parameters?: readonly unknown[]; maxMs?: number; needsIndex?: boolean } = {},
  ): Promise<PlanSummary> {
    expect(query, `${name}: no statement captured`).toBeDefined();
    const plan = await explain(query!, opts.parameters);
    report.push({ name, ...plan });
    const large = plan.seqScans.filter((t) => LARGE_TABLES.has(t));
    // Soft: one slow plan must not hide the others from the printed table.
    expect.soft(large, `${name}: sequential scan on ${large.join(', ')}\n${query!.sql}`).toEqual([]);
    if (opts.needsIndex !== false)
      expect.soft(plan.indexes.length, `${name}: no index used`).toBeGreaterThan(0);
    expect.soft(plan.ms, `${name}: ${plan.ms.toFixed(1)} ms`).toBeLessThan(opts.maxMs ?? HOT_MS);
    return plan;
  }

  const find = (qs: CompiledQuery[], pattern: RegExp) => qs.find((q) => pattern.test(q.sql));

  beforeAll(async () => {
    testDb = await createTestDatabase('postgres');
    handle = openDatabase({ databaseUrl: testDb.databaseUrl, dataDir: testDb.dataDir, poolSize: 2 });
    await handle.migrate();
    client = new pg.Client({ connectionString: testDb.databaseUrl });
    await client.connect();
    const started = performance.now();
    const timings = await fillRealisticData(client, NOW);
    console.log(
      `filled in ${((performance.now() - started) / 1000).toFixed(1)} s: ${timings
        .map(([t, ms]) => `${t} ${(ms / 1000).toFixed(1)}s`)
        .join(', ')}`,
    );
    const counts = await client.query<{ relname: string; n: number }>(
      `select relname, reltuples::bigint as n from pg_class
       where relkind = 'r' and relnamespace = 'public'::regnamespace and reltuples > 1000 order by n desc`,
    );
    console.log(
      `rows: ${counts.rows.map((r) => `${r.relname} ${Number(r.n).toLocaleString('en')}`).join(', ')}`,
    );
    capture = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: testDb.databaseUrl, max: 2 }) }),
      log: (event) => {
        if (event.level === 'query') captured.push(event.query);
      },
    });
  }, 120_000);

  afterAll(async () => {
    if (report.length > 0) {
      const w = Math.max(...report.map((r) => r.name.length));
      const lines = report.map(
        (r) =>
          `${r.name.padEnd(w)}  ${r.root.padEnd(14)}  ${r.ms.toFixed(2).padStart(7)} ms  ${r.indexes.join(', ') || '-'}${
            r.seqScans.length ? `  (seq scan: ${r.seqScans.join(', ')})` : ''
          }`,
      );
      console.log(
        `query plans (PostgreSQL, ${SIZES.usageRecords.toLocaleString('en')} usage records):\n${lines.join('\n')}`,
      );
    }
    await capture?.destroy();
    await client?.end();
    await handle?.close();
    await testDb?.drop();
  }, 60_000);

  it('authenticates: API key by hash, its tenant, last-used touch', async () => {
    const qs = await queriesOf(async (db) => {
      const key = await findApiKeyByHash(db, SIZES.sampleKeyHash);
      expect(key?.id).toBe('key_12345');
      await findTenant(db, key!.tenantId);
      await touchApiKey(db, key!.id, NOW);
    });
    await expectHot('api key by hash', find(qs, /from "api_keys"/));
    await expectHot('tenant by id', find(qs, /from "tenants"/));
    await expectHot('api key touch', find(qs, /^update "api_keys"/));
  });

  it('resolves a dashboard session and starts one', async () => {
    const sessions = new SessionService(capture, () => NOW);
    const qs = await queriesOf(async () => {
      // Cookie values are unknown to the fill (it stores hashes only): a miss takes the same plan.
      await sessions.resolve('A'.repeat(43));
      await sessions.create('usr_77', 'ten_77');
    });
    await expectHot('session by hash', find(qs, /from "sessions" inner join "users"/));
    await expectHot('expired sessions tidy-up', find(qs, /^delete from "sessions" where "expires_at"/));
  });

  it('reads the balance for admission', async () => {
    const qs = await queriesOf((db) => readTotals(db, 'ten_42'));
    await expectHot('balance read', find(qs, /from "credit_balances"/));
  });

  it('writes a usage batch: records, roll-ups, ledger, running totals', async () => {
    const rows: NewUsageRecordRow[] = Array.from({ length: 200 }, (_, i) => ({
      request_id: `req_batch_${i}`,
      tenant_id: `ten_${i % 20}`,
      key_id: `key_${i % 20}`,
      model: 'qwen/qwen3-8b',
      provider: 'sim',
      upstream_model: 'qwen3-8b',
      endpoint: '/v1/chat/completions',
      prompt_tokens: 120,
      completion_tokens: 80,
      cost_micros: 30,
      cost_picos: 250_000,
      status: 200,
      streamed: 0,
      estimated: 0,
      latency_ms: 300,
      created_at: NOW,
    }));
    const qs = await queriesOf((db) => writeUsageBatch(db, rows, [0.5, 0.8, 1]));
    // Inserts are replayed in a rolled-back transaction; they conflict now, which is the retry path.
    await expectHot('usage insert (200 rows)', find(qs, /^insert into "usage_records"/), {
      needsIndex: false,
      maxMs: 100,
    });
    await expectHot('roll-up upsert', find(qs, /^insert into "usage_daily"/), { needsIndex: false });
    await expectHot('ledger insert', find(qs, /^insert into "credit_ledger"/), { needsIndex: false });
    await expectHot('running total upsert', find(qs, /^insert into "credit_balances"/), {
      needsIndex: false,
    });
  });

  it('reports usage: roll-ups for whole days, raw records for the edge days', async () => {
    const from = NOW - 30 * DAY_MS - 5 * 3_600_000;
    for (const [label, tenant] of [
      ['heavy', 'ten_0'],
      ['typical', 'ten_1234'],
    ] as const) {
      const qs = await queriesOf((db) => usageLines(db, tenant, from, NOW, 'day'));
      const raw = qs.filter((q) => /from "usage_records"/.test(q.sql));
      expect(raw.length).toBe(2);
      await expectHot(`report roll-ups (${label})`, find(qs, /from "usage_daily"/));
      await expectHot(`report first edge day (${label})`, raw[0]);
      await expectHot(`report last edge day (${label})`, raw[1]);
    }
  });

  it('closes a month of invoices from the roll-ups', async () => {
    const meter = { flush: async () => {} } as unknown as UsageMeter;
    // A month before any usage: the real close() runs its queries and finds nothing to invoice.
    const qs = await queriesOf((db) =>
      new InvoiceService(db, meter, silentLogger, { dialect: 'postgres' }).close('2025-01', NOW),
    );
    const tenants = find(qs, /from "usage_daily"/);
    const november = [Math.floor(Date.UTC(2026, 10, 1) / DAY_MS)];
    // Closing October: every tenant with roll-ups no invoice covers yet, from the partial index.
    // Two uninvoiced months out of the fill's history sit near PostgreSQL's index/seq-scan break-even, so
    // the plan flips with ANALYZE's random sample; what matters is that the scan stays fast.
    await expectHot('invoice close: tenants to invoice', tenants, {
      parameters: november,
      maxMs: 1_500,
      needsIndex: false,
    });
    const october = parsePeriod('2026-10')!;
    const rows = await queriesOf((db) => lockUninvoiced(db, 'ten_0', october, 'postgres'));
    await expectHot('invoice close: one tenant (heavy)', rows[0]);
  });

  it('lists the audit log', async () => {
    const qs = await queriesOf(async (db) => {
      await listAudit(db, 'ten_0', { limit: 20 });
      await listAudit(db, 'ten_0', { limit: 20, after: 150_000 });
      await listAudit(db, 'ten_1234', { limit: 20 });
    });
    const lists = qs.filter((q) => /select \* from "audit_log"/.test(q.sql));
    await expectHot('audit list (heavy tenant)', lists[0]);
    await expectHot('audit list, next page', lists[1]);
    await expectHot('audit list (typical tenant)', lists[2]);
  });

  it('counts sign-in attempts and prunes expired ones', async () => {
    const qs = await queriesOf(async (db) => {
      const throttle = new LoginThrottle(db, { now: () => NOW });
      await throttle.admit('user0@example.com', '10.0.0.0');
      await throttle.prune(NOW);
    });
    await expectHot('login throttle: count', find(qs, /^update "login_attempts"/));
    await expectHot('login throttle: prune', find(qs, /^delete from "login_attempts"/));
  });

  it('dispatches webhooks: fan-out scan, lease, deliveries list', async () => {
    const qs = await queriesOf(async (db) => {
      await fanOutEvents(db, NOW);
      await leaseDueDeliveries({ db, dialect: 'postgres' }, 'rep_test', NOW, 30_000, 20);
      await listAttempts(db, 'wh_0', { limit: 21 });
      await listWaitingDeliveries(db, 'wh_0', 20);
      await listAttempts(db, 'wh_1234', { limit: 21 });
      await listWaitingDeliveries(db, 'wh_1234', 20);
    });
    await expectHot('fan-out scan', find(qs, /from "outbox_events" where "fanned_out_at" is null/));
    // A few thousand endpoints: reading them whole is as cheap as probing the tenant index 100 times.
    await expectHot('fan-out endpoints', find(qs, /from "webhooks"/), { needsIndex: false });
    await expectHot('delivery lease', find(qs, /^update "webhook_deliveries"/));
    const attempts = qs.filter((q) => /from "webhook_delivery_attempts"/.test(q.sql));
    const waiting = qs.filter((q) => /from "webhook_deliveries" where "webhook_id"/.test(q.sql));
    await expectHot('attempt log (busy endpoint)', attempts[0]);
    await expectHot('waiting deliveries (busy endpoint)', waiting[0]);
    await expectHot('attempt log (typical endpoint)', attempts[1]);
    await expectHot('waiting deliveries (typical endpoint)', waiting[1]);
  });

  it('prunes raw usage records past retention in small batches', async () => {
    // Nothing is older than this, so the real call deletes nothing; the statement is then explained
    // with a cutoff that makes a day's worth of records eligible, as on a daily retention run.
    const qs = await queriesOf((db) => pruneUsageRecords(db, NOW - 400 * DAY_MS));
    const del = find(qs, /^delete from "usage_records"/);
    const params = [...del!.parameters];
    params[0] = NOW - (SIZES.usageDays - 1) * DAY_MS;
    await expectHot('retention prune (5,000 rows)', del, { parameters: params, maxMs: 500 });
  });
});
