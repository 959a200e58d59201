import type { FastifyReply } from 'fastify';
import type { RouteText } from '../http/define-route.js';
import type { SafeHtml } from './html.js';

/**
 * Content-Security-Policy of every portal page: scripts, styles and connections only from this
 * origin, no inline script, no framing. Charts draw on canvas; the playground streams over fetch.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Security headers shared by every HTML page. */
export const PAGE_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

/** Sends an HTML page with the security headers. Pages for a signed-in user are never cached. */
export function sendPage(
  reply: FastifyReply,
  body: SafeHtml,
  opts: { status?: number; private?: boolean; csp?: string } = {},
): FastifyReply {
  reply.headers(PAGE_SECURITY_HEADERS);
  if (opts.csp) reply.header('content-security-policy', opts.csp);
  reply.header('cache-control', opts.private ? 'no-store' : 'no-cache');
  reply.header('content-type', 'text/html; charset=utf-8');
  return reply.code(opts.status ?? 200).send(`<!doctype html>\n${body.value}`);
}

/** What a page says about itself: hidden, so it stays out of /openapi.json. */
export function pageDoc(summary: string): RouteText {
  return {
    summary,
    description: 'A server-rendered page of the developer portal.',
    tags: ['portal'],
    hidden: true,
    responseContentType: 'text/html',
  };
}
