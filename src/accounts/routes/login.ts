import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { assertAddressAllowed } from '../../http/address-guard.js';
import { defineRoute, guard, noContent, publicRoute } from '../../http/define-route.js';
import {
  assertSessionCsrf,
  clearSessionCookie,
  sessionCookieOf,
  sessionFromRequest,
  writeSessionCookie,
} from '../../http/session-auth.js';
import { ApiError } from '../../shared/errors.js';
import { recordAudit } from '../audit-log.js';
import { formCsrfGuard, formErrorsRedirectTo, isFormPost, safeNext } from './form-flow.js';

/** Password check, sign-in throttles, sessions and the audit log. */
export type LoginDeps = Pick<Container, 'accounts' | 'database' | 'limiter' | 'loginThrottle' | 'sessions'>;

export const loginRequestSchema = z.object({
  email: z.string().max(320),
  password: z.string().max(1024),
  next: z.string().max(200).optional().describe('Form sign-in only: an invitation page to go to afterwards'),
});

export const loginResponseSchema = z.object({
  object: z.literal('session'),
  tenant_id: z.string(),
  user_id: z.string(),
  email: z.string(),
  csrf_token: z.string().describe('Send as x-csrf-token on state-changing calls made with the cookie'),
});

/** `POST /logout` reads the session itself: without one it still clears the cookie. */
const sessionCookie = guard('session');

/** `POST /login` and `POST /logout`: the dashboard session cookie for forms and API callers. */
export function registerLoginRoutes(app: FastifyInstance, deps: LoginDeps): void {
  defineRoute(app, {
    method: 'POST',
    url: '/login',
    guard: publicRoute,
    doc: {
      summary: 'Sign in: sets the dashboard session cookie',
      description:
        'Checks the email and password and starts a dashboard session (HttpOnly cookie). Send `csrf_token` as `x-csrf-token` on state-changing calls made with the cookie. Repeated failures are throttled per email and per address.',
      tags: ['Accounts'],
    },
    // The login form posts here too: its CSRF token is checked before its fields.
    preValidation: [formCsrfGuard],
    // A form that fails goes back to the form with the reason; an API caller gets the JSON error.
    errorHandler: formErrorsRedirectTo('/login'),
    schema: { body: loginRequestSchema, response: { 200: loginResponseSchema } },
    handler: async (request, reply) => login(deps, request, reply, request.body, isFormPost(request)),
  });

  defineRoute(app, {
    method: 'POST',
    url: '/logout',
    guard: sessionCookie,
    doc: {
      summary: 'Sign out: ends the dashboard session',
      description:
        'Ends the session of the cookie (the CSRF token is required when there is one) and clears the cookie.',
      tags: ['Accounts'],
    },
    schema: { response: { 204: noContent } },
    handler: async (request, reply) => {
      const session = await sessionFromRequest(deps, request);
      if (session) {
        assertSessionCsrf(request, session);
        await deps.sessions.destroy(sessionCookieOf(request));
        await recordAudit(deps.database.db, {
          tenantId: session.tenant.id,
          actor: `user:${session.user.id}`,
          action: 'auth.logout',
          target: session.user.id,
          ip: request.ip,
        });
      }
      clearSessionCookie(reply);
      reply.header('cache-control', 'no-store');
      return isFormPost(request) ? reply.redirect('/', 303) : reply.code(204).send();
    },
  });
}

async function login(
  deps: LoginDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  body: z.output<typeof loginRequestSchema>,
  form: boolean,
) {
  const { session, user, tenantId } = await signInWithPassword(deps, request, body);
  writeSessionCookie(reply, session);
  reply.header('cache-control', 'no-store');
  if (form) return reply.redirect(safeNext(body.next) ?? '/dashboard', 303);
  return {
    object: 'session' as const,
    tenant_id: tenantId,
    user_id: user.id,
    email: user.email,
    csrf_token: session.csrfToken,
  } satisfies z.infer<typeof loginResponseSchema>;
}

/**
 * Checks an email and password (throttled, audited) and starts a dashboard session; the caller
 * writes the cookie. Used by the login form and API, and by the OAuth authorization page.
 */
export async function signInWithPassword(
  deps: LoginDeps,
  request: FastifyRequest,
  body: { email: string; password: string },
) {
  const email = body.email.trim().toLowerCase();
  const address = request.addressKey;
  // One address guessing passwords across many emails meets the same guard as API-key guessing.
  assertAddressAllowed(deps.limiter, address);
  // Counted before the password is checked: parallel guesses cannot outrun the limit.
  await deps.loginThrottle.admit(email, address);
  const emailTenantId = await deps.accounts.tenantIdOfEmail(email);
  const user = await deps.accounts.verifyLogin(email, body.password);
  if (!user) {
    await deps.limiter.recordAuthFailure(address);
    // Unknown emails are recorded without the address: it may be a mistyped password.
    await recordAudit(deps.database.db, {
      tenantId: emailTenantId,
      actor: 'anonymous',
      action: 'auth.login_failed',
      target: emailTenantId === null ? null : email,
      ip: request.ip,
    });
    throw new ApiError('invalid_credentials', 'Incorrect email or password.');
  }
  await deps.loginThrottle.reset(email, address);
  const tenantId = user.tenantId;
  if (tenantId === null)
    throw new ApiError('permission_denied', 'This login is no longer a member of any organization.');
  const session = await deps.database.db.transaction().execute(async (trx) => {
    const tenant = await trx
      .selectFrom('tenants')
      .select('suspended')
      .where('id', '=', tenantId)
      .executeTakeFirst();
    if (!tenant || tenant.suspended === 1)
      throw new ApiError('tenant_suspended', 'This account is suspended. Contact support.');
    await recordAudit(trx, {
      tenantId,
      actor: `user:${user.id}`,
      action: 'auth.login',
      target: user.id,
      ip: request.ip,
    });
    return deps.sessions.create(user.id, tenantId, trx);
  });
  return { session, user, tenantId };
}
