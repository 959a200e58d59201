/**
 * OpenTelemetry traces, received by a local OTLP/HTTP receiver: one server span per inference request
 * with the GenAI attributes, one client span per upstream attempt, `traceparent` on the upstream
 * request, the client's trace continued, and no prompt or completion exported unless opted in.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream-process.js';
import { type SignedUp, startTestGateway, type TestGateway } from '../support/gateway.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean | undefined>;
  status?: { code?: number };
}

const SECRET_PROMPT = 'the launch code is swordfish';
const SERVER = 2;
const CLIENT = 3;

/** A tiny OTLP/HTTP JSON receiver: every span it was sent, flattened. */
class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let raw = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
        if (req.url === '/v1/traces') this.collect(JSON.parse(raw.toString('utf8')));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (typeof address !== 'object' || !address) throw new Error('no address');
    this.url = `http://127.0.0.1:${address.port}`;
  }

  private collect(body: {
    resourceSpans: Array<{
      scopeSpans: Array<{
        spans: Array<
          Omit<ReceivedSpan, 'attributes'> & { attributes?: Array<{ key: string; value: OtlpValue }> }
        >;
      }>;
    }>;
  }): void {
    for (const rs of body.resourceSpans)
      for (const ss of rs.scopeSpans)
        for (const s of ss.spans) {
          const attributes: ReceivedSpan['attributes'] = {};
          for (const a of s.attributes ?? []) {
            const v = a.value;
            attributes[a.key] =
              v.stringValue ??
              (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue ?? v.boolValue));
          }
          this.spans.push({ ...s, attributes });
        }
  }

  /** The spans of the request with this id: its server span and that span's children. */
  async requestSpans(requestId: string, attempts: number, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const root = this.spans.find((s) => s.attributes['simosphere.request.id'] === requestId);
      const children = root ? this.spans.filter((s) => s.parentSpanId === root.spanId) : [];
      if ((root && children.length >= attempts) || Date.now() > deadline) return { root, children };
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let receiver: OtlpReceiver;
let a: FakeUpstream;
let b: FakeUpstream;
let gw: TestGateway;
let user: SignedUp;

const config = () => ({
  providers: [
    { id: 'a', type: 'openai-compatible' as const, baseUrl: a.v1 },
    { id: 'b', type: 'openai-compatible' as const, baseUrl: b.v1 },
  ],
  models: [
    {
      id: 'chain',
      routes: [
        { provider: 'a', model: 'model-on-a' },
        { provider: 'b', model: 'model-on-b' },
      ],
    },
  ],
});

const otelEnv = () => ({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' });

beforeAll(async () => {
  receiver = new OtlpReceiver();
  await receiver.start();
  [a, b] = await Promise.all([startFakeUpstream(), startFakeUpstream()]);
  gw = await startTestGateway({ env: otelEnv(), config: config() });
  user = await gw.signUp();
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([a?.stop(), b?.stop()]);
  await receiver?.stop();
});
beforeEach(async () => {
  await Promise.all([a.reset(), b.reset(), a.resetStats(), b.resetStats()]);
});

function chat(target: TestGateway, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return fetch(`${target.v1}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user.apiKey}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'chain', messages: [{ role: 'user', content: SECRET_PROMPT }], ...body }),
  });
}

describe('OpenTelemetry traces', () => {
  it('exports a request span with GenAI attributes and one child span per upstream attempt', async () => {
    await a.control('status:500', 1);
    const res = await chat(gw, { temperature: 0.5, max_tokens: 50 });
    expect(res.status).toBe(200);
    await res.json();
    const { root, children } = await receiver.requestSpans(res.headers.get('x-request-id')!, 2);
    expect(root).toBeDefined();
    expect(root!.kind).toBe(SERVER);
    expect(root!.name).toBe('chat chain');
    expect(root!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'chain',
      'gen_ai.response.model': 'model-on-b',
      'gen_ai.provider.name': 'b',
      'gen_ai.request.temperature': 0.5,
      'gen_ai.request.max_tokens': 50,
      'http.response.status_code': 200,
    });
    expect(root!.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(root!.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);

    // The failed attempt on a, then the one on b, each a client span under the request.
    expect(children).toHaveLength(2);
    const [onA, onB] = [
      children.find((s) => s.attributes['gen_ai.provider.name'] === 'a')!,
      children.find((s) => s.attributes['gen_ai.provider.name'] === 'b')!,
    ];
    expect(onA.kind).toBe(CLIENT);
    expect(onA.attributes).toMatchObject({
      'gen_ai.request.model': 'model-on-a',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(a.url).port),
      'error.type': 'status',
      'http.response.status_code': 500,
    });
    expect(onA.status?.code).toBe(2);
    expect(onB.attributes['error.type']).toBeUndefined();

    // Each upstream received the trace context of its own attempt.
    const received = (await b.stats()).lastRequest?.headers.traceparent;
    expect(received).toBe(`00-${root!.traceId}-${onB.spanId}-01`);
  });

  it('traces streams, continues the client’s trace, and exports no prompt or completion', async () => {
    const clientTrace = '0af7651916cd43dd8448eb211c80319c';
    const clientSpan = 'b7ad6b7169203331';
    const res = await chat(gw, { stream: true }, { traceparent: `00-${clientTrace}-${clientSpan}-01` });
    expect(res.status).toBe(200);
    await res.text();
    const { root, children } = await receiver.requestSpans(res.headers.get('x-request-id')!, 1);
    expect(root!.traceId).toBe(clientTrace);
    expect(root!.parentSpanId).toBe(clientSpan);
    expect(root!.attributes['simosphere.streamed']).toBe(true);
    expect(root!.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    expect(children).toHaveLength(1);
    expect((await a.stats()).lastRequest?.headers.traceparent).toBe(
      `00-${clientTrace}-${children[0]!.spanId}-01`,
    );
    const exported = JSON.stringify(receiver.spans);
    expect(exported).not.toContain('swordfish');
    expect(exported).not.toContain('Hello from fake upstream');
  });

  it('exports prompts and completions only when the operator opts in', async () => {
    const opted = await startTestGateway({
      env: { ...otelEnv(), OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' },
      config: config(),
    });
    try {
      user = await opted.signUp();
      const res = await chat(opted, {});
      await res.json();
      const { root } = await receiver.requestSpans(res.headers.get('x-request-id')!, 1);
      expect(String(root!.attributes['gen_ai.input.messages'])).toContain('swordfish');
      expect(String(root!.attributes['gen_ai.output.messages'])).toContain('Hello from fake upstream');
      // A prompt of megabytes is cut: spans wait in the export queue, which must not hold whole bodies.
      const long = await chat(opted, { messages: [{ role: 'user', content: 'x'.repeat(1024 * 1024) }] });
      expect(long.status).toBe(200);
      await long.json();
      const big = await receiver.requestSpans(long.headers.get('x-request-id')!, 1);
      const input = String(big.root!.attributes['gen_ai.input.messages']);
      expect(input.startsWith('[{"role":"user","content":"xxx')).toBe(true);
      expect(input.length).toBeLessThanOrEqual(16 * 1024);
    } finally {
      await opted.stop();
    }
  });

  it('is off without an endpoint or with OTEL_SDK_DISABLED, and never loads the SDK on the request path', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    expect(loadConfig({ env: {} }).tracing.endpoint).toBeUndefined();
    expect(loadConfig({ env }).tracing.endpoint).toBe('http://127.0.0.1:4318/v1/traces');
    expect(loadConfig({ env: { ...env, OTEL_SDK_DISABLED: 'true' } }).tracing.endpoint).toBeUndefined();
    expect(
      loadConfig({ env: { ...env, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/traces' } })
        .tracing.endpoint,
    ).toBe('http://collector:4318/traces');
    // Only the tracer module imports the SDK, and only it is loaded on demand.
    const source = (file: string) => readFileSync(new URL(`../../src/${file}`, import.meta.url), 'utf8');
    expect(source('observability/tracing.ts')).not.toMatch(/^import (?!type).*@opentelemetry/m);
    expect(source('observability/tracing.ts')).toContain("await import('./otel-tracer.js')");
    for (const file of ['container.ts', 'gateway/inference-pipeline.ts', 'observability/traced-adapter.ts'])
      expect(source(file)).not.toMatch(/^import (?!type)[^;]*(@opentelemetry|otel-tracer)/m);
  });
});
