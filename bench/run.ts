/**
 * `npm run bench`: starts the fake upstream and the gateway (as separate processes), then runs each
 * phase in `PHASES` and prints one table of direct-vs-gateway figures plus the targets from the issue.
 * Results also go to bench/results/latest.json. Env: BENCH_DURATION (s per load run, default 5),
 * BENCH_TTFB_REQUESTS (default 300), BENCH_PHASES (comma-separated phase names to run), BENCH_SOAK_SECONDS
 * (default 60), BENCH_STREAMS (concurrent streams, default 1000), BENCH_SEED_RECORDS (usage rows the
 * data-size phase stores first, default 1,000,000), BENCH_WORKERS (default 2), BENCH_REUSE_PORT (1: SO_REUSEPORT),
 * BENCH_BASELINE_ROOT (a built checkout the tracing phase compares with), BENCH_TRACING_ROUNDS (default 5).
 */
import { fileURLToPath } from 'node:url';
import { startFakeUpstream } from '../test/support/fake-upstream-process.js';
import { type BareProxy, startBareProxy } from './lib/bare-proxy-process.js';
import type { BenchContext, BenchPhase, Row, TargetCheck } from './lib/context.js';
import { buildProject, startGatewayProcess } from './lib/gateway-process.js';
import { machine, printTable, writeResults } from './lib/report.js';
import { dataSizePhase } from './phases/data-size.js';
import { firstBytePhase } from './phases/first-byte.js';
import { limiterPhase } from './phases/limiter.js';
import { meteringPhase } from './phases/metering.js';
import { pacedStreamPhase } from './phases/paced-stream.js';
import { replicasPhase } from './phases/replicas.js';
import { responseCachePhase } from './phases/response-cache.js';
import { soakPhase } from './phases/soak.js';
import { streamsPhase } from './phases/streams.js';
import { surfacesPhase } from './phases/surfaces.js';
import { throughputPhase } from './phases/throughput.js';
import { tracingPhase } from './phases/tracing.js';
import { workersPhase } from './phases/workers.js';

/** Later phases (limiter, metering, replicas) are appended here. */
const PHASES: BenchPhase[] = [
  throughputPhase,
  firstBytePhase,
  pacedStreamPhase,
  meteringPhase,
  surfacesPhase,
  dataSizePhase,
  workersPhase,
  limiterPhase,
  tracingPhase,
  responseCachePhase,
  replicasPhase,
  streamsPhase,
  soakPhase,
];
const RESULTS_PATH = fileURLToPath(new URL('./results/latest.json', import.meta.url));

const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const durationSec = Number(process.env.BENCH_DURATION ?? 5);
  const only = process.env.BENCH_PHASES?.split(',').map((s) => s.trim());
  const phases = only ? PHASES.filter((p) => only.includes(p.name)) : PHASES;
  const startedAt = Date.now();

  log('building (npm run build)…');
  buildProject(log);
  const upstream = await startFakeUpstream();
  let gateway: Awaited<ReturnType<typeof startGatewayProcess>> | undefined;
  let bareProxy: BareProxy | undefined;
  try {
    gateway = await startGatewayProcess(upstream.v1);
    bareProxy = await startBareProxy(upstream.v1);
    log(`fake upstream ${upstream.url} (pid ${upstream.pid}), gateway ${gateway.url} (pid ${gateway.pid})`);
    const ctx: BenchContext = {
      upstream,
      gateway,
      direct: { name: 'direct', v1: upstream.v1, headers: {} },
      viaGateway: { name: 'gateway', v1: gateway.v1, headers: { authorization: `Bearer ${gateway.apiKey}` } },
      viaBareProxy: { name: 'bare proxy', v1: bareProxy.v1, headers: {}, pid: bareProxy.pid },
      durationSec,
      log,
    };
    const rows: Row[] = [];
    const targets: TargetCheck[] = [];
    const data: Record<string, unknown> = {};
    for (const phase of phases) {
      const result = await phase.run(ctx);
      rows.push(...result.rows);
      targets.push(...result.targets);
      data[phase.name] = result.data;
    }
    const m = machine();
    log('');
    log(`SIMOSphere bench: ${m.cores} × ${m.cpu}, ${m.memoryGb} GB, Node ${m.node}, ${m.platform}`);
    printTable(rows, targets, log);
    const elapsed = (Date.now() - startedAt) / 1000;
    log(`\n(${elapsed.toFixed(0)} s; results in bench/results/latest.json)`);
    writeResults(RESULTS_PATH, {
      date: new Date().toISOString(),
      machine: m,
      durationSec,
      elapsedSec: elapsed,
      targets,
      rows,
      phases: data,
    });
  } finally {
    await bareProxy?.stop();
    await gateway?.stop();
    await upstream.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
