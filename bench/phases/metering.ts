/**
 * Sustained metered request rate on SQLite, and what metering costs per request: the same gateway with
 * the real meter (credit admission, reservation, write-ahead record, batched ledger writes) and with a
 * no-op meter, one after the other, under the same load.
 */
import type { BenchPhase, Row, TargetCheck } from '../lib/context.js';
import { CHAT_BODY, type LoadResult, load } from '../lib/measure.js';
import { startVariantServer, stopVariantServer } from '../lib/variant-process.js';

const CONNECTIONS = 32;
// Both processes start cold (JIT, SQLite page cache); measure them warm.
const WARMUP_SEC = 3;
const MIN_RATIO = 0.8;
const ROUNDS = 2;

async function run(
  meter: 'credit' | 'noop',
  upstreamV1: string,
  durationSec: number,
): Promise<{ result: LoadResult; records: number | null; answered: number }> {
  const server = await startVariantServer(upstreamV1, ['--meter', meter]);
  try {
    const target = {
      name: 'gateway' as const,
      v1: `${server.url}/v1`,
      headers: { authorization: `Bearer ${server.apiKey}` },
    };
    const warm = await load(target, CHAT_BODY, CONNECTIONS, WARMUP_SEC);
    const result = await load(target, CHAT_BODY, CONNECTIONS, durationSec);
    let records: number | null = null;
    if (meter === 'credit') {
      const usage = await fetch(`${server.url}/admin/usage`, {
        headers: { authorization: `Bearer ${server.apiKey}` },
      });
      records = ((await usage.json()) as { total: { requests: number } }).total.requests;
    }
    return { result, records, answered: warm.requests + result.requests };
  } finally {
    await stopVariantServer(server);
  }
}

export const meteringPhase: BenchPhase = {
  name: 'metering',
  async run(ctx) {
    ctx.log(
      `metering: no-op meter vs credit meter, non-stream ×${CONNECTIONS} (${ctx.durationSec} s each, SQLite)`,
    );
    await ctx.upstream.reset();
    // Alternating rounds, best of each, so a noisy neighbour on the machine does not decide the ratio.
    let noop: Awaited<ReturnType<typeof run>> | undefined;
    let metered: Awaited<ReturnType<typeof run>> | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      const n = await run('noop', ctx.upstream.v1, ctx.durationSec);
      const m = await run('credit', ctx.upstream.v1, ctx.durationSec);
      if (!noop || n.result.rps > noop.result.rps) noop = n;
      if (!metered || m.result.rps > metered.result.rps) metered = m;
      ctx.log(
        `  round ${round + 1}: no-op ${Math.round(n.result.rps)} req/s, credit meter ${Math.round(m.result.rps)} req/s`,
      );
    }
    if (!noop || !metered) throw new Error('no metering rounds ran');
    const ratio = metered.result.rps / noop.result.rps;
    // At saturation, the extra time per request is the meter's share of the event loop.
    const perRequestUs = 1e6 / metered.result.rps - 1e6 / noop.result.rps;
    const rows: Row[] = [
      {
        label: `metered non-stream ×${CONNECTIONS} req/s (no-op → credit meter)`,
        direct: Math.round(noop.result.rps).toLocaleString('en-US'),
        gateway: Math.round(metered.result.rps).toLocaleString('en-US'),
        comparison: `${(ratio * 100).toFixed(1)}%`,
      },
      {
        label: 'metering cost per request (µs of the saturated loop)',
        direct: '—',
        gateway: perRequestUs.toFixed(1),
        comparison: `p50 +${(metered.result.p50 - noop.result.p50).toFixed(2)} ms`,
      },
      {
        label: 'usage records written / requests answered',
        direct: '—',
        gateway: `${metered.records ?? '?'} / ${metered.answered}`,
        comparison: metered.records !== null && metered.records >= metered.answered ? 'complete' : 'MISSING',
      },
    ];
    const targets: TargetCheck[] = [
      {
        description: `metered throughput ≥ ${MIN_RATIO * 100}% of the same gateway without metering`,
        actual: `${(ratio * 100).toFixed(1)}%`,
        met: ratio >= MIN_RATIO,
      },
      {
        description: 'every answered request has a usage record',
        actual: `${metered.records} records / ${metered.answered} answered`,
        met: metered.records !== null && metered.records >= metered.answered,
      },
    ];
    return { rows, targets, data: { noop, metered, ratio, perRequestUs } };
  },
};
