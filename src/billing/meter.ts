import type { AuthContext } from '../accounts/authenticator.js';
import type { ModelConfig } from '../config/schema.js';

/** A prompt's size as the gateway measures it, without a tokenizer (linear in its length). */
export interface PromptSize {
  /** No tokenizer makes more tokens of the prompt than this: each UTF-8 byte of its text, plus framing. */
  boundTokens: number;
  /** Tokens besides the text (message framing, media parts, pre-tokenized input): added to a count of it. */
  framingTokens: number;
}

/** What the gateway knows before calling an upstream. */
export interface AdmissionRequest {
  auth: AuthContext;
  requestId: string;
  model: ModelConfig;
  /** The API surface, as usage records and reports name it. */
  endpoint: 'chat.completions' | 'embeddings' | 'responses' | 'messages' | 'completions';
  prompt: PromptSize;
  /** The client's cap on completion tokens per choice; 0 when it gave none. */
  maxCompletionTokens: number;
  /** Choices asked for (`n`); each may use the whole completion cap. */
  choices: number;
  streamed: boolean;
}

/**
 * Token counts as the upstream reported them, normalised the OpenAI way: `promptTokens` includes the
 * cached reads and cache writes (Anthropic's `input_tokens` excludes them; add them before metering).
 */
export interface MeteredUsage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens read from the upstream's cache. */
  cachedTokens?: number;
  /** Prompt tokens written to the upstream's cache. */
  cacheWriteTokens?: number;
}

/** How a metered request ended. */
export interface UsageOutcome {
  /** HTTP status the client saw (200 for streams that started). */
  status: number;
  /** False when no upstream produced an answer: such a request costs nothing. */
  answered: boolean;
  provider: string | null;
  upstreamModel: string | null;
  /** Routes tried, the answering one included; 0 when the response cache answered. */
  attempts?: number;
  /** From the upstream; null when it sent none (then the meter counts tokens from the text). */
  usage: MeteredUsage | null;
  /** Text to count tokens from when `usage` is null. */
  promptText: string;
  completionText: string;
  latencyMs: number;
  /** `hit` or `miss` when the model's response cache was consulted. */
  cache?: 'hit' | 'miss';
  /** Share of the normal price charged (a response-cache hit may be free or discounted); 1 when unset. */
  priceFactor?: number;
}

/**
 * One admitted request. `settle` records it; only the first call counts, so a route may call it again
 * from an error path without double billing. The returned promise resolves once the record is durable
 * (written ahead to disk): await it before the response completes.
 */
export interface MeterTicket {
  /**
   * For a request without a completion cap: the cap per choice to send upstream, which is what the
   * balance affords; null when the request may go as it is.
   */
  readonly completionCap: number | null;
  settle(outcome: UsageOutcome): Promise<void>;
}

/**
 * The gateway's view of billing: admit (checks credit, reserves the worst case) before the upstream call,
 * settle (records usage, debits the actual cost) after it. `admit` throws a 402 ApiError when the
 * available balance cannot pay for the request's worst case.
 */
export interface UsageMeter {
  admit(req: AdmissionRequest): Promise<MeterTicket>;
  /** Writes what is buffered; called before reports and at shutdown. */
  flush(): Promise<void>;
}

/** A meter that records nothing and admits everything: the baseline for measuring metering's cost. */
export class NoopMeter implements UsageMeter {
  async admit(): Promise<MeterTicket> {
    return { completionCap: null, settle: async () => undefined };
  }
  async flush(): Promise<void> {}
}
