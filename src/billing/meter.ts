import type { AuthContext } from '../accounts/authenticator.js';
import type { ModelConfig } from '../config/schema.js';

/** What the gateway knows before calling an upstream. */
export interface AdmissionRequest {
  auth: AuthContext;
  requestId: string;
  model: ModelConfig;
  endpoint: 'chat.completions' | 'embeddings';
  /** Upper bound of the tokens this request may cost, for reservations. */
  estimatedPromptTokens: number;
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
  /** From the upstream; null when it sent none (then the meter estimates from the text). */
  usage: { promptTokens: number; completionTokens: number } | null;
  /** Text to count tokens from when `usage` is null. */
  promptText: string;
  completionText: string;
  latencyMs: number;
}

/** One admitted request. `settle` must be called exactly once, whatever happens. */
export interface MeterTicket {
  settle(outcome: UsageOutcome): void;
}

/**
 * The gateway's view of billing: admit (checks credit, reserves) before the upstream call,
 * settle (records usage, debits) after it.
 */
export interface UsageMeter {
  admit(req: AdmissionRequest): Promise<MeterTicket>;
  /** Writes what is buffered; called at shutdown. */
  flush(): Promise<void>;
}
