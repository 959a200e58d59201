import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * CSRF protection for the forms a visitor fills in before having a session (sign-up, login):
 * a double-submit token. `GET /register` and `GET /login` call `issueFormCsrf` and embed the token as
 * the hidden field `_csrf`; `POST` checks that the field (or `x-csrf-token` header) equals the cookie.
 * A cross-site page can make the browser send the cookie but cannot read it to fill in the field.
 * Forms shown to a signed-in user use the session's own token instead (see session-auth.ts).
 */
export const FORM_CSRF_COOKIE = 'simo_form_csrf';
export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';

const FORM_CSRF_MAX_AGE_SECONDS = 2 * 60 * 60;

/**
 * Issues (or reuses) the pre-session CSRF token: sets its cookie and returns the value to embed as
 * `<input type="hidden" name="_csrf" value="…">`.
 */
export function issueFormCsrf(request: FastifyRequest, reply: FastifyReply): string {
  const existing = request.cookies[FORM_CSRF_COOKIE];
  const token =
    existing && /^[A-Za-z0-9_-]{43}$/.test(existing) ? existing : randomBytes(32).toString('base64url');
  reply.setCookie(FORM_CSRF_COOKIE, token, { maxAge: FORM_CSRF_MAX_AGE_SECONDS });
  return token;
}

/** The CSRF token a request submitted: form field `_csrf`, else header `x-csrf-token`. */
export function submittedCsrfToken(request: FastifyRequest): string | undefined {
  const body = request.body;
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const field = (body as Record<string, unknown>)[CSRF_FIELD];
    if (typeof field === 'string' && field !== '') return field;
  }
  const header = request.headers[CSRF_HEADER];
  return typeof header === 'string' && header !== '' ? header : undefined;
}

/** Constant-time string comparison (hashing first makes lengths equal and leaks nothing). */
export function tokensMatch(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** True when the request carries the pre-session CSRF cookie and the same token in the form/header. */
export function checkFormCsrf(request: FastifyRequest): boolean {
  return tokensMatch(request.cookies[FORM_CSRF_COOKIE], submittedCsrfToken(request));
}
