/**
 * What the rate limiter costs per request: the same gateway without a limiter
 * (`limits.rateLimiting: false`), with the in-process limiter, and with the Redis limiter, under the
 * same non-streamed load. Two figures, because this machine is shared and throughput is noisy:
 *
 * - CPU time of the gateway process per request (from its `/metrics`), and for Redis also the Redis
 *   server's (`INFO cpu`), the least of the rounds: far less sensitive to other load than
 *   throughput; `none / limiter` is the throughput ratio of a CPU-bound gateway.
 * - Throughput (best round, the modes run round-robin, rotating which goes first, so background noise spreads evenly).
 *
 * Also times limiter decisions directly, without HTTP. Redis from BENCH_REDIS_URL (default
 * redis://127.0.0.1:6379); the Redis mode is skipped when it is not reachable. BENCH_LIMITER_ROUNDS
 * (default 3) sets the rounds.
 */
import { connect } from 'node:net';
import type { AuthContext } from '../../src/accounts/authenticator.js';
import { MemoryWindowStore } from '../../src/ratelimit/memory-window-store.js';
import { RedisWindowStore } from '../../src/ratelimit/redis-window-store.js';
import { SlidingWindowLimiter } from '../../src/ratelimit/sliding-window-limiter.js';
import type { WindowStore } from '../../src/ratelimit/types.js';
import { closeRedis, connectRedis, type Redis } from '../../src/redis/client.js';
import { randomBase62 } from '../../src/shared/ids.js';
import type { BenchContext, BenchPhase, PhaseResult, Row, TargetCheck } from '../lib/context.js';
import { CHAT_BODY, type LoadResult, load } from '../lib/measure.js';
import { startVariantServer, stopVariantServer } from '../lib/variant-process.js';

const CONNECTIONS = 32;
const WARMUP_SEC = 1;
const ROUNDS = Number(process.env.BENCH_LIMITER_ROUNDS ?? 3);
const DIRECT_DECISIONS = 20_000;

type Mode = 'off' | 'memory' | 'redis';

interface ModeRun {
  rps: number[];
  p50: number[];
  non2xx: number;
  errors: number;
  /** `rate_limiter` of /readyz after each run (`ok`, `degraded`, `disabled`). */
  status: string[];
  cpuUs: number[];
  redisCpuUs: number[];
}

async function redisReachable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname, port: Number(u.port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function gatewayCpuSeconds(url: string): Promise<number | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^simosphere_process_cpu_seconds_total (\S+)$/m.exec(text);
  return match ? Number(match[1]) : null;
}

async function redisCpuSeconds(client: Redis | undefined): Promise<number | null> {
  if (!client) return null;
  const info = await client.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
}

interface ModeResult extends LoadResult {
  status: string;
  /** Gateway CPU µs per request during the measured run; null without /metrics. */
  cpuUs: number | null;
  /** Redis server CPU µs per request (Redis mode only). */
  redisCpuUs: number | null;
}

async function runMode(mode: Mode, ctx: BenchContext, redisUrl: string, redis?: Redis): Promise<ModeResult> {
  const server = await startVariantServer(ctx.upstream.v1, ['--limiter', mode, '--redis-url', redisUrl]);
  try {
    const target = {
      name: 'gateway' as const,
      v1: `${server.url}/v1`,
      headers: { authorization: `Bearer ${server.apiKey}` },
    };
    await load(target, CHAT_BODY, 8, WARMUP_SEC);
    const cpuBefore = await gatewayCpuSeconds(server.url);
    const redisBefore = mode === 'redis' ? await redisCpuSeconds(redis) : null;
    const result = await load(target, CHAT_BODY, CONNECTIONS, ctx.durationSec);
    const cpuAfter = await gatewayCpuSeconds(server.url);
    const redisAfter = mode === 'redis' ? await redisCpuSeconds(redis) : null;
    const perRequest = (before: number | null, after: number | null) =>
      before === null || after === null || result.requests === 0
        ? null
        : ((after - before) * 1e6) / result.requests;
    const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { checks: Record<string, string> };
    return {
      ...result,
      status: ready.checks.rate_limiter ?? '?',
      cpuUs: perRequest(cpuBefore, cpuAfter),
      redisCpuUs: perRequest(redisBefore, redisAfter),
    };
  } finally {
    await stopVariantServer(server);
  }
}

