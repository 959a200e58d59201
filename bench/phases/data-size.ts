/**
 * Whether the cost of a request grows with the data already stored: the same gateway on an empty
 * database and on one holding 1,000,000 usage records (and their ledger debits), CPU time of the whole
 * gateway process (every thread) per request, measured in alternating rounds under the same load.
 */
import type { BenchPhase, Row, TargetCheck } from '../lib/context.js';
import { CHAT_BODY, loadWithCpu } from '../lib/measure.js';
import { startVariantServer, stopVariantServer, type VariantServer } from '../lib/variant-process.js';

const CONNECTIONS = 32;
const WARMUP_SEC = 3;
const ROUNDS = 3;
const MAX_GROWTH = 0.1;
const SEEDED_RECORDS = Number(process.env.BENCH_SEED_RECORDS ?? 1_000_000);

interface Sample {
  rps: number;
  cpuUsPerRequest: number;
}

async function measure(server: VariantServer, durationSec: number): Promise<Sample> {
  const target = {
    name: 'gateway' as const,
    v1: `${server.url}/v1`,
    headers: { authorization: `Bearer ${server.apiKey}` },
  };
  const r = await loadWithCpu(target, CHAT_BODY, CONNECTIONS, durationSec, server.child.pid!);
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${r.non2xx} non-2xx answers, ${r.errors} errors`);
  return { rps: r.rps, cpuUsPerRequest: r.cpuUsPerRequest };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

export const dataSizePhase: BenchPhase = {
  name: 'data-size',
  async run(ctx) {
    const records = SEEDED_RECORDS.toLocaleString('en-US');
    ctx.log(`data-size: CPU per request, empty database vs ${records} usage records stored (seeding…)`);
    await ctx.upstream.reset();
    const seededAt = performance.now();
    const [empty, seeded] = await Promise.all([
      startVariantServer(ctx.upstream.v1, []),
      startVariantServer(ctx.upstream.v1, ['--seed-usage', String(SEEDED_RECORDS)], 600_000),
    ]);
    const seedSec = (performance.now() - seededAt) / 1000;
    const samples = { empty: [] as Sample[], seeded: [] as Sample[] };
    try {
      for (const server of [empty, seeded]) await measure(server, WARMUP_SEC);
      // Alternating rounds, so drift on a shared machine hits both alike; the median of each is compared.
      for (let round = 0; round < ROUNDS; round++) {
        samples.empty.push(await measure(empty, ctx.durationSec));
        samples.seeded.push(await measure(seeded, ctx.durationSec));
        const [e, s] = [samples.empty.at(-1)!, samples.seeded.at(-1)!];
        ctx.log(
          `  round ${round + 1}: empty ${e.cpuUsPerRequest.toFixed(1)} µs/req (${Math.round(e.rps)} req/s), ` +
            `${records} rows ${s.cpuUsPerRequest.toFixed(1)} µs/req (${Math.round(s.rps)} req/s)`,
        );
      }
    } finally {
      await Promise.all([stopVariantServer(empty), stopVariantServer(seeded)]);
    }
    const cpuEmpty = median(samples.empty.map((s) => s.cpuUsPerRequest));
    const cpuSeeded = median(samples.seeded.map((s) => s.cpuUsPerRequest));
    const growth = cpuSeeded / cpuEmpty - 1;
    const rows: Row[] = [
      {
        label: `CPU µs per metered request ×${CONNECTIONS} (empty → ${records} usage rows)`,
        direct: cpuEmpty.toFixed(1),
        gateway: cpuSeeded.toFixed(1),
        comparison: `${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%`,
      },
      {
        label: `metered req/s ×${CONNECTIONS} (empty → ${records} usage rows)`,
        direct: Math.round(median(samples.empty.map((s) => s.rps))).toLocaleString('en-US'),
        gateway: Math.round(median(samples.seeded.map((s) => s.rps))).toLocaleString('en-US'),
        comparison: `seeded in ${seedSec.toFixed(0)} s`,
      },
    ];
    const targets: TargetCheck[] = [
      {
        description: `CPU per request with ${records} usage rows within ${MAX_GROWTH * 100}% of an empty database`,
        actual: `${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%`,
        met: Math.abs(growth) <= MAX_GROWTH,
      },
    ];
    return { rows, targets, data: { samples, cpuEmpty, cpuSeeded, growth, seedSec } };
  },
};
