/**
 * What the response cache costs when it does not help: CPU per request of the serving process for
 * distinct deterministic requests (temperature 0, a new prompt each time) on a gateway whose model has
 * no cache, and on one whose model caches them (each request a lookup miss, then its answer stored in
 * the database). Then the same request repeated, answered from the cache. Rounds alternate; medians count.
 */
import autocannon from 'autocannon';
import type { BenchPhase, Row } from '../lib/context.js';
import { type GatewayProcess, startGatewayProcess } from '../lib/gateway-process.js';
import { CHAT_BODY, processCpuMs } from '../lib/measure.js';

const ROUNDS = Number(process.env.BENCH_CACHE_ROUNDS ?? 3);
const CONNECTIONS = 32;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

let prompt = 0;

/** Load with a distinct prompt per request (`distinct`), or one request repeated; CPU µs per request of `gw`. */
async function measure(gw: GatewayProcess, durationSec: number, distinct: boolean) {
  const body = (n: number) =>
    JSON.stringify({ ...CHAT_BODY, temperature: 0, messages: [{ role: 'user', content: `Hello ${n}` }] });
  const before = processCpuMs(gw.pid);
  const result = await autocannon({
    url: `${gw.v1}/chat/completions`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.apiKey}` },
    connections: CONNECTIONS,
    duration: durationSec,
    requests: [
      {
        setupRequest: (req) => ({ ...req, body: body(distinct ? ++prompt : 0) }),
      },
    ],
  });
  const used = processCpuMs(gw.pid) - before;
  return {
    cpuUs: (used * 1000) / Math.max(1, result.requests.total),
    rps: result.requests.average,
    bad: result.non2xx + result.errors,
  };
}

export const responseCachePhase: BenchPhase = {
  name: 'response cache',
  async run(ctx) {
    const gateways: GatewayProcess[] = [];
    try {
      const plain = await startGatewayProcess(ctx.upstream.v1);
      gateways.push(plain);
      const cached = await startGatewayProcess(ctx.upstream.v1, {
        config: {
          models: [{ id: CHAT_BODY.model, routes: [{ provider: 'simulator' }], cache: { ttlSeconds: 3600 } }],
        },
      });
      gateways.push(cached);
      const runs = {
        'no cache, distinct requests': {
          gw: plain,
          distinct: true,
          cpu: [] as number[],
          rps: [] as number[],
        },
        'cache, every request a miss': {
          gw: cached,
          distinct: true,
          cpu: [] as number[],
          rps: [] as number[],
        },
        'cache, every request a hit': {
          gw: cached,
          distinct: false,
          cpu: [] as number[],
          rps: [] as number[],
        },
      };
      for (const gw of gateways) await measure(gw, 1, true);
      for (let round = 0; round < ROUNDS; round++)
        for (const [label, run] of Object.entries(runs)) {
          ctx.log(`response cache: round ${round + 1}/${ROUNDS}, ${label}`);
          const r = await measure(run.gw, ctx.durationSec, run.distinct);
          if (r.bad > 0) ctx.log(`  warning: ${r.bad} failed requests`);
          run.cpu.push(r.cpuUs);
          run.rps.push(r.rps);
        }
      const base = median(runs['no cache, distinct requests'].cpu);
      const rows: Row[] = Object.entries(runs).map(([label, run]) => ({
        label: `non-stream ×${CONNECTIONS}, ${label}: CPU µs/req (req/s)`,
        direct: '',
        gateway: `${median(run.cpu).toFixed(0)} (${Math.round(median(run.rps))})`,
        comparison: `${(((median(run.cpu) - base) / base) * 100).toFixed(1)}% vs no cache`,
      }));
      return {
        rows,
        targets: [],
        data: Object.fromEntries(Object.entries(runs).map(([l, r]) => [l, { cpu: r.cpu, rps: r.rps }])),
      };
    } finally {
      await Promise.all(gateways.map((gw) => gw.stop()));
    }
  },
};