/**
 * Limiter decisions without HTTP: µs per decision one at a time (latency) and decisions/s with
 * `CONNECTIONS` in flight (throughput), on a plan with the largest default limit (6,000/min).
 */
async function timeDecisions(
  store: WindowStore,
): Promise<{ latencyUs: number; perSecond: number; cpuUs: number }> {
  const limiter = new SlidingWindowLimiter({ plans: { enterprise: { rpm: 6_000 } }, store });
  const tenant = (i: number) =>
    ({
      tenant: { id: `bench_${i}`, plan: 'enterprise', rpmOverride: null },
      key: { id: 'k', scopes: ['inference'] },
    }) as unknown as AuthContext;
  // Many tenants, so no log fills up and every decision admits (the common case).
  const tenants = Array.from({ length: 64 }, (_, i) => tenant(i));
  const sequential = Math.min(2_000, DIRECT_DECISIONS);
  let started = performance.now();
  for (let i = 0; i < sequential; i++) await limiter.check(tenants[i % tenants.length]!);
  const latencyUs = ((performance.now() - started) * 1000) / sequential;
  started = performance.now();
  const cpuBefore = process.cpuUsage();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < DIRECT_DECISIONS) await limiter.check(tenants[next++ % tenants.length]!);
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  const perSecond = DIRECT_DECISIONS / ((performance.now() - started) / 1000);
  await limiter.close();
  // This process's CPU per decision: what a limiter decision costs the gateway's event loop.
  return { latencyUs, perSecond, cpuUs: (cpu.user + cpu.system) / DIRECT_DECISIONS };
}

