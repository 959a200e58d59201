/**
 * Throughput of `simosphere start --workers N` against one serving process, on the embedded database
 * (rate limits and credits shared exactly through the primary): the same gateway started with 1 and
 * with 2 workers, measured in alternating rounds. On Node ≥ 22.12 the workers bind with SO_REUSEPORT;
 * BENCH_REUSE_PORT=0 measures cluster's round-robin instead. The load generator and the fake upstream
 * share the machine's cores with the gateway: note the core count when reading the ratio.
 */
import type { BenchPhase, Row, TargetCheck } from '../lib/context.js';
import { startGatewayProcess } from '../lib/gateway-process.js';
import { CHAT_BODY, load } from '../lib/measure.js';

const CONNECTIONS = 64;
const WARMUP_SEC = 3;
const ROUNDS = 2;
const TARGET_SPEEDUP = 1.6;
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);

async function measure(upstreamV1: string, workers: number, durationSec: number): Promise<number> {
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
    const r = await load(target, CHAT_BODY, CONNECTIONS, durationSec);
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${r.non2xx} non-2xx answers, ${r.errors} errors`);
    return r.rps;
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
    const single: number[] = [];
    const multi: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      single.push(await measure(ctx.upstream.v1, 1, ctx.durationSec));
      multi.push(await measure(ctx.upstream.v1, WORKERS, ctx.durationSec));
      ctx.log(
        `  round ${round + 1}: 1 process ${Math.round(single.at(-1)!)} req/s, ${WORKERS} workers ${Math.round(multi.at(-1)!)} req/s`,
      );
    }
    const best = (xs: number[]) => Math.max(...xs);
    const speedup = best(multi) / best(single);
    const rows: Row[] = [
      {
        label: `non-stream ×${CONNECTIONS} req/s (1 process → --workers ${WORKERS})`,
        direct: Math.round(best(single)).toLocaleString('en-US'),
        gateway: Math.round(best(multi)).toLocaleString('en-US'),
        comparison: `${speedup.toFixed(2)}×`,
      },
    ];
    const targets: TargetCheck[] = [
      {
        description: `--workers ${WORKERS} ≥ ${TARGET_SPEEDUP}× one process (needs ${WORKERS} cores free for the gateway)`,
        actual: `${speedup.toFixed(2)}×`,
        met: speedup >= TARGET_SPEEDUP,
      },
    ];
    return { rows, targets, data: { single, multi, speedup } };
  },
};
