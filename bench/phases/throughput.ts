/** Requests per second and latency, direct vs through the gateway: non-stream and stream, 1 and 32 connections. */
import type { BenchPhase, Row, TargetCheck } from '../lib/context.js';
import { CHAT_BODY, type LoadResult, load, loadWithCpu, STREAM_BODY } from '../lib/measure.js';

const CONCURRENCY = [1, 32] as const;
const MIN_NON_STREAM_RATIO = 0.25;
const WARMUP_SEC = 1;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
// autocannon records latency in whole milliseconds.
const ms = (n: number) => n.toFixed(0);

export const throughputPhase: BenchPhase = {
  name: 'throughput',
  async run(ctx) {
    const rows: Row[] = [];
    const targets: TargetCheck[] = [];
    const data: Record<string, { direct: LoadResult; gateway: LoadResult; ratio: number }> = {};
    for (const target of [ctx.direct, ctx.viaGateway]) await load(target, CHAT_BODY, 8, WARMUP_SEC);

    for (const [kind, body] of [
      ['non-stream', CHAT_BODY],
      ['stream', STREAM_BODY],
    ] as const) {
      for (const connections of CONCURRENCY) {
        const label = `${kind} ×${connections}`;
        ctx.log(`throughput: ${label} (${ctx.durationSec} s each path)`);
        // CPU per request of the serving process: the fake upstream for direct, the gateway alone
        // (the upstream's share excluded) through the gateway.
        const direct = await loadWithCpu(ctx.direct, body, connections, ctx.durationSec, ctx.upstream.pid);
        const gateway = await loadWithCpu(
          ctx.viaGateway,
          body,
          connections,
          ctx.durationSec,
          ctx.gateway.pid,
        );
        for (const [name, r] of [
          ['direct', direct],
          ['gateway', gateway],
        ] as const)
          if (r.non2xx > 0 || r.errors > 0)
            ctx.log(`  warning: ${name} ${label}: ${r.non2xx} non-2xx, ${r.errors} errors`);
        const ratio = gateway.rps / direct.rps;
        data[label] = { direct, gateway, ratio };
        rows.push({
          label: `${label} req/s`,
          direct: fmt(direct.rps),
          gateway: fmt(gateway.rps),
          comparison: `${(ratio * 100).toFixed(1)}%`,
        });
        rows.push({
          label: `${label} latency p50/p99 ms`,
          direct: `${ms(direct.p50)}/${ms(direct.p99)}`,
          gateway: `${ms(gateway.p50)}/${ms(gateway.p99)}`,
          comparison: `+${ms(gateway.p50 - direct.p50)}/+${ms(gateway.p99 - direct.p99)}`,
        });
        rows.push({
          label: `${label} server CPU µs/req`,
          direct: direct.cpuUsPerRequest.toFixed(0),
          gateway: gateway.cpuUsPerRequest.toFixed(0),
          comparison: `${(gateway.cpuUsPerRequest / direct.cpuUsPerRequest).toFixed(1)}×`,
        });
        if (kind === 'non-stream')
          targets.push({
            description: `non-stream throughput ×${connections} ≥ ${MIN_NON_STREAM_RATIO * 100}% of direct`,
            actual: `${(ratio * 100).toFixed(1)}%`,
            met: ratio >= MIN_NON_STREAM_RATIO,
          });
      }
    }
    return { rows, targets, data };
  },
};
