/**
 * Two gateway replicas on one PostgreSQL database and one Redis (scripts/topology.ts): non-stream ×32
 * through replica A alone, then split over A and B (two load generators in parallel, 16 connections each).
 * Every request is metered on PostgreSQL, so the req/s is also the metered rate on PostgreSQL; afterwards
 * the phase checks that PostgreSQL holds exactly one usage record per 2xx response.
 *
 * Each load run sends a fixed number of requests (sized from a warm-up so a run lasts about
 * BENCH_DURATION) instead of running for a fixed time: a timed run cuts off requests in flight, which
 * the gateway still meters, and the record count could then not be compared exactly.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { startTopology, type Topology } from '../../scripts/topology.js';
import { serviceAvailable } from '../../test/support/services.js';
import type { BenchPhase, Row, TargetCheck } from '../lib/context.js';
import { CHAT_BODY } from '../lib/measure.js';

const CONNECTIONS = 32;
const WARMUP_REQUESTS = 3_000;
const RECORDS_WAIT_MS = 20_000;

interface FixedRun {
  /** Sum of req/s over the parallel generators: all requests / wall time. */
  rps: number;
  /** Worst p50 and p99 (ms) among the parallel generators. */
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
}

/** Parallel autocannon instances, one per replica URL, each sending `amount` requests. */
async function fixedLoad(
  urls: string[],
  apiKey: string,
  connectionsEach: number,
  amount: number,
): Promise<FixedRun> {
  const started = performance.now();
  const results = await Promise.all(
    urls.map((url) =>
      autocannon({
        url: `${url}/v1/chat/completions`,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify(CHAT_BODY),
        connections: connectionsEach,
        amount,
      }),
    ),
  );
  const wallSec = (performance.now() - started) / 1000;
  const sum = (f: (r: autocannon.Result) => number) => results.reduce((s, r) => s + f(r), 0);
  return {
    rps: sum((r) => r.requests.total) / wallSec,
    p50: Math.max(...results.map((r) => r.latency.p50)),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    ok: sum((r) => r['2xx']),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors + r.timeouts),
  };
}

/** Waits until the replicas' batched usage writes have landed: the count matches, or stops moving. */
async function countUsageRecords(databaseUrl: string, expected: number): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const deadline = Date.now() + RECORDS_WAIT_MS;
    let last = -1;
    let stableSince = Date.now();
    for (;;) {
      const res = await client.query<{ n: string }>('select count(*) as n from usage_records');
      const n = Number(res.rows[0]?.n ?? 0);
      if (n !== last) stableSince = Date.now();
      last = n;
      if (n === expected || Date.now() > deadline || Date.now() - stableSince > 5_000) return n;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await client.end();
  }
}

