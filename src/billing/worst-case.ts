import type { ModelConfig } from '../config/schema.js';
import { ApiError } from '../shared/errors.js';
import { floorToMicros, formatMicros, maxInputPerMTok, picosPerToken } from '../shared/money.js';
import type { AdmissionRequest } from './meter.js';

/** What pricing a request's worst case takes: its size and model, not who sent it. */
export type PricedRequest = Pick<
  AdmissionRequest,
  'endpoint' | 'prompt' | 'maxCompletionTokens' | 'choices'
> & {
  model: Pick<ModelConfig, 'pricing' | 'contextWindow'>;
};

/** What admitting a request holds back, and the completion cap it must be sent with. */
export interface WorstCase {
  /** The most the request can cost, in pico-dollars: held until it settles. */
  reservation: bigint;
  /** Cap per choice to send upstream for a request that set none; null to send it unchanged. */
  completionCap: number | null;
}

/**
 * Prices a request at its worst case — the prompt's token bound, plus every choice using the whole
 * completion cap — against what the tenant can spend (`available`, pico-dollars, > 0). A request that
 * set no cap gets the one the balance affords, unless it affords the whole context window (no answer
 * is longer). Throws 402 `insufficient_credits`, saying what the balance affords, when it cannot pay.
 */
export function worstCase(req: PricedRequest, available: bigint): WorstCase {
  const { pricing, contextWindow } = req.model;
  const promptCost = BigInt(req.prompt.boundTokens) * picosPerToken(maxInputPerMTok(pricing));
  if (req.endpoint === 'embeddings') {
    if (promptCost > available) throw embeddingsRefused(req, available);
    return { reservation: promptCost, completionCap: null };
  }
  const choices = Math.max(1, req.choices);
  const perToken = picosPerToken(pricing.outputPerMTok) * BigInt(choices);
  // Completion tokens per choice the balance pays for once the prompt is paid, at most the window.
  const affordable =
    promptCost > available
      ? 0
      : perToken === 0n
        ? contextWindow
        : Number(bigMin((available - promptCost) / perToken, BigInt(contextWindow)));
  const requested = req.maxCompletionTokens > 0 ? Math.min(req.maxCompletionTokens, contextWindow) : 0;
  if (requested > 0) {
    if (affordable < requested) throw chatRefused(req, available, affordable, requested);
    return { reservation: promptCost + BigInt(requested) * perToken, completionCap: null };
  }
  if (affordable < 1) throw chatRefused(req, available, 0, 0);
  return {
    reservation: promptCost + BigInt(affordable) * perToken,
    completionCap: affordable < contextWindow ? affordable : null,
  };
}

const bigMin = (a: bigint, b: bigint) => (a < b ? a : b);
const usd = (picos: bigint) => `$${formatMicros(floorToMicros(picos))}`;

function chatRefused(req: PricedRequest, available: bigint, affordable: number, requested: number) {
  const choices = Math.max(1, req.choices);
  const prompt = `up to ${req.prompt.boundTokens} prompt tokens`;
  if (requested === 0)
    return new ApiError(
      'insufficient_credits',
      `This request requires more credits. After ${prompt}, your available balance of ${usd(available)} can only afford 0 completion tokens.`,
    );
  const asked =
    choices === 1
      ? `You requested up to ${requested} completion tokens`
      : `You requested up to ${requested} completion tokens for each of ${choices} choices`;
  return new ApiError(
    'insufficient_credits',
    `This request requires more credits, or fewer max_tokens${choices === 1 ? '' : ' or n'}. ${asked}, but after ${prompt} your available balance of ${usd(available)} can only afford ${affordable}${choices === 1 ? '' : ' per choice'}.`,
  );
}

function embeddingsRefused(req: PricedRequest, available: bigint) {
  const price = picosPerToken(req.model.pricing.inputPerMTok);
  return new ApiError(
    'insufficient_credits',
    `This request requires more credits. Its input may be up to ${req.prompt.boundTokens} tokens, but your available balance of ${usd(available)} can only afford ${available / price}.`,
  );
}
