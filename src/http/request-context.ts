import type { AuthContext } from '../accounts/authenticator.js';
import type { CountedRequest } from '../ratelimit/model-call-limit.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the API-key hook on authenticated routes. */
    auth: AuthContext | null;
    /** Wall-clock start, for latency in usage records. */
    startedAt: number;
    /** Set when the request was counted against the tenant's rate limit; covers its first model call. */
    counted: CountedRequest | null;
  }
}
