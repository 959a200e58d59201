import type { LimitDecision } from './types.js';

/**
 * The rate-limit headers of a decision: ours (`X-RateLimit-*`, the contract), OpenAI's
 * (`x-ratelimit-*-requests` / `-tokens`, so OpenAI-aware clients throttle themselves) and the IETF
 * draft's (`RateLimit-Policy` / `RateLimit`). On a refusal, `Retry-After` and `retry-after-ms`
 * (which openai-node honours first). Every time describes the one instant the window frees up:
 * `X-RateLimit-Reset` as a Unix second, the durations and `Retry-After` relative to now.
 */
export function rateLimitHeaders(d: LimitDecision): Record<string, string> {
  const resetIn = d.resetAfter;
  const fixed = fixedText(d.refusedBy === 'auth_failures' ? 'auth' : 'rpm', d.limit, d.windowSeconds);
  const remaining = String(d.remaining);
  const headers: Record<string, string> = {
    'x-ratelimit-limit': fixed.limit,
    'x-ratelimit-remaining': remaining,
    'x-ratelimit-reset': String(d.resetAt),
    'x-ratelimit-limit-requests': fixed.limit,
    'x-ratelimit-remaining-requests': remaining,
    'x-ratelimit-reset-requests': formatDuration(resetIn),
    'ratelimit-policy': fixed.policy,
    ratelimit: `${fixed.name};r=${remaining};t=${resetIn}`,
  };
  if (d.tokens) {
    headers['x-ratelimit-limit-tokens'] = String(d.tokens.limit);
    headers['x-ratelimit-remaining-tokens'] = String(d.tokens.remaining);
    headers['x-ratelimit-reset-tokens'] = formatDuration(d.tokens.resetAfter);
  }
  if (!d.allowed && d.retryAfter !== undefined) {
    headers['retry-after'] = String(d.retryAfter);
    headers['retry-after-ms'] = String(d.retryAfterMs ?? d.retryAfter * 1000);
  }
  return headers;
}

/** The header text that depends only on the policy, its limit and window: the same for most requests. */
interface FixedText {
  /** The quoted policy name, `"rpm"`. */
  name: string;
  limit: string;
  /** `RateLimit-Policy`. */
  policy: string;
  windowSeconds: number;
}

/** Serialised once per policy and limit (a handful of plans and keys), then reused. */
const fixedTexts = { rpm: new Map<number, FixedText>(), auth: new Map<number, FixedText>() };
const MAX_FIXED_TEXTS = 1_000;

function fixedText(policy: 'rpm' | 'auth', limit: number, windowSeconds: number): FixedText {
  const texts = fixedTexts[policy];
  const known = texts.get(limit);
  if (known?.windowSeconds === windowSeconds) return known;
  const text = {
    name: `"${policy}"`,
    limit: String(limit),
    policy: `"${policy}";q=${limit};w=${windowSeconds}`,
    windowSeconds,
  };
  // Limits are per plan or per key: bounded in practice, but never let the memo grow without end.
  if (texts.size >= MAX_FIXED_TEXTS) texts.clear();
  texts.set(limit, text);
  return text;
}

/** OpenAI's duration style: `1s`, `6m0s`. */
export function formatDuration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m > 0 ? `${m}m${s}s` : `${s}s`;
}
