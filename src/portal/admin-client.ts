import type { FastifyInstance, FastifyRequest } from 'fastify';
import { INTERNAL_CALL_HEADER, type InternalCallToken } from '../http/internal-calls.js';

/** The outcome of one call to a tenant self-service API. */
export type AdminResult<T> =
  | { ok: true; data: T }
  | {
      ok: false;
      status: number;
      /** The API's own error message (safe to show: it is written for the customer). */
      message: string;
      /** True when the endpoint does not exist in this build, so the page can say so plainly. */
      missing: boolean;
    };

/**
 * Reads the `/admin/*` APIs on behalf of a signed-in page view, in process, with the visitor's own
 * cookie. The dashboard therefore shows exactly what a program calling the same API would see, and
 * the portal depends on the HTTP contract only, not on the internals of accounts, billing or webhooks.
 */
export class AdminClient {
  constructor(
    private readonly app: FastifyInstance,
    /** Marks these reads as the platform's own, so page views do not use up the tenant's rate limit. */
    private readonly internal: InternalCallToken,
  ) {}

  async get<T>(request: FastifyRequest, path: string): Promise<AdminResult<T>> {
    const cookie = request.headers.cookie;
    const res = await this.app.inject({
      method: 'GET',
      url: path,
      headers: {
        accept: 'application/json',
        [INTERNAL_CALL_HEADER]: this.internal.value,
        ...(cookie ? { cookie } : {}),
      },
    });
    let body: unknown;
    try {
      body = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      body = undefined;
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true, data: body as T };
    const error = (body as { error?: { message?: unknown; code?: unknown } } | undefined)?.error;
    const noRoute =
      res.statusCode === 404 && typeof error?.message === 'string' && error.message.startsWith('No route');
    return {
      ok: false,
      status: res.statusCode,
      message: typeof error?.message === 'string' ? error.message : `The request failed (${res.statusCode}).`,
      missing: noRoute || res.statusCode === 405,
    };
  }
}
