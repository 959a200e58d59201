/**
 * The Responses and Messages surfaces streamed through translation: the upstream streams Chat
 * Completions, the gateway turns each chunk into Responses or Anthropic events. Compared with the same
 * stream relayed as chat, on the same gateway: what translation costs per request.
 */
import type { BenchPhase, Row, TargetCheck } from '../lib/context.js';
import { type LoadResult, loadWithCpu, STREAM_BODY } from '../lib/measure.js';

const CONNECTIONS = 8;
const MODEL = STREAM_BODY.model;

const SURFACES = [
  { name: 'chat (relayed)', path: '/chat/completions', body: STREAM_BODY },
  { name: 'responses', path: '/responses', body: { model: MODEL, input: 'Hello', stream: true } },
  {
    name: 'messages',
    path: '/messages',
    body: { model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: 'Hello' }], stream: true },
  },
] as const;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export const surfacesPhase: BenchPhase = {
  name: 'surfaces',
  async run(ctx) {
    const rows: Row[] = [];
    const targets: TargetCheck[] = [];
    const data: Record<string, LoadResult & { cpuUsPerRequest: number }> = {};
    await ctx.upstream.reset();
    for (const s of SURFACES)
      await loadWithCpu(ctx.viaGateway, s.body, CONNECTIONS, 1, ctx.gateway.pid, s.path);
    for (const s of SURFACES) {
      ctx.log(`surfaces: stream ×${CONNECTIONS} ${s.name} (${ctx.durationSec} s)`);
      const r = await loadWithCpu(
        ctx.viaGateway,
        s.body,
        CONNECTIONS,
        ctx.durationSec,
        ctx.gateway.pid,
        s.path,
      );
      if (r.non2xx > 0 || r.errors > 0)
        ctx.log(`  warning: ${s.name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      data[s.name] = r;
    }
    const chat = data['chat (relayed)']!;
    for (const s of SURFACES.slice(1)) {
      const r = data[s.name]!;
      rows.push({
        label: `stream ×${CONNECTIONS} /v1${s.path} vs chat req/s`,
        direct: fmt(chat.rps),
        gateway: fmt(r.rps),
        comparison: `${((r.rps / chat.rps) * 100).toFixed(1)}%`,
      });
      rows.push({
        label: `stream ×${CONNECTIONS} /v1${s.path} vs chat CPU µs/req`,
        direct: chat.cpuUsPerRequest.toFixed(0),
        gateway: r.cpuUsPerRequest.toFixed(0),
        comparison: `${(r.cpuUsPerRequest / chat.cpuUsPerRequest).toFixed(2)}×`,
      });
      targets.push({
        description: `/v1${s.path} streamed through translation answers every request`,
        actual: `${r.requests} requests, ${r.non2xx} non-2xx, ${r.errors} errors`,
        met: r.requests > 0 && r.non2xx === 0 && r.errors === 0,
      });
    }
    return { rows, targets, data };
  },
};
