import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest, preHandlerHookHandler } from 'fastify';
import type { Container } from '../container.js';
import { assertAddressAllowed } from '../http/address-guard.js';
import { ApiError } from '../http/errors.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Pre-handler of every `/operator/*` route: `Authorization: Bearer <SIMO_ADMIN_TOKEN>`, compared in
 * constant time. With no admin token configured the operator API does not exist (404), so an
 * unconfigured install exposes nothing. A wrong token counts as a failed authentication of the
 * caller's address, so the token cannot be guessed faster than API keys can.
 */
export function operatorAuth(c: Pick<Container, 'config' | 'limiter'>): preHandlerHookHandler {
  const configured = c.config.adminToken;
  const expected = configured ? digest(configured) : null;
  return async function authenticateOperator(request: FastifyRequest): Promise<void> {
    if (!expected)
      throw new ApiError(
        'operator_api_disabled',
        'The operator API is disabled. Set SIMO_ADMIN_TOKEN to enable it.',
      );
    assertAddressAllowed(c.limiter, request.addressKey);
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (!match)
      throw new ApiError(
        'invalid_admin_token',
        'The operator API needs "Authorization: Bearer <SIMO_ADMIN_TOKEN>".',
      );
    // Comparing digests keeps the comparison constant-time whatever the length of the given token.
    if (!timingSafeEqual(digest(match[1]!.trim()), expected)) {
      await c.limiter.recordAuthFailure(request.addressKey);
      throw new ApiError('invalid_admin_token', 'Incorrect operator token.');
    }
  };
}
