import {
  type Attributes,
  ROOT_CONTEXT,
  type Tracer as SdkTracer,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import type { UsageOutcome } from '../billing/meter.js';
import type { Config } from '../config/schema.js';
import { platformVersion } from '../discovery/platform-version.js';
import { ApiError } from '../shared/errors.js';
import type { AttemptTrace, RequestTrace, Tracer, TraceStart } from './tracing.js';

type TracingConfig = Config['tracing'] & { endpoint: string };

/** Where each provider's requests go, for `server.address` / `server.port`. */
type ProviderAddresses = Map<string, Attributes>;

/**
 * Longest attribute value exported, in characters. Spans wait in the export queue (up to 2,048 of
 * them), and a captured prompt can be as large as a request body: without a cap a slow collector
 * would hold gigabytes.
 */
const ATTRIBUTE_VALUE_LIMIT = 16 * 1024;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Request parameters recorded as `gen_ai.request.*` attributes, by body field. */
const REQUEST_PARAMETERS: ReadonlyArray<[field: string, attribute: string]> = [
  ['temperature', 'gen_ai.request.temperature'],
  ['top_p', 'gen_ai.request.top_p'],
  ['max_completion_tokens', 'gen_ai.request.max_tokens'],
  ['max_tokens', 'gen_ai.request.max_tokens'],
  ['seed', 'gen_ai.request.seed'],
  ['frequency_penalty', 'gen_ai.request.frequency_penalty'],
  ['presence_penalty', 'gen_ai.request.presence_penalty'],
  ['n', 'gen_ai.request.choice.count'],
];

/**
 * Traces over OTLP/HTTP with the OpenTelemetry SDK: a server span per inference request and a client
 * span per upstream attempt, with the GenAI semantic-convention attributes. Spans are batched and
 * exported in the background; an unreachable collector loses spans, never requests.
 */
export class OtelTracer implements Tracer {
  private readonly provider: BasicTracerProvider;
  private readonly tracer: SdkTracer;
  private readonly addresses: ProviderAddresses;
  /** Requests in flight by request id, so an adapter's attempt finds its parent. */
  private readonly active = new Map<string, OtelRequestTrace>();

  constructor(
    private readonly config: TracingConfig,
    providers: Config['providers'],
    logger: Pick<Logger, 'warn'>,
  ) {
    const exporter = new OTLPTraceExporter({ url: config.endpoint, headers: config.headers });
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': config.serviceName,
        'service.version': platformVersion(),
      }),
      spanLimits: { attributeValueLengthLimit: ATTRIBUTE_VALUE_LIMIT },
      spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: config.flushIntervalMs })],
    });
    this.tracer = this.provider.getTracer('simosphere', platformVersion());
    this.addresses = new Map(
      providers.map((p) => [p.id, p.type === 'openai-compatible' ? serverAddress(p.baseUrl, logger) : {}]),
    );
  }

  start(start: TraceStart): RequestTrace {
    const model = typeof start.body.model === 'string' ? start.body.model : '';
    const attributes: Attributes = {
      'gen_ai.operation.name': start.operation,
      'gen_ai.request.model': model,
      'simosphere.request.id': start.requestId,
      'simosphere.tenant.id': start.tenantId,
      'simosphere.streamed': start.streamed,
    };
    for (const [field, attribute] of REQUEST_PARAMETERS) {
      const value = start.body[field];
      if (typeof value === 'number') attributes[attribute] = value;
    }
    if (this.config.captureContent) {
      const input = start.body.messages ?? start.body.input;
      if (input !== undefined) attributes['gen_ai.input.messages'] = JSON.stringify(input);
    }
    const span = this.tracer.startSpan(
      `${start.operation} ${model}`,
      { kind: SpanKind.SERVER, attributes },
      parentContext(start.traceparent),
    );
    const request = new OtelRequestTrace(
      this.tracer,
      span,
      start.operation,
      this.addresses,
      this.config.captureContent,
      () => this.active.delete(start.requestId),
    );
    this.active.set(start.requestId, request);
    return request;
  }

  attempt(requestId: string, provider: string, upstreamModel: string): AttemptTrace | undefined {
    return this.active.get(requestId)?.attempt(provider, upstreamModel);
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }
}

class OtelRequestTrace implements RequestTrace {
  constructor(
    private readonly tracer: SdkTracer,
    private readonly span: Span,
    private readonly operation: string,
    private readonly addresses: ProviderAddresses,
    private readonly captureContent: boolean,
    private readonly onEnd: () => void,
  ) {}

  attempt(provider: string, upstreamModel: string): AttemptTrace {
    const span = this.tracer.startSpan(
      `${this.operation} ${upstreamModel}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.operation.name': this.operation,
          'gen_ai.request.model': upstreamModel,
          'gen_ai.provider.name': provider,
          ...this.addresses.get(provider),
        },
      },
      trace.setSpan(ROOT_CONTEXT, this.span),
    );
    const sc = span.spanContext();
    const flags = sc.traceFlags.toString(16).padStart(2, '0');
    return {
      headers: { traceparent: `00-${sc.traceId}-${sc.spanId}-${flags}` },
      end: (failure) => {
        if (failure) {
          span.setAttribute('error.type', failure.kind);
          if (failure.status !== undefined) span.setAttribute('http.response.status_code', failure.status);
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
        span.end();
      },
    };
  }

  settled(o: UsageOutcome): void {
    const s = this.span;
    s.setAttribute('http.response.status_code', o.status);
    if (o.cache) s.setAttribute('simosphere.cache', o.cache);
    if (!o.answered) {
      s.setAttribute('error.type', String(o.status));
      s.setStatus({ code: SpanStatusCode.ERROR });
      return;
    }
    if (o.provider) s.setAttribute('gen_ai.provider.name', o.provider);
    if (o.upstreamModel) s.setAttribute('gen_ai.response.model', o.upstreamModel);
    if (o.usage) {
      s.setAttribute('gen_ai.usage.input_tokens', o.usage.promptTokens);
      s.setAttribute('gen_ai.usage.output_tokens', o.usage.completionTokens);
    }
    if (this.captureContent)
      s.setAttribute(
        'gen_ai.output.messages',
        JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: o.completionText }] }]),
      );
  }

  failed(err: unknown): void {
    // Only our own error codes and messages: an unexpected error's message may carry anything.
    const known = err instanceof ApiError;
    this.span.setAttribute('error.type', known ? err.code : '_OTHER');
    this.span.setStatus({ code: SpanStatusCode.ERROR, ...(known ? { message: err.message } : {}) });
  }

  end(): void {
    this.onEnd();
    this.span.end();
  }
}

/** The client's trace as the parent context, when its `traceparent` is well-formed. */
function parentContext(traceparent: string | undefined) {
  const m = traceparent ? TRACEPARENT.exec(traceparent.trim()) : null;
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: m[1]!,
    spanId: m[2]!,
    traceFlags: Number.parseInt(m[3]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  });
}

function serverAddress(baseUrl: string, logger: Pick<Logger, 'warn'>): Attributes {
  try {
    const url = new URL(baseUrl);
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    return { 'server.address': url.hostname.replace(/^\[|\]$/g, ''), 'server.port': port };
  } catch (err) {
    logger.warn({ err }, 'provider base URL unreadable for traces');
    return {};
  }
}