async function signUp(url: string): Promise<string> {
  const res = await fetch(`${url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      email: `bench-replicas-${Date.now()}@example.com`,
      password: 'bench password 123',
    }),
  });
  if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { api_key: string }).api_key;
}

export const replicasPhase: BenchPhase = {
  name: 'replicas',
  async run(ctx) {
    const [pgUp, redisUp] = await Promise.all([serviceAvailable('pg'), serviceAvailable('redis')]);
    if (!pgUp || !redisUp) {
      const missing = [pgUp ? '' : 'PostgreSQL', redisUp ? '' : 'Redis'].filter(Boolean).join(' and ');
      const note = `${missing} not reachable (SIMO_TEST_DATABASE_URL / SIMO_TEST_REDIS_URL)`;
      ctx.log(`replicas: SKIPPED — ${note}`);
      return { rows: [], targets: [], data: { skipped: note } };
    }
    ctx.log(`replicas: 2 replicas on PostgreSQL + Redis, non-stream ×${CONNECTIONS}: A alone, then A+B`);
    const configDir = mkdtempSync(join(tmpdir(), 'simo-bench-replicas-'));
    const configPath = join(configDir, 'simosphere.json');
    // A huge plan and credit grant keep admission out of the way; the limiter (Redis) and the meter still run.
    writeFileSync(
      configPath,
      JSON.stringify({
        plans: { bench: { rpm: 100_000_000 } },
        signup: { plan: 'bench', trialCredits: 1_000_000 },
      }),
    );
    let topology: Topology | undefined;
    try {
      topology = await startTopology({ replicas: 2, env: { SIMO_CONFIG: configPath } });
      const [a, b] = topology.replicas;
      if (!a || !b) throw new Error('topology started fewer than 2 replicas');
      const apiKey = await signUp(a.url);

      // Warm both replicas (they run from source through tsx), then size the runs from A's warm rate.
      const warmA = await fixedLoad([a.url], apiKey, CONNECTIONS, WARMUP_REQUESTS);
      const warmB = await fixedLoad([b.url], apiKey, CONNECTIONS, WARMUP_REQUESTS);
      // The first runs are still compiling; a second one on A shows the warm rate.
      const warmA2 = await fixedLoad([a.url], apiKey, CONNECTIONS, WARMUP_REQUESTS);
      const amount = Math.max(1_000, Math.round(warmA2.rps * ctx.durationSec));
      ctx.log(
        `  warm-up: A ${Math.round(warmA.rps)}→${Math.round(warmA2.rps)} req/s, B ${Math.round(warmB.rps)} req/s; ${amount} requests per run`,
      );
      const alone = await fixedLoad([a.url], apiKey, CONNECTIONS, amount);
      const split = await fixedLoad([a.url, b.url], apiKey, CONNECTIONS / 2, Math.round(amount / 2));
      const runs = [warmA, warmB, warmA2, alone, split];
      const ok = runs.reduce((s, r) => s + r.ok, 0);
      const failed = runs.reduce((s, r) => s + r.non2xx + r.errors, 0);
      if (failed > 0) ctx.log(`  warning: ${failed} non-2xx responses or errors`);
      const records = await countUsageRecords(topology.database.databaseUrl!, ok);
      const recordsMatch = records === ok;
      ctx.log(
        `  A alone ${Math.round(alone.rps)} req/s, A+B ${Math.round(split.rps)} req/s; usage_records on PG ${records}, 2xx responses ${ok}${recordsMatch ? '' : '  <-- MISMATCH'}`,
      );

      const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
      const ratio = split.rps / alone.rps;
      const rows: Row[] = [
        {
          label: `replicas non-stream ×${CONNECTIONS} req/s (A alone → A+B)`,
          direct: fmt(alone.rps),
          gateway: fmt(split.rps),
          comparison: `${ratio.toFixed(2)}×`,
        },
        {
          label: 'replicas latency p50/p99 ms (A alone → worst of A+B)',
          direct: `${alone.p50}/${alone.p99}`,
          gateway: `${split.p50}/${split.p99}`,
          comparison: `+${split.p50 - alone.p50}/+${split.p99 - alone.p99}`,
        },
        {
          label: 'metered req/s on PostgreSQL (1 → 2 replicas)',
          direct: fmt(alone.rps),
          gateway: fmt(split.rps),
          comparison: 'Redis limiter',
        },
        {
          label: 'usage_records on PostgreSQL / 2xx responses',
          direct: '—',
          gateway: `${records} / ${ok}`,
          comparison: recordsMatch ? 'equal' : 'MISMATCH',
        },
      ];
      const targets: TargetCheck[] = [
        {
          description: 'replicas: one usage record on PostgreSQL per 2xx response',
          actual: `${records} records / ${ok} 2xx`,
          met: recordsMatch,
        },
      ];
      return { rows, targets, data: { amount, warmA, warmB, warmA2, alone, split, ok, failed, records } };
    } finally {
      await topology?.stop();
      rmSync(configDir, { recursive: true, force: true });
    }
  },
};
