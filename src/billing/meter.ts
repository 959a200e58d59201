import type { AuthContext } from '../accounts/authenticator.js';
import type { ModelConfig } from '../config/schema.js';

/** What the gateway knows before calling an upstream. */
export interface AdmissionRequest {
  auth: AuthContext;
  requestId: string;
  model: ModelConfig;
  endpoint: 'chat.completions' | 'embeddings';
  /** Upper bound of the prompt's tokens, for the reservation. */
  estimatedPromptTokens: number;
  /** The client's max tokens; 0 when it gave none (the meter then assumes a default cap). */
  maxCompletionTokens: number;
  streamed: boolean;
}

/** How a metered request ended. */
export interface UsageOutcome {
  /** HTTP status the client saw (200 for streams that started). */
  status: number;
  /** False when no upstream produced an answer: such a request costs nothing. */
  answered: boolean;
  provider: string | null;
  upstreamModel: string | null;
  /** From the upstream; null when it sent none (then the meter counts tokens from the text). */
  usage: { promptTokens: number; completionTokens: number } | null;
  /** Text to count tokens from when `usage` is null. */
  promptText: string;
  completionText: string;
  latencyMs: number;
}

/**
 * One admitted request. `settle` records it; only the first call counts, so a route may call it again
 * from an error path without double billing. The returned promise resolves once the record is durable
 * (written ahead to disk): await it before the response completes.
 */
export interface MeterTicket {
  settle(outcome: UsageOutcome): Promise<void>;
}

/**
 * The gateway's view of billing: admit (checks credit, reserves an estimate) before the upstream call,
 * settle (records usage, debits the actual cost) after it. `admit` throws a 402 ApiError when the
 * tenant's balance is exhausted.
 */
export interface UsageMeter {
  admit(req: AdmissionRequest): Promise<MeterTicket>;
  /** Writes what is buffered; called before reports and at shutdown. */
  flush(): Promise<void>;
}

/** A meter that records nothing and admits everything: the baseline for measuring metering's cost. */
export class NoopMeter implements UsageMeter {
  async admit(): Promise<MeterTicket> {
    return { settle: async () => undefined };
  }
  async flush(): Promise<void> {}
}
