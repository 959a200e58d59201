/**
 * kill -9 under load: every request the client saw answered 200 must have exactly one usage record and
 * one ledger debit after a restart on the same data dir (the write-ahead log is replayed at boot).
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { picosOf } from '../../src/shared/money.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { startKillableServer } from '../support/killable-server.js';
import { billingConfig, chatBody } from './billing-harness.js';

const WORKERS = 12;
/** 3 prompt + 7 completion tokens at the Qwen test price: 117.5 micro-dollars, in pico-dollars. */
const COST = 117_500_000n;

let upstream: FakeUpstream;
let dataDir: string;
let server: ChildProcess | undefined;

/** Starts `simosphere start` from source in a child process; resolves with its URL. */
async function startServer(): Promise<{ child: ChildProcess; url: string }> {
  const server = await startKillableServer({
    env: { SIMO_DATA_DIR: dataDir, SIMO_CONFIG: join(dataDir, 'simosphere.yaml') },
  });
  return { child: server.child, url: server.url };
}

beforeAll(async () => {
  upstream = await startFakeUpstream();
  dataDir = mkdtempSync(join(tmpdir(), 'simo-crash-'));
  writeFileSync(join(dataDir, 'simosphere.yaml'), JSON.stringify(billingConfig(upstream.v1)));
});

afterAll(async () => {
  server?.kill('SIGKILL');
  await upstream?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

it('loses and duplicates nothing when the server is killed with SIGKILL under load', async () => {
  const first = await startServer();
  server = first.child;
  const signUp = await fetch(`${first.url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'crash@example.com', password: 'correct horse battery staple' }),
  });
  const { api_key: apiKey, tenant_id: tenantId } = (await signUp.json()) as {
    api_key: string;
    tenant_id: string;
  };
  await upstream.control('words:7');

  const ok: string[] = [];
  let stop = false;
  const worker = async () => {
    while (!stop) {
      try {
        const res = await fetch(`${first.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify(chatBody('qwen/qwen3-8b', 'one two three')),
        });
        await res.arrayBuffer();
        if (res.status === 200) ok.push(res.headers.get('x-request-id')!);
      } catch {
        return; // the server is gone
      }
    }
  };
  const workers = Array.from({ length: WORKERS }, worker);
  const deadline = Date.now() + 10_000;
  while (ok.length < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  stop = true;
  await Promise.all(workers);
  expect(ok.length).toBeGreaterThanOrEqual(300);

  const walFiles = readdirSync(dataDir).filter((n) => n.startsWith('usage-wal-'));
  const walLines = walFiles
    .map((n) => readFileSync(join(dataDir, n), 'utf8').split('\n').filter(Boolean).length)
    .reduce((a, b) => a + b, 0);

  const second = await startServer();
  server = second.child;
  // The dead writer's segments and lock are gone; only the new server's own lock is left.
  const left = readdirSync(dataDir).filter((n) => n.startsWith('usage-wal-'));
  expect(left).toHaveLength(1);
  expect(left[0]).toMatch(/\.lock$/);

  const db = new SQLite(join(dataDir, 'simosphere.db'), { readonly: true });
  try {
    const records = db
      .prepare(
        'select request_id, cost_micros, cost_picos, provider, attempts from usage_records where tenant_id = ?',
      )
      .all(tenantId) as Array<{
      request_id: string;
      cost_micros: number;
      cost_picos: number;
      provider: string | null;
      attempts: number | null;
    }>;
    const debits = db
      .prepare(
        "select request_id, amount_micros, amount_picos from credit_ledger where tenant_id = ? and kind = 'usage'",
      )
      .all(tenantId) as Array<{ request_id: string; amount_micros: number; amount_picos: number }>;
    const recordCount = new Map<string, number>();
    for (const r of records) recordCount.set(r.request_id, (recordCount.get(r.request_id) ?? 0) + 1);
    // Replayed records keep the route that answered and the routes tried, like those written live.
    const answered = new Set(ok);
    for (const r of records.filter((r) => answered.has(r.request_id)))
      expect({ provider: r.provider, attempts: r.attempts }, r.request_id).toEqual({
        provider: 'fake',
        attempts: 1,
      });
    const debitOf = new Map<string, bigint[]>();
    for (const d of debits)
      debitOf.set(d.request_id, [
        ...(debitOf.get(d.request_id) ?? []),
        picosOf(d.amount_micros, d.amount_picos),
      ]);
    for (const id of ok) {
      expect(recordCount.get(id), id).toBe(1);
      expect(debitOf.get(id), id).toEqual([-COST]);
    }
    // Requests admitted but cut by the kill before any answer may also be recorded; none twice.
    expect([...recordCount.values()].every((n) => n === 1)).toBe(true);
    const consumed = records.reduce((s, r) => s + picosOf(r.cost_micros, r.cost_picos), 0n);
    expect(debits.reduce((s, d) => s - picosOf(d.amount_micros, d.amount_picos), 0n)).toBe(consumed);
    const totals = db
      .prepare(
        'select granted_micros, consumed_micros, consumed_picos from credit_balances where tenant_id = ?',
      )
      .get(tenantId) as { granted_micros: number; consumed_micros: number; consumed_picos: number };
    expect(totals.granted_micros).toBe(5_000_000);
    expect(picosOf(totals.consumed_micros, totals.consumed_picos)).toBe(consumed);
  } finally {
    db.close();
  }
  const balance = (await (
    await fetch(`${second.url}/admin/balance`, { headers: { authorization: `Bearer ${apiKey}` } })
  ).json()) as { consumed: string };
  expect(Math.round(Number(balance.consumed) * 1e6)).toBeGreaterThanOrEqual(Math.floor(ok.length * 117.5));
  second.child.kill('SIGTERM');
  await once(second.child, 'exit');
  server = undefined;
  // The kill landed while records were only in the write-ahead log (not yet in a committed batch).
  expect(walLines).toBeGreaterThan(0);
}, 60_000);
