import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { checkFormCsrf } from '../../http/form-csrf.js';
import { ApiError } from '../../shared/errors.js';

/**
 * Browser forms and API callers share the account routes. A form post (form-urlencoded body) gets
 * redirects (303) with a short error code in the query; everything else gets JSON.
 */
export const isFormPost = (request: FastifyRequest) =>
  (request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');

/** Error codes a form page may find in `?error=`, with the sentence to show for each. */
export const FORM_ERROR_MESSAGES = {
  csrf_failed: 'Your form expired. Please try again.',
  email_taken: 'An account with this email already exists. Sign in instead.',
  invalid_email: 'Please enter a valid email address.',
  weak_password: 'Please choose a password of at least 10 characters.',
  invalid_credentials: 'Incorrect email or password.',
  rate_limit_exceeded: 'Too many attempts. Please wait a few minutes and try again.',
  tenant_suspended: 'This account is suspended. Contact support.',
  invalid_request: 'Something in the form was not right. Please try again.',
  wrong_password: 'The current password is not correct.',
  sso_failed: 'The single sign-on did not complete. Please try again.',
  sso_denied: 'Single sign-on is not allowed for this address here. Ask for an invitation.',
  invalid_token: 'This link is not valid any more: it was already used, withdrawn or has expired.',
  permission_denied: 'Your role does not allow this. Ask an owner or admin of the organization.',
  no_scope: 'Choose at least one thing the app may do, or deny the request.',
  conflict:
    'That cannot be done: the organization needs at least one owner, or the person is already a member.',
} as const;
export type FormErrorCode = keyof typeof FORM_ERROR_MESSAGES;

/** The form error code for any failure: specific for known causes, generic otherwise. */
export function formErrorCode(err: unknown): FormErrorCode {
  if (!(err instanceof ApiError)) return 'invalid_request';
  if (err.code === 'email_taken') return 'email_taken';
  if (err.param === 'current_password') return 'wrong_password';
  if (err.param === 'password' || err.param === 'new_password') return 'weak_password';
  if (err.param === 'email') return 'invalid_email';
  if (err.code in FORM_ERROR_MESSAGES) return err.code as FormErrorCode;
  return 'invalid_request';
}

/** The sentence for `?error=<code>`, or undefined for an unknown code (never echo the query back). */
// Own keys only: `constructor` or `__proto__` in a query string must not find Object's members.
export const formErrorMessage = (code: unknown): string | undefined =>
  typeof code === 'string' && Object.hasOwn(FORM_ERROR_MESSAGES, code)
    ? FORM_ERROR_MESSAGES[code as FormErrorCode]
    : undefined;

export function redirectWithError(reply: FastifyReply, path: string, code: FormErrorCode): FastifyReply {
  return reply.header('cache-control', 'no-store').redirect(`${path}?error=${code}`, 303);
}

/** A form post must carry the pre-session CSRF token (checked before its fields are validated). */
export async function formCsrfGuard(request: FastifyRequest): Promise<void> {
  if (isFormPost(request) && !checkFormCsrf(request))
    throw new ApiError('csrf_failed', 'Missing or invalid CSRF token.');
}

/**
 * The error handler of a route shared by a form and API callers: a form post that fails (CSRF,
 * validation, refusal) goes back to `path` with the error code; API callers get the JSON error.
 */
export function formErrorsRedirectTo(path: string, which: (err: unknown) => boolean = () => true) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (isFormPost(request) && which(error)) return redirectWithError(reply, path, formErrorCode(error));
    throw error;
  };
}

/** Where a form post goes back to on failure: the page it came from (its path, and a token query). */
export function formPathOf(request: FastifyRequest): string {
  return request.url.split('?')[0] ?? '/';
}

/**
 * A route error handler for forms: a form post that fails goes back to `path` (default: the form's own
 * path) with `?error=<code>`; JSON callers get the error envelope.
 */
export function formErrors(path?: (request: FastifyRequest) => string) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    if (!isFormPost(request)) throw error;
    const target = path ? path(request) : formPathOf(request);
    const code = formErrorCode(error);
    const sep = target.includes('?') ? '&' : '?';
    return reply.header('cache-control', 'no-store').redirect(`${target}${sep}error=${code}`, 303);
  };
}

/** Only our own invitation pages may be a destination after signing in (no open redirect). */
export const safeNext = (next: unknown): string | undefined =>
  typeof next === 'string' && /^\/invite\/[A-Za-z0-9_-]{43}$/.test(next) ? next : undefined;
