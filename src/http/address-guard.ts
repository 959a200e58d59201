import { rateLimitHeaders } from '../ratelimit/headers.js';
import type { RequestLimiter } from '../ratelimit/types.js';
import { ApiError } from '../shared/errors.js';
import { nounFor } from '../shared/plural.js';

/**
 * The per-address guard in front of every credential check (API keys, passwords, the operator token):
 * an address that failed too often recently gets 429 with Retry-After before its credential is looked at.
 */
export function assertAddressAllowed(limiter: RequestLimiter, address: string): void {
  const blocked = limiter.guardAddress(address);
  if (!blocked) return;
  const retryAfter = blocked.retryAfter ?? 1;
  throw new ApiError(
    'rate_limit_exceeded',
    `Too many failed authentications from your address. Retry after ${retryAfter} ${nounFor(retryAfter, 'second')}.`,
    null,
    rateLimitHeaders(blocked),
  );
}
