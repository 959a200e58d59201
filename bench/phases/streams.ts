/**
 * 1,000 concurrent streaming requests held open (the fake upstream paces its chunks), on a gateway of its
 * own: how much memory each open stream costs, and that every one of them completes with `[DONE]`.
 *
 * Each open stream holds one upstream connection for its whole life, and the default provider pool is
 * 128 connections per origin: streams beyond that would wait for a free connection (the client sees a
 * late first chunk, never an error). An operator expecting 1,000 concurrent streams sizes the pool for
 * them, so this gateway's provider has `connections` set to the stream count plus headroom.
 */
import { Agent, request } from 'undici';
import type { BenchPhase, Row, TargetCheck } from '../lib/context.js';
import { startGatewayProcess } from '../lib/gateway-process.js';
import { distribution, load, STREAM_BODY } from '../lib/measure.js';
import { heapUsedBytes, openFilesLimit, rssBytes, toMb } from '../lib/process-memory.js';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 1000);
// 100 ms between chunks, 30 words: each stream lasts about 3.3 s, long enough for all to be open at once.
const PACE = 'pace:100,words:30';
// Per process: the gateway holds a client socket and an upstream socket per stream, plus its own files.
const FDS_NEEDED = 2 * STREAMS + 512;
const SAMPLE_EVERY_MS = 100;

interface StreamOutcome {
  ok: boolean;
  /** ms from sending to the response headers. */
  headers: number;
  /** ms from sending to the first body chunk. */
  firstChunk: number;
}

export const streamsPhase: BenchPhase = {
  name: 'streams',
  async run(ctx) {
    const fdLimit = openFilesLimit();
    if (fdLimit < FDS_NEEDED) {
      const note = `open-file limit is ${fdLimit}, ${STREAMS} streams need ≥ ${FDS_NEEDED}: run \`ulimit -n 65536\` first`;
      ctx.log(`streams: SKIPPED — ${note}`);
      return {
        rows: [],
        targets: [],
        data: { skipped: note },
      };
    }
    ctx.log(
      `streams: ${STREAMS} concurrent streams (${PACE}), own gateway with ${STREAMS + 64} upstream connections`,
    );
    await ctx.upstream.reset();
    const gateway = await startGatewayProcess(ctx.upstream.v1, {
      env: { SIMO_UPSTREAM_URL: undefined },
      config: {
        providers: [
          {
            id: 'bench-upstream',
            type: 'openai-compatible',
            baseUrl: ctx.upstream.v1,
            connections: STREAMS + 64,
          },
        ],
        models: [
          {
            id: STREAM_BODY.model,
            ownedBy: 'qwen',
            pricing: { inputPerMTok: 0.05, outputPerMTok: 0.25 },
            routes: [{ provider: 'bench-upstream' }],
          },
        ],
      },
    });
    const target = {
      name: 'gateway' as const,
      v1: gateway.v1,
      headers: { authorization: `Bearer ${gateway.apiKey}` },
    };
    const agent = new Agent({ connections: STREAMS + 64, keepAliveTimeout: 30_000 });
    try {
      // Warm (JIT, pools, SQLite cache) with unpaced streams, then let the process settle.
      await load(target, STREAM_BODY, 32, 2);
      await new Promise((r) => setTimeout(r, 1_000));
      const baseline = { rssMb: toMb(rssBytes(gateway.pid)), heapMb: toMb(await heapUsedBytes(gateway.url)) };
      await ctx.upstream.control(PACE);

      let open = 0;
      let peak = { open: 0, rssMb: baseline.rssMb };
      let maxRssMb = baseline.rssMb;
      const sampler = setInterval(() => {
        const rssMb = toMb(rssBytes(gateway.pid));
        maxRssMb = Math.max(maxRssMb, rssMb);
        // The plateau: the reading taken while the most streams were open.
        if (open > peak.open || (open === peak.open && rssMb > peak.rssMb)) peak = { open, rssMb };
      }, SAMPLE_EVERY_MS);
      let heapAtPeak = { open: 0, heapMb: baseline.heapMb };
      const heapSampler = setInterval(() => {
        const openNow = open;
        void heapUsedBytes(gateway.url).then((b) => {
          if (openNow >= heapAtPeak.open) heapAtPeak = { open: openNow, heapMb: toMb(b) };
        });
      }, 500);

      const payload = JSON.stringify(STREAM_BODY);
      const one = async (): Promise<StreamOutcome> => {
        const started = performance.now();
        const res = await request(`${gateway.v1}/chat/completions`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json', ...target.headers },
          body: payload,
        });
        const headers = performance.now() - started;
        open++;
        let firstChunk = Number.NaN;
        let tail = '';
        try {
          for await (const chunk of res.body) {
            if (Number.isNaN(firstChunk)) firstChunk = performance.now() - started;
            tail = (tail + chunk.toString('utf8')).slice(-64);
          }
        } finally {
          open--;
        }
        return { ok: res.statusCode === 200 && tail.endsWith('data: [DONE]\n\n'), headers, firstChunk };
      };

      const started = performance.now();
      const settled = await Promise.allSettled(Array.from({ length: STREAMS }, one));
      const wallSec = (performance.now() - started) / 1000;
      clearInterval(sampler);
      clearInterval(heapSampler);

      const outcomes = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      const failures = settled.filter((s) => s.status === 'rejected');
      const completed = outcomes.filter((o) => o.ok).length;
      for (const f of failures.slice(0, 3))
        ctx.log(`  error: ${f.status === 'rejected' ? String(f.reason) : ''}`);
      const first = distribution(outcomes.map((o) => o.firstChunk).filter((n) => !Number.isNaN(n)));
      const perStreamKb = ((peak.rssMb - baseline.rssMb) * 1024) / Math.max(1, peak.open);
      const f = (n: number) => n.toFixed(1);
      ctx.log(
        `  baseline RSS ${f(baseline.rssMb)} MB, plateau ${f(peak.rssMb)} MB with ${peak.open} open, max ${f(maxRssMb)} MB; ${completed}/${STREAMS} [DONE] in ${wallSec.toFixed(1)} s`,
      );
      const rows: Row[] = [
        {
          label: `${STREAMS} concurrent streams: gateway RSS before/plateau MB`,
          direct: '—',
          gateway: `${f(baseline.rssMb)}/${f(peak.rssMb)}`,
          comparison: `${peak.open} open at plateau`,
        },
        {
          label: 'memory per open stream (RSS growth / streams open)',
          direct: '—',
          gateway: `${perStreamKb.toFixed(0)} KB`,
          comparison: `heap ${f(baseline.heapMb)}→${f(heapAtPeak.heapMb)} MB`,
        },
        {
          label: `${STREAMS} streams completed with [DONE]`,
          direct: '—',
          gateway: `${completed}/${STREAMS}`,
          comparison: `first chunk p50/p99 ${first.p50.toFixed(0)}/${first.p99.toFixed(0)} ms`,
        },
      ];
      const targets: TargetCheck[] = [
        {
          description: `${STREAMS} concurrent streams all complete with [DONE]`,
          actual: `${completed}/${STREAMS} (${failures.length} errors), ${peak.open} open at once`,
          met: completed === STREAMS,
        },
      ];
      return {
        rows,
        targets,
        data: {
          streams: STREAMS,
          pace: PACE,
          baseline,
          plateau: peak,
          maxRssMb,
          heapAtPeak,
          perStreamKb,
          completed,
          errors: failures.length,
          firstChunkMs: first,
          wallSec,
        },
      };
    } finally {
      await ctx.upstream.reset();
      await agent.close();
      await gateway.stop();
    }
  },
};