// Other work on the machine only ever adds time: the least-disturbed round is the closest to the truth.
const least = (xs: number[]) => (xs.length === 0 ? Number.NaN : Math.min(...xs));
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / (xs.length || 1);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export async function limiterPhaseRun(ctx: BenchContext): Promise<PhaseResult> {
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const modes: Mode[] = ['off', 'memory'];
  const redis = (await redisReachable(redisUrl))
    ? await connectRedis(redisUrl, 'simosphere:bench')
    : undefined;
  if (redis) modes.push('redis');
  else ctx.log(`limiter: Redis not reachable at ${redisUrl}; measuring without the Redis mode`);
  ctx.log(
    `limiter: no limiter vs ${modes.slice(1).join(' vs ')}, non-stream ×${CONNECTIONS} (${ctx.durationSec} s each, ${ROUNDS} rounds)`,
  );
  await ctx.upstream.reset();
  const runs = new Map<Mode, ModeRun>(
    modes.map((m) => [m, { rps: [], p50: [], non2xx: 0, errors: 0, status: [], cpuUs: [], redisCpuUs: [] }]),
  );
  try {
    for (let round = 0; round < ROUNDS; round++)
      // Each round starts with a different mode, so no mode always runs right after another's shutdown.
      for (const mode of modes.map((_, i) => modes[(i + round) % modes.length]!)) {
        const r = await runMode(mode, ctx, redisUrl, redis);
        const run = runs.get(mode)!;
        run.rps.push(r.rps);
        run.p50.push(r.p50);
        run.non2xx += r.non2xx;
        run.errors += r.errors;
        run.status.push(r.status);
        if (r.cpuUs !== null) run.cpuUs.push(r.cpuUs);
        if (r.redisCpuUs !== null) run.redisCpuUs.push(r.redisCpuUs);
      }
  } finally {
    if (redis) await closeRedis(redis);
  }

  const base = runs.get('off')!;
  const baseRps = Math.max(...base.rps);
  const baseCpu = least(base.cpuUs);
  const rows: Row[] = [];
  const targets: TargetCheck[] = [];
  const data: Record<string, unknown> = { connections: CONNECTIONS, rounds: ROUNDS };
  for (const mode of modes) {
    const run = runs.get(mode)!;
    const rps = Math.max(...run.rps);
    const cpu = least(run.cpuUs);
    const redisCpu = least(run.redisCpuUs);
    const ratio = rps / baseRps;
    const cpuRatio = baseCpu / cpu;
    data[mode] = {
      ...run,
      bestRps: rps,
      meanRps: mean(run.rps),
      ratio,
      cpuUsLeast: cpu,
      cpuRatio,
      redisCpuUsLeast: redisCpu,
    };
    if (mode === 'off') continue;
    const label = mode === 'memory' ? 'in-process' : 'Redis';
    rows.push({
      label: `gateway CPU µs per request (none → ${label} limiter; ratio = none/limiter)`,
      direct: baseCpu.toFixed(0),
      gateway: cpu.toFixed(0),
      comparison: `${(cpuRatio * 100).toFixed(1)}%`,
    });
    if (mode === 'redis')
      rows.push({
        label: 'Redis server CPU µs per request (Lua script)',
        direct: '—',
        gateway: redisCpu.toFixed(1),
        comparison: `${((baseCpu / (cpu + redisCpu)) * 100).toFixed(1)}% incl. Redis`,
      });
    rows.push({
      label: `non-stream ×${CONNECTIONS} best req/s (none → ${label} limiter; noisy here)`,
      direct: fmt(baseRps),
      gateway: fmt(rps),
      comparison: `${(ratio * 100).toFixed(1)}%`,
    });
    targets.push({
      description: `${label} limiter: every request admitted and answered, limiter healthy throughout`,
      actual: `${run.non2xx} non-2xx, ${run.errors} errors, status ${[...new Set(run.status)].join('/')}`,
      met: run.non2xx === 0 && run.errors === 0 && run.status.every((s) => s === 'ok'),
    });
  }
  const direct: Array<[string, WindowStore, () => Promise<void>]> = [
    ['in-process', new MemoryWindowStore(), async () => {}],
  ];
  if (modes.includes('redis')) {
    const client = await connectRedis(redisUrl, 'simosphere:bench');
    const fallback = new MemoryWindowStore();
    const store = new RedisWindowStore({ client, fallback, keyPrefix: `bench:${randomBase62(8)}:` });
    direct.push(['Redis', store, () => closeRedis(client)]);
  }
  for (const [label, store, release] of direct) {
    const timing = await timeDecisions(store);
    await release();
    // The decision's CPU against what a whole request costs the gateway without a limiter: the
    // throughput ratio of a CPU-bound gateway, without the noise of end-to-end runs.
    const estimate = baseCpu / (baseCpu + timing.cpuUs);
    data[`direct-${label}`] = { ...timing, estimatedRatio: estimate };
    rows.push({
      label: `${label} limiter decision without HTTP: gateway-side CPU µs (wall µs one at a time; decisions/s ×${CONNECTIONS})`,
      direct: '—',
      gateway: timing.cpuUs.toFixed(1),
      comparison: `${timing.latencyUs.toFixed(0)} µs; ${fmt(timing.perSecond)}/s`,
    });
    rows.push({
      label: `${label} limiter: estimated throughput ratio (request CPU ${baseCpu.toFixed(0)} µs + decision CPU)`,
      direct: '—',
      gateway: '—',
      comparison: `${(estimate * 100).toFixed(1)}%`,
    });
  }
  return { rows, targets, data };
}

export const limiterPhase: BenchPhase = { name: 'limiter', run: limiterPhaseRun };
