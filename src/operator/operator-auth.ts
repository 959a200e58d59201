import type { FastifyRequest } from 'fastify';
import type { Container } from '../container.js';
import { assertAddressAllowed } from '../http/address-guard.js';
import { bearerTokenCheck } from '../http/bearer-token.js';
import { type Guard, type GuardHook, guard } from '../http/define-route.js';
import { ApiError } from '../shared/errors.js';

/** The operator token (config) and the limiter that counts wrong tokens against the caller's address. */
export type OperatorAuthDeps = Pick<Container, 'config' | 'limiter'>;

/**
 * Pre-handler of every `/operator/*` route: `Authorization: Bearer <SIMO_ADMIN_TOKEN>`, compared in
 * constant time. With no operator token configured the operator API does not exist (404), so an
 * unconfigured install exposes nothing. A wrong token counts as a failed authentication of the
 * caller's address, so the token cannot be guessed faster than API keys can.
 */
export function operatorAuth(deps: OperatorAuthDeps): GuardHook {
  const configured = deps.config.operatorToken;
  const check = configured ? bearerTokenCheck(configured) : null;
  return async function authenticateOperator(request: FastifyRequest): Promise<void> {
    if (!check)
      throw new ApiError(
        'operator_api_disabled',
        'The operator API is disabled. Set SIMO_ADMIN_TOKEN to enable it.',
      );
    assertAddressAllowed(deps.limiter, request.addressKey);
    const outcome = check(request.headers.authorization);
    if (outcome === 'missing')
      throw new ApiError(
        'invalid_admin_token',
        'The operator API needs "Authorization: Bearer <SIMO_ADMIN_TOKEN>".',
      );
    if (outcome === 'wrong') {
      await deps.limiter.recordAuthFailure(request.addressKey);
      throw new ApiError('invalid_admin_token', 'Incorrect operator token.');
    }
  };
}

/** The guard of every `/operator/*` route: the operator token (see `operatorAuth`). */
export function operatorGuard(deps: OperatorAuthDeps): Guard {
  return guard('operator', operatorAuth(deps));
}
