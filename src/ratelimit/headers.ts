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
  const policy = d.refusedBy === 'auth_failures' ? 'auth' : 'rpm';
  const headers: Record<string, string> = {
    'x-ratelimit-limit': String(d.limit),
    'x-ratelimit-remaining': String(d.remaining),
    'x-ratelimit-reset': String(d.resetAt),
    'x-ratelimit-limit-requests': String(d.limit),
    'x-ratelimit-remaining-requests': String(d.remaining),
    'x-ratelimit-reset-requests': formatDuration(resetIn),
    'ratelimit-policy': `"${policy}";q=${d.limit};w=${d.windowSeconds}`,
    ratelimit: `"${policy}";r=${d.remaining};t=${resetIn}`,
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

/** OpenAI's duration style: `1s`, `6m0s`. */
export function formatDuration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m > 0 ? `${m}m${s}s` : `${s}s`;
}
