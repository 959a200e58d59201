/**
 * Paced streams (the upstream waits between chunks, like a real model): the gateway must relay each
 * chunk as it comes, so the gaps the client sees equal the upstream's pace.
 */
import type { BenchPhase, TargetCheck } from '../lib/context.js';
import { distribution, poolFor, STREAM_BODY, type StreamTiming, timeStream } from '../lib/measure.js';

const PACE = 'pace:20,words:10';
const STREAMS = 15;
// Timer jitter on a busy 2-core machine is around a millisecond; more than that would be buffering.
const MAX_ADDED_GAP_MS = 1;

export const pacedStreamPhase: BenchPhase = {
  name: 'paced stream',
  async run(ctx) {
    ctx.log(`paced stream: ${PACE}, ${STREAMS} streams each path`);
    // The gateway forwards no client headers upstream, so the pace is set as the fake's default.
    await ctx.upstream.control(PACE);
    const timings = { direct: [] as StreamTiming[], gateway: [] as StreamTiming[] };
    const pools = [ctx.direct, ctx.viaGateway].map((t) => ({ target: t, ...poolFor(t) }));
    try {
      for (let i = 0; i < STREAMS; i++)
        for (const { target, pool, path } of pools)
          (target.name === 'direct' ? timings.direct : timings.gateway).push(
            await timeStream(target, pool, path, STREAM_BODY),
          );
    } finally {
      await ctx.upstream.reset();
      await Promise.all(pools.map((p) => p.pool.close()));
    }
    const gaps = (t: StreamTiming[]) => distribution(t.flatMap((s) => s.gaps));
    const first = (t: StreamTiming[]) => distribution(t.map((s) => s.firstEvent));
    const direct = { gaps: gaps(timings.direct), firstEvent: first(timings.direct) };
    const gateway = { gaps: gaps(timings.gateway), firstEvent: first(timings.gateway) };
    const addedGap = gateway.gaps.mean - direct.gaps.mean;
    const targets: TargetCheck[] = [
      {
        description: `paced stream: no added delay between chunks (mean gap +≤ ${MAX_ADDED_GAP_MS} ms)`,
        actual: `${addedGap >= 0 ? '+' : ''}${addedGap.toFixed(2)} ms`,
        met: addedGap <= MAX_ADDED_GAP_MS,
      },
    ];
    const f = (n: number) => n.toFixed(1);
    return {
      rows: [
        {
          label: `paced gap mean/p99 ms (${PACE})`,
          direct: `${f(direct.gaps.mean)}/${f(direct.gaps.p99)}`,
          gateway: `${f(gateway.gaps.mean)}/${f(gateway.gaps.p99)}`,
          comparison: `${addedGap >= 0 ? '+' : ''}${addedGap.toFixed(2)} mean`,
        },
        {
          label: 'paced first chunk p50 ms',
          direct: f(direct.firstEvent.p50),
          gateway: f(gateway.firstEvent.p50),
          comparison: `+${(gateway.firstEvent.p50 - direct.firstEvent.p50).toFixed(2)}`,
        },
      ],
      targets,
      data: { pace: PACE, streams: STREAMS, direct, gateway, addedGapMs: addedGap },
    };
  },
};
