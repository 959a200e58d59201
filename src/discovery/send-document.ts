import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** How a discovery document is served. */
export interface DocumentOptions {
  contentType: string;
  /** `Cache-Control` max-age in seconds. */
  maxAge?: number;
  /** Extra response headers (Vary, Link…). */
  headers?: Record<string, string>;
}

/** A strong validator of the exact bytes served. */
export const etagOf = (body: string) =>
  `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;

/**
 * Sends a static document with an ETag, `Cache-Control: public`, CORS open to every origin (these
 * are public metadata that browser-based agents read), and `304 Not Modified` on a matching
 * `If-None-Match`.
 */
export function sendDocument(
  request: FastifyRequest,
  reply: FastifyReply,
  body: string,
  opts: DocumentOptions,
): FastifyReply {
  const etag = etagOf(body);
  reply
    .header('etag', etag)
    .header('cache-control', `public, max-age=${opts.maxAge ?? 3600}`)
    .header('access-control-allow-origin', '*')
    .header('access-control-expose-headers', 'ETag, Link')
    .headers(opts.headers ?? {});
  const given = request.headers['if-none-match'];
  if (typeof given === 'string' && given.split(',').some((t) => t.trim().replace(/^W\//, '') === etag))
    return reply.code(304).send();
  // A Buffer keeps Fastify from appending `; charset=utf-8` to media types that define their own parameters.
  return reply.type(opts.contentType).send(Buffer.from(body));
}
