/**
 * Time to first byte, sequential, direct vs gateway (and the bare reference proxy, whose added time is
 * what the extra hop alone costs on this machine), alternating request by request.
 */
import type { BenchPhase, Row, TargetCheck } from '../lib/context.js';
import { CHAT_BODY, type Distribution, distribution, STREAM_BODY, timeToFirstByte } from '../lib/measure.js';

const MAX_ADDED_P50_MS = 0.3;
const MAX_ADDED_P99_MS = 1.5;

export const firstBytePhase: BenchPhase = {
  name: 'time to first byte',
  async run(ctx) {
    const requests = Number(process.env.BENCH_TTFB_REQUESTS ?? 300);
    const rows: Row[] = [];
    const targets: TargetCheck[] = [];
    const data: Record<
      string,
      {
        direct: Distribution;
        bareProxy: Distribution;
        gateway: Distribution;
        addedP50: number;
        addedP99: number;
      }
    > = {};
    for (const [kind, body] of [
      ['non-stream', CHAT_BODY],
      ['stream', STREAM_BODY],
    ] as const) {
      ctx.log(`time to first byte: ${kind} (${requests} sequential requests each path)`);
      const samples = await timeToFirstByte([ctx.direct, ctx.viaBareProxy, ctx.viaGateway], body, requests);
      const direct = distribution(samples.get('direct')!);
      const bareProxy = distribution(samples.get('bare proxy')!);
      const gateway = distribution(samples.get('gateway')!);
      const addedP50 = gateway.p50 - direct.p50;
      const addedP99 = gateway.p99 - direct.p99;
      data[kind] = { direct, bareProxy, gateway, addedP50, addedP99 };
      rows.push({
        label: `TTFB ${kind} p50/p99 ms`,
        direct: `${direct.p50.toFixed(2)}/${direct.p99.toFixed(2)}`,
        bareProxy: `${bareProxy.p50.toFixed(2)}/${bareProxy.p99.toFixed(2)}`,
        gateway: `${gateway.p50.toFixed(2)}/${gateway.p99.toFixed(2)}`,
        comparison: `+${addedP50.toFixed(2)}/+${addedP99.toFixed(2)}`,
      });
      targets.push({
        description: `added TTFB ${kind}: ≤ ${MAX_ADDED_P50_MS} ms p50, ≤ ${MAX_ADDED_P99_MS} ms p99 (bare proxy: +${(bareProxy.p50 - direct.p50).toFixed(2)}/+${(bareProxy.p99 - direct.p99).toFixed(2)} ms)`,
        actual: `+${addedP50.toFixed(2)} ms / +${addedP99.toFixed(2)} ms`,
        met: addedP50 <= MAX_ADDED_P50_MS && addedP99 <= MAX_ADDED_P99_MS,
      });
    }
    return { rows, targets, data };
  },
};
