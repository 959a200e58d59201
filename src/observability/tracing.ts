import type { Logger } from 'pino';
import type { UsageOutcome } from '../billing/meter.js';
import type { Config } from '../config/schema.js';

/** The GenAI operation a request performs (`gen_ai.operation.name`). */
export type GenAiOperation = 'chat' | 'embeddings';

/** What a request's span is started with. */
export interface TraceStart {
  operation: GenAiOperation;
  requestId: string;
  tenantId: string;
  /** The request body: the model and sampling parameters become attributes; content only on opt-in. */
  body: Record<string, unknown>;
  streamed: boolean;
  /** The client's W3C `traceparent`, when it sent one: the request's span continues its trace. */
  traceparent: string | undefined;
}

/** One upstream attempt's span. */
export interface AttemptTrace {
  /** Headers that carry this attempt's trace context upstream (`traceparent`). */
  readonly headers: Record<string, string>;
  /** Ends the attempt; `failure` when it failed (its kind becomes `error.type`). */
  end(failure?: { kind: string; status?: number | undefined }): void;
}

/** One request's span; its upstream attempts are child spans. */
export interface RequestTrace {
  /** How the call was settled: response model, token usage, cache outcome, status. */
  settled(outcome: UsageOutcome): void;
  /** The call failed with this error before or instead of being answered. */
  failed(err: unknown): void;
  end(): void;
}

/** Starts request spans; exists only when tracing is configured. */
export interface Tracer {
  /** Starts a request's span; it is the parent of the attempts made under its request id until it ends. */
  start(start: TraceStart): RequestTrace;
  /** A child span for an upstream attempt of the request in flight under `requestId`, if it is traced. */
  attempt(requestId: string, provider: string, upstreamModel: string): AttemptTrace | undefined;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/**
 * The tracer for `config.tracing`, or undefined when no OTLP endpoint is configured. The
 * OpenTelemetry SDK is imported only here, on demand: a gateway without tracing never loads it, and
 * its request path only tests an undefined tracer.
 */
export async function createTracer(
  config: Pick<Config, 'tracing' | 'providers'>,
  logger: Pick<Logger, 'info' | 'warn'>,
): Promise<Tracer | undefined> {
  const { endpoint } = config.tracing;
  if (!endpoint) return undefined;
  const { OtelTracer } = await import('./otel-tracer.js');
  logger.info({ endpoint }, 'exporting OpenTelemetry traces over OTLP/HTTP');
  return new OtelTracer({ ...config.tracing, endpoint }, config.providers, logger);
}
