import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/** Header that marks a request the platform makes to itself in process (never over the network). */
export const INTERNAL_CALL_HEADER = 'x-simo-internal-call';

/**
 * A per-process secret that in-process calls (the dashboard reading `/admin/*` to render a page)
 * carry, so they are not counted as the tenant's own API traffic. It never leaves the process.
 */
export class InternalCallToken {
  readonly value = randomBytes(32).toString('base64url');
  private readonly expected = Buffer.from(this.value);

  /** True when the request carries this process's token. */
  matches(request: FastifyRequest): boolean {
    const given = request.headers[INTERNAL_CALL_HEADER];
    if (typeof given !== 'string') return false;
    const buf = Buffer.from(given);
    return buf.length === this.expected.length && timingSafeEqual(buf, this.expected);
  }
}
