/**
 * What tracing costs: CPU per request of the serving process with tracing off (the default), off on a
 * baseline checkout built without tracing code (`BENCH_BASELINE_ROOT`, optional), and on (every span
 * exported to a local OTLP sink). Rounds alternate between the gateways so drift hits each alike; the
 * median round counts.
 */
import { createServer } from 'node:http';
import type { BenchPhase, Row, Target } from '../lib/context.js';
import { type GatewayProcess, startGatewayProcess } from '../lib/gateway-process.js';
import { CHAT_BODY, load, loadWithCpu } from '../lib/measure.js';

const ROUNDS = Number(process.env.BENCH_TRACING_ROUNDS ?? 5);
const CONNECTIONS = 32;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** An OTLP/HTTP endpoint that accepts every export and keeps nothing. */
async function startSink(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export const tracingPhase: BenchPhase = {
  name: 'tracing',
  async run(ctx) {
    const sink = await startSink();
    const gateways: Array<{ label: string; gw: GatewayProcess }> = [];
    try {
      const baseline = process.env.BENCH_BASELINE_ROOT;
      if (baseline)
        gateways.push({
          label: 'baseline (no tracing code)',
          gw: await startGatewayProcess(ctx.upstream.v1, { root: baseline }),
        });
      gateways.push({ label: 'tracing off', gw: await startGatewayProcess(ctx.upstream.v1) });
      gateways.push({
        label: 'tracing on (OTLP/HTTP)',
        gw: await startGatewayProcess(ctx.upstream.v1, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url } }),
      });
      const targets = gateways.map(
        ({ gw }): Target => ({
          name: 'gateway',
          v1: gw.v1,
          headers: { authorization: `Bearer ${gw.apiKey}` },
        }),
      );
      for (const t of targets) await load(t, CHAT_BODY, 8, 1);
      const cpu: number[][] = gateways.map(() => []);
      const rps: number[][] = gateways.map(() => []);
      for (let round = 0; round < ROUNDS; round++) {
        for (const [i, { label, gw }] of gateways.entries()) {
          ctx.log(`tracing: round ${round + 1}/${ROUNDS}, ${label}`);
          const r = await loadWithCpu(targets[i]!, CHAT_BODY, CONNECTIONS, ctx.durationSec, gw.pid);
          if (r.non2xx > 0 || r.errors > 0) ctx.log(`  warning: ${r.non2xx} non-2xx, ${r.errors} errors`);
          cpu[i]!.push(r.cpuUsPerRequest);
          rps[i]!.push(r.rps);
        }
      }
      const off = median(cpu[gateways.findIndex((g) => g.label === 'tracing off')]!);
      const rows: Row[] = gateways.map(({ label }, i) => ({
        label: `non-stream ×${CONNECTIONS}, ${label}: CPU µs/req (req/s)`,
        direct: '',
        gateway: `${median(cpu[i]!).toFixed(0)} (${Math.round(median(rps[i]!))})`,
        comparison: `${(((median(cpu[i]!) - off) / off) * 100).toFixed(1)}% vs off`,
      }));
      return { rows, targets: [], data: { rounds: ROUNDS, labels: gateways.map((g) => g.label), cpu, rps } };
    } finally {
      await Promise.all(gateways.map(({ gw }) => gw.stop()));
      await sink.close();
    }
  },
};
