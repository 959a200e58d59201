/**
 * Throughput of `simosphere start --workers N` against one serving process, on the embedded database
 * (rate limits and credits shared exactly through the primary): the same gateway started with 1 and
 * with 2 workers, measured in alternating rounds. Connections go round-robin through the primary;
 * BENCH_REUSE_PORT=1 measures SO_REUSEPORT instead (Node ≥ 22.12). The load generator and the fake upstream
 * share the machine's cores with the gateway: note the core count when reading the ratio.
 */

import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { BenchPhase, Row, TargetCheck } from '../lib/context.js';
import { startGatewayProcess } from '../lib/gateway-process.js';
import { CHAT_BODY, load, processCpuMs } from '../lib/measure.js';

/** CPU time of a process and of its children (the primary and its workers), in ms. */
function treeCpuMs(pid: number): { own: number; children: number } {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    // No children listed: the process alone.
  }
  return { own: processCpuMs(pid), children: children.reduce((sum, c) => sum + processCpuMs(c), 0) };
}

interface Sample {
  rps: number;
  /** CPU of every gateway process per request: what N cores must supply, whatever else runs. */
  cpuUsPerRequest: number;
  /** The part of it spent in the primary (all of it with one process): the coordination it serves. */
  primaryCpuUsPerRequest: number;
  /** The machine's 1-minute load average at the end of the run: how much else competed for the cores. */
  load1: number;
}

const CONNECTIONS = 64;
const WARMUP_SEC = 3;
const ROUNDS = 2;
const TARGET_SPEEDUP = 1.6;
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);

async function measure(upstreamV1: string, workers: number, durationSec: number): Promise<Sample> {
  const gateway = await startGatewayProcess(upstreamV1, {
    env: {
      SIMO_WORKERS: String(workers),
      ...(process.env.BENCH_REUSE_PORT ? { SIMO_REUSE_PORT: process.env.BENCH_REUSE_PORT } : {}),
    },
  });
  try {
    const target = {
      name: 'gateway' as const,
      v1: gateway.v1,
      headers: { authorization: `Bearer ${gateway.apiKey}` },
    };
    await load(target, CHAT_BODY, CONNECTIONS, WARMUP_SEC);
    const cpuBefore = treeCpuMs(gateway.pid);
    const r = await load(target, CHAT_BODY, CONNECTIONS, durationSec);
    const cpuAfter = treeCpuMs(gateway.pid);
    const load1 = loadavg()[0]!;
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${r.non2xx} non-2xx answers, ${r.errors} errors`);
    const perRequest = (ms: number) => (ms * 1000) / Math.max(1, r.requests);
    const own = cpuAfter.own - cpuBefore.own;
    return {
      rps: r.rps,
      cpuUsPerRequest: perRequest(own + cpuAfter.children - cpuBefore.children),
      primaryCpuUsPerRequest: perRequest(own),
      load1,
    };
  } finally {
    await gateway.stop();
  }
}

export const workersPhase: BenchPhase = {
  name: 'workers',
  async run(ctx) {
    ctx.log(
      `workers: non-stream ×${CONNECTIONS}, 1 serving process vs --workers ${WORKERS} (SQLite, no Redis)`,
    );
    await ctx.upstream.reset();
    const single: Sample[] = [];
    const multi: Sample[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      single.push(await measure(ctx.upstream.v1, 1, ctx.durationSec));
      multi.push(await measure(ctx.upstream.v1, WORKERS, ctx.durationSec));
      const one = single.at(-1)!;
      const many = multi.at(-1)!;
      ctx.log(
        `  round ${round + 1}: 1 process ${Math.round(one.rps)} req/s ${one.cpuUsPerRequest.toFixed(0)} µs/req ` +
          `(load ${one.load1.toFixed(2)}), ${WORKERS} workers ${Math.round(many.rps)} req/s ` +
          `${many.cpuUsPerRequest.toFixed(0)} µs/req of which primary ${many.primaryCpuUsPerRequest.toFixed(0)} ` +
          `(load ${many.load1.toFixed(2)})`,
      );
    }
    const best = (xs: Sample[]) => Math.max(...xs.map((x) => x.rps));
    const leastCpu = (xs: Sample[]) => Math.min(...xs.map((x) => x.cpuUsPerRequest));
    const speedup = best(multi) / best(single);
    // With N cores to itself, N workers serve N × (CPU per request alone / CPU per request with N).
    const expected = (WORKERS * leastCpu(single)) / leastCpu(multi);
    const rows: Row[] = [
      {
        label: `non-stream ×${CONNECTIONS} req/s (1 process → --workers ${WORKERS})`,
        direct: Math.round(best(single)).toLocaleString('en-US'),
        gateway: Math.round(best(multi)).toLocaleString('en-US'),
        comparison: `${speedup.toFixed(2)}×`,
      },
      {
        label: `gateway CPU µs/req, all processes (1 process → --workers ${WORKERS})`,
        direct: leastCpu(single).toFixed(0),
        gateway: leastCpu(multi).toFixed(0),
        comparison: `${expected.toFixed(2)}× on ${WORKERS} free cores`,
      },
    ];
    const targets: TargetCheck[] = [
      {
        description: `--workers ${WORKERS} ≥ ${TARGET_SPEEDUP}× one process (needs ${WORKERS} cores free for the gateway)`,
        actual: `${speedup.toFixed(2)}×`,
        met: speedup >= TARGET_SPEEDUP,
      },
    ];
    return { rows, targets, data: { single, multi, speedup, expected } };
  },
};
