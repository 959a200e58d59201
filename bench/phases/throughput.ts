/**
 * Requests per second, latency and server CPU per request, direct vs through the gateway (and through
 * the bare reference proxy, the cost of the hop itself): non-stream and stream, 1 and 32 connections.
 */
import type { BenchPhase, Row, TargetCheck } from '../lib/context.js';
import { CHAT_BODY, type LoadResult, load, loadWithCpu, STREAM_BODY } from '../lib/measure.js';

const CONCURRENCY = [1, 32] as const;
const MIN_NON_STREAM_RATIO = 0.15;
/** Gateway CPU µs per request at 32 connections (the targets, full pipeline). */
const MAX_CPU_US = { 'non-stream': 130, stream: 180 } as const;
const WARMUP_SEC = 1;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
// autocannon records latency in whole milliseconds.
const ms = (n: number) => n.toFixed(0);

export const throughputPhase: BenchPhase = {
  name: 'throughput',
  async run(ctx) {
    const rows: Row[] = [];
    const targets: TargetCheck[] = [];
    const data: Record<
      string,
      { direct: LoadResult; bareProxy: LoadResult; gateway: LoadResult; ratio: number }
    > = {};
    for (const target of [ctx.direct, ctx.viaBareProxy, ctx.viaGateway])
      await load(target, CHAT_BODY, 8, WARMUP_SEC);

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
        const bareProxy = await loadWithCpu(
          ctx.viaBareProxy,
          body,
          connections,
          ctx.durationSec,
          ctx.viaBareProxy.pid,
        );
        const gateway = await loadWithCpu(
          ctx.viaGateway,
          body,
          connections,
          ctx.durationSec,
          ctx.gateway.pid,
        );
        for (const [name, r] of [
          ['direct', direct],
          ['bare proxy', bareProxy],
          ['gateway', gateway],
        ] as const)
          if (r.non2xx > 0 || r.errors > 0)
            ctx.log(`  warning: ${name} ${label}: ${r.non2xx} non-2xx, ${r.errors} errors`);
        const ratio = gateway.rps / direct.rps;
        data[label] = { direct, bareProxy, gateway, ratio };
        rows.push({
          label: `${label} req/s`,
          direct: fmt(direct.rps),
          bareProxy: fmt(bareProxy.rps),
          gateway: fmt(gateway.rps),
          comparison: `${(ratio * 100).toFixed(1)}%`,
        });
        rows.push({
          label: `${label} latency p50/p99 ms`,
          direct: `${ms(direct.p50)}/${ms(direct.p99)}`,
          bareProxy: `${ms(bareProxy.p50)}/${ms(bareProxy.p99)}`,
          gateway: `${ms(gateway.p50)}/${ms(gateway.p99)}`,
          comparison: `+${ms(gateway.p50 - direct.p50)}/+${ms(gateway.p99 - direct.p99)}`,
        });
        rows.push({
          label: `${label} server CPU µs/req`,
          direct: direct.cpuUsPerRequest.toFixed(0),
          bareProxy: bareProxy.cpuUsPerRequest.toFixed(0),
          gateway: gateway.cpuUsPerRequest.toFixed(0),
          comparison: `${(gateway.cpuUsPerRequest / direct.cpuUsPerRequest).toFixed(1)}×`,
        });
        if (connections === 32)
          targets.push({
            description: `gateway CPU per request, ${label} ≤ ${MAX_CPU_US[kind]} µs (bare proxy: ${bareProxy.cpuUsPerRequest.toFixed(0)} µs)`,
            actual: `${gateway.cpuUsPerRequest.toFixed(0)} µs`,
            met: gateway.cpuUsPerRequest <= MAX_CPU_US[kind],
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
