/** Measurement primitives shared by phases: load runs, time to first byte, SSE chunk timing. */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { Pool } from 'undici';
import type { Target } from './context.js';

export const CHAT_BODY = { model: 'qwen/qwen3-8b', messages: [{ role: 'user', content: 'Hello' }] };
export const STREAM_BODY = { ...CHAT_BODY, stream: true };

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
}

/** Runs autocannon against `POST {v1}{path}` (chat completions by default) for `durationSec` seconds. */
export async function load(
  target: Target,
  body: unknown,
  connections: number,
  durationSec: number,
  path = '/chat/completions',
): Promise<LoadResult> {
  const result = await autocannon({
    url: `${target.v1}${path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: JSON.stringify(body),
    connections,
    duration: durationSec,
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface Distribution {
  p50: number;
  p99: number;
  mean: number;
  n: number;
}

export function distribution(samples: number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / (sorted.length || 1);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean, n: sorted.length };
}

/** A keep-alive connection to a target, for sequential timing loops. */
export function poolFor(target: Target): { pool: Pool; path: string } {
  const url = new URL(`${target.v1}/chat/completions`);
  return { pool: new Pool(url.origin, { connections: 1, pipelining: 1 }), path: url.pathname };
}

/**
 * Sequential requests, alternating between targets so drift (other load, CPU frequency) hits both
 * alike. Returns, per target, the times in ms from sending to the first body chunk.
 */
export async function timeToFirstByte(
  targets: Target[],
  body: unknown,
  requests: number,
  warmup = 500,
): Promise<Map<Target['name'], number[]>> {
  const pools = targets.map((t) => ({ target: t, ...poolFor(t) }));
  const payload = JSON.stringify(body);
  const samples = new Map<Target['name'], number[]>(targets.map((t) => [t.name, []]));
  try {
    for (let i = 0; i < warmup + requests; i++) {
      for (const { target, pool, path } of pools) {
        const started = performance.now();
        const res = await pool.request({
          path,
          method: 'POST',
          headers: { 'content-type': 'application/json', ...target.headers },
          body: payload,
        });
        let firstChunkAt = 0;
        for await (const _chunk of res.body) if (firstChunkAt === 0) firstChunkAt = performance.now();
        if (res.statusCode !== 200) throw new Error(`${target.name} answered ${res.statusCode}`);
        if (i >= warmup) samples.get(target.name)!.push(firstChunkAt - started);
      }
    }
  } finally {
    await Promise.all(pools.map((p) => p.pool.close()));
  }
  return samples;
}

export interface StreamTiming {
  /** ms from sending to the first event. */
  firstEvent: number;
  /** ms between consecutive events, `[DONE]` excluded. */
  gaps: number[];
  events: number;
}

/** One streamed request, timing every SSE event as it arrives. */
export async function timeStream(
  target: Target,
  pool: Pool,
  path: string,
  body: unknown,
): Promise<StreamTiming> {
  const started = performance.now();
  const res = await pool.request({
    path,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: JSON.stringify(body),
  });
  if (res.statusCode !== 200) throw new Error(`${target.name} answered ${res.statusCode}`);
  const arrivals: number[] = [];
  let buffer = '';
  for await (const chunk of res.body) {
    const at = performance.now();
    buffer += chunk.toString('utf8');
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      if (buffer.slice(0, end) !== 'data: [DONE]') arrivals.push(at);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
    }
  }
  return {
    firstEvent: (arrivals[0] ?? Number.NaN) - started,
    gaps: arrivals.slice(1).map((t, i) => t - arrivals[i]!),
    events: arrivals.length,
  };
}

/** CPU time (user + system) a process has used so far, in ms; NaN where /proc is unavailable. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}
// USER_HZ: 100 on every mainstream Linux build.
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * Runs a load and reports, besides the load figures, the CPU time one process spent per request.
 * CPU per request is steady even when other work on the machine steals cycles, unlike req/s.
 */
export async function loadWithCpu(
  target: Target,
  body: unknown,
  connections: number,
  durationSec: number,
  pid: number,
  path = '/chat/completions',
): Promise<LoadResult & { cpuUsPerRequest: number }> {
  const before = processCpuMs(pid);
  const result = await load(target, body, connections, durationSec, path);
  const used = processCpuMs(pid) - before;
  return { ...result, cpuUsPerRequest: (used * 1000) / Math.max(1, result.requests) };
}
