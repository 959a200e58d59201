/**
 * Soak: sustained non-stream load on the single-process gateway for BENCH_SOAK_SECONDS (default 60),
 * reading its RSS (/proc) and V8 heap (`/metrics`) every second and summarising them per 5-s window. A leak
 * shows as the post-GC floor climbing once the process is warm, so the verdict is the slope of the windows'
 * lowest RSS over the second half of the run.
 */
import type { BenchPhase, Row, TargetCheck } from '../lib/context.js';
import { CHAT_BODY, load } from '../lib/measure.js';
import { heapBytes, rssBytes, slope, toMb } from '../lib/process-memory.js';

const CONNECTIONS = 16;
const WINDOW_MS = 5_000;
// Readings within a window: the garbage collector swings the heap (and RSS with it) by 100 MB within
// seconds, so a single reading every 5 s is mostly noise; each window's lowest reading is the floor
// the process returns to, and a leak is the floor climbing.
const READINGS_PER_WINDOW = 5;
// Below this the second-half trend is noise (GC cycles, allocator arenas), not a leak.
const MAX_SLOPE_MB_PER_MIN = 1;

interface Reading {
  atSec: number;
  rssMb: number;
  heapMb: number;
  /** RSS minus the committed V8 heap: native memory (SQLite, sockets, malloc arenas, code). */
  outsideHeapMb: number;
}

/** One 5-s window: the floor (lowest) and peak of RSS and heap. */
interface Window {
  atSec: number;
  rssMin: number;
  rssMax: number;
  heapMin: number;
  heapMax: number;
  outsideHeapMin: number;
}

function summarise(readings: Reading[], atSec: number): Window {
  const rss = readings.map((r) => r.rssMb);
  const heap = readings.map((r) => r.heapMb).filter((n) => !Number.isNaN(n));
  return {
    atSec,
    rssMin: Math.min(...rss),
    rssMax: Math.max(...rss),
    heapMin: heap.length ? Math.min(...heap) : Number.NaN,
    heapMax: heap.length ? Math.max(...heap) : Number.NaN,
    outsideHeapMin: Math.min(...readings.map((r) => r.outsideHeapMb)),
  };
}

export const soakPhase: BenchPhase = {
  name: 'soak',
  async run(ctx) {
    const seconds = Number(process.env.BENCH_SOAK_SECONDS ?? 60);
    const { pid, url } = ctx.gateway;
    ctx.log(
      `soak: non-stream ×${CONNECTIONS} for ${seconds} s, memory read ${READINGS_PER_WINDOW}× per ${WINDOW_MS / 1000} s window`,
    );
    await ctx.upstream.reset();

    const read = async (atSec: number): Promise<Reading> => {
      const heap = await heapBytes(url);
      const rss = rssBytes(pid);
      return { atSec, rssMb: toMb(rss), heapMb: toMb(heap.used), outsideHeapMb: toMb(rss - heap.total) };
    };
    const idle = await read(0);
    ctx.log(`  idle: RSS ${idle.rssMb.toFixed(1)} MB, heap ${idle.heapMb.toFixed(1)} MB`);
    const windows: Window[] = [];
    let current: Reading[] = [];
    let allReadings: Reading[] = [];
    const startedAt = performance.now();
    const timer = setInterval(() => {
      const atSec = (performance.now() - startedAt) / 1000;
      void read(atSec).then((r) => {
        current.push(r);
        allReadings.push(r);
        if (current.length < READINGS_PER_WINDOW) return;
        const w = summarise(current, atSec);
        current = [];
        windows.push(w);
        ctx.log(
          `  ${atSec.toFixed(0).padStart(4)} s  RSS ${w.rssMin.toFixed(1)}–${w.rssMax.toFixed(1)} MB  heap ${w.heapMin.toFixed(1)}–${w.heapMax.toFixed(1)} MB  outside heap ≥ ${w.outsideHeapMin.toFixed(1)} MB`,
        );
      });
    }, WINDOW_MS / READINGS_PER_WINDOW);
    let result: Awaited<ReturnType<typeof load>>;
    try {
      result = await load(ctx.viaGateway, CHAT_BODY, CONNECTIONS, seconds);
    } finally {
      clearInterval(timer);
    }
    const end = await read((performance.now() - startedAt) / 1000);
    allReadings = [...allReadings, end];
    if (result.non2xx > 0 || result.errors > 0)
      ctx.log(`  warning: ${result.non2xx} non-2xx, ${result.errors} errors`);

    const secondHalf = windows.filter((w) => w.atSec >= seconds / 2);
    const rssSlope = slope(secondHalf.map((w) => ({ x: w.atSec / 60, y: w.rssMin })));
    const heapSlope = slope(secondHalf.map((w) => ({ x: w.atSec / 60, y: w.heapMin })));
    const outsideSlope = slope(secondHalf.map((w) => ({ x: w.atSec / 60, y: w.outsideHeapMin })));
    const maxRss = Math.max(...allReadings.map((r) => r.rssMb));
    const f = (n: number) => n.toFixed(1);
    const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(2)}`;
    const rows: Row[] = [
      {
        label: `soak ${seconds} s non-stream ×${CONNECTIONS} req/s (${result.requests.toLocaleString('en-US')} req)`,
        direct: '—',
        gateway: Math.round(result.rps).toLocaleString('en-US'),
        comparison: `p50/p99 ${result.p50}/${result.p99} ms`,
      },
      {
        label: 'soak gateway RSS idle/end/max MB',
        direct: '—',
        gateway: `${f(idle.rssMb)}/${f(end.rssMb)}/${f(maxRss)}`,
        comparison: `floor ${signed(rssSlope)} MB/min 2nd half`,
      },
      {
        label: 'soak gateway heap used idle/end MB',
        direct: '—',
        gateway: `${f(idle.heapMb)}/${f(end.heapMb)}`,
        comparison: `floor ${signed(heapSlope)} MB/min 2nd half`,
      },
      {
        label: 'soak gateway RSS outside the V8 heap idle/end MB',
        direct: '—',
        gateway: `${f(idle.outsideHeapMb)}/${f(end.outsideHeapMb)}`,
        comparison: `floor ${signed(outsideSlope)} MB/min 2nd half`,
      },
    ];
    const targets: TargetCheck[] = [
      {
        description: `soak: no memory growth (gateway RSS floor slope over the 2nd half < ${MAX_SLOPE_MB_PER_MIN} MB/min)`,
        actual: `${signed(rssSlope)} MB/min over ${secondHalf.length} windows (heap floor ${signed(heapSlope)}, outside heap ${signed(outsideSlope)} MB/min)`,
        met: rssSlope < MAX_SLOPE_MB_PER_MIN,
      },
    ];
    return {
      rows,
      targets,
      data: {
        seconds,
        connections: CONNECTIONS,
        load: result,
        idle,
        end,
        windows,
        rssFloorSlopeMbPerMin: rssSlope,
        heapFloorSlopeMbPerMin: heapSlope,
        outsideHeapFloorSlopeMbPerMin: outsideSlope,
      },
    };
  },
};
