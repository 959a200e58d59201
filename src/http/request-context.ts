import type { AuthContext } from '../accounts/authenticator.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the API-key hook on authenticated routes. */
    auth: AuthContext | null;
    /** Wall-clock start, for latency in usage records. */
    startedAt: number;
  }
}
