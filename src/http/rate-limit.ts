import type { FastifyReply, FastifyRequest } from 'fastify';
import { rateLimitHeaders } from '../ratelimit/headers.js';
import { CountedRequest, rateLimitExceeded } from '../ratelimit/model-call-limit.js';
import type { RequestLimiter } from '../ratelimit/types.js';
import type { GuardHook } from './define-route.js';

/**
 * The rate-limit stage of authenticated API routes, after authentication: counts the request against
 * the tenant's requests (and tokens) per minute, sets the rate-limit headers on the reply (streamed
 * responses copy them) and throws the 429. An admitted request carries its `CountedRequest`, which
 * covers its first model call in the inference pipeline.
 */
export function rateLimitRequest(limiter: RequestLimiter): GuardHook {
  return async function countRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const auth = request.auth;
    if (!auth) throw new Error('rate limit stage before authentication');
    const decision = await limiter.check(auth);
    const headers = rateLimitHeaders(decision);
    reply.headers(headers);
    if (!decision.allowed) throw rateLimitExceeded(decision, headers);
    request.counted = new CountedRequest(reply.raw);
  };
}
