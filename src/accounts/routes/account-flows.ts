import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { defineRoute, type GuardHook, publicRoute } from '../../http/define-route.js';
import { checkFormCsrf } from '../../http/form-csrf.js';
import { sessionGuard, writeSessionCookie } from '../../http/session-auth.js';
import { ApiError } from '../../shared/errors.js';
import { formErrors, isFormPost } from './form-flow.js';

/** Email flows, invitations, memberships, sessions and the sign-up limit. */
export type AccountFlowDeps = Pick<
  Container,
  'emailFlows' | 'invitations' | 'limiter' | 'members' | 'sessions' | 'flash'
>;

const TAGS = ['Accounts'];
const tokenField = z.string().max(100).describe('The token of the emailed link');
const noticeRedirect = (reply: FastifyReply, path: string) =>
  reply.header('cache-control', 'no-store').redirect(path, 303);

/** Forms filled in before signing in carry the double-submit CSRF token; JSON callers need none. */
const formCsrf: GuardHook = async (request) => {
  if (isFormPost(request) && !checkFormCsrf(request))
    throw new ApiError('csrf_failed', 'Missing or invalid CSRF token.');
};

/**
 * Account flows through emailed links and the signed-in account page: password reset, password
 * change, accepting an invitation (by signing up or while signed in) and switching organization.
 * Each answers a form with a redirect and an API caller with JSON.
 */
export function registerAccountFlowRoutes(app: FastifyInstance, deps: AccountFlowDeps): void {
  const signedIn = sessionGuard(deps);

  defineRoute(app, {
    method: 'POST',
    url: '/forgot-password',
    guard: publicRoute,
    preValidation: [formCsrf],
    doc: {
      summary: 'Mail a password reset link',
      description:
        'Mails a one-time link, valid one hour, when the address has a login. The answer is the same either way, so it does not tell which addresses have accounts.',
      tags: TAGS,
    },
    schema: {
      body: z.object({ email: z.string().max(320) }),
      response: { 202: z.object({ object: z.literal('password_reset'), sent: z.literal(true) }) },
    },
    errorHandler: formErrors(),
    handler: async (request, reply) => {
      await deps.limiter.checkSignup(request.addressKey).then((d) => {
        if (!d.allowed) throw new ApiError('rate_limit_exceeded', 'Too many requests. Retry in a minute.');
      });
      await deps.emailFlows.requestPasswordReset(request.body.email, request.ip);
      if (isFormPost(request)) return noticeRedirect(reply, '/login?notice=reset_sent');
      return reply.code(202).send({ object: 'password_reset' as const, sent: true as const });
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/reset-password',
    guard: publicRoute,
    preValidation: [formCsrf],
    doc: {
      summary: 'Set a new password with a reset link',
      description: 'The link works once; every session of the account ends, the old password stops working.',
      tags: TAGS,
    },
    schema: {
      body: z.object({
        token: tokenField,
        password: z.string().max(1024).describe('At least 10 characters'),
      }),
      response: { 200: z.object({ object: z.literal('password_reset'), done: z.literal(true) }) },
    },
    errorHandler: formErrors((request) => {
      const token = (request.body as { token?: unknown } | undefined)?.token;
      return `/reset-password?token=${encodeURIComponent(typeof token === 'string' ? token : '')}`;
    }),
    handler: async (request, reply) => {
      await deps.emailFlows.resetPassword(request.body.token, request.body.password, request.ip);
      if (isFormPost(request)) return noticeRedirect(reply, '/login?notice=password_reset');
      return { object: 'password_reset' as const, done: true as const };
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/account/password',
    guard: signedIn,
    doc: {
      summary: 'Change the password of the signed-in person',
      description: 'Needs the current password; every other session of the person ends.',
      tags: TAGS,
    },
    schema: {
      body: z.object({ current_password: z.string().max(1024), new_password: z.string().max(1024) }),
      response: { 200: z.object({ object: z.literal('password_change'), done: z.literal(true) }) },
    },
    errorHandler: formErrors(() => '/dashboard/account'),
    handler: async (request, reply) => {
      const { session } = request;
      await deps.emailFlows.changePassword(
        { id: session.user.id, tenantId: session.tenant.id },
        { current: request.body.current_password, next: request.body.new_password },
        session.sessionIdHash,
        request.ip,
      );
      if (isFormPost(request)) return noticeRedirect(reply, '/dashboard/account?notice=password_changed');
      return { object: 'password_change' as const, done: true as const };
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/dashboard/organization',
    guard: signedIn,
    doc: {
      summary: 'Switch the dashboard session to another organization of the signed-in person',
      description: 'The session works in one organization at a time, with the role the person has there.',
      tags: ['portal'],
      hidden: true,
    },
    schema: {
      body: z.object({ tenant_id: z.string().max(64) }),
      response: { 200: z.object({ object: z.literal('session'), tenant_id: z.string(), role: z.string() }) },
    },
    errorHandler: formErrors(() => '/dashboard/account'),
    handler: async (request, reply) => {
      const { session } = request;
      const role = await deps.members.roleOf(request.body.tenant_id, session.user.id);
      if (!role) throw new ApiError('permission_denied', 'You are not a member of that organization.');
      await deps.sessions.switchOrganization(session.sessionIdHash, request.body.tenant_id);
      if (isFormPost(request)) return noticeRedirect(reply, '/dashboard');
      return { object: 'session' as const, tenant_id: request.body.tenant_id, role };
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/invite/:token',
    guard: publicRoute,
    preValidation: [formCsrf],
    doc: {
      summary: 'Accept an invitation by creating a login',
      description:
        'For an address without a login: sets the password and joins the organization with the invited role. Signed-in people accept with `POST /invite/{token}/accept`.',
      tags: TAGS,
    },
    schema: {
      params: z.object({ token: tokenField }),
      body: z.object({ password: z.string().max(1024).describe('At least 10 characters') }),
      response: { 201: joinedSchema },
    },
    errorHandler: formErrors(),
    handler: async (request, reply) => {
      const { invite, userId } = await deps.invitations.acceptWithSignUp(
        request.params.token,
        request.body.password,
        request.ip,
      );
      const session = await deps.sessions.create(userId, invite.tenantId);
      writeSessionCookie(reply, session);
      if (isFormPost(request)) return noticeRedirect(reply, '/dashboard');
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({
          object: 'membership' as const,
          tenant_id: invite.tenantId,
          user_id: userId,
          role: invite.role,
          csrf_token: session.csrfToken,
        });
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/invite/:token/accept',
    guard: signedIn,
    doc: {
      summary: 'Accept an invitation while signed in',
      description:
        'Joins the organization with the invited role, if the invitation was sent to the signed-in address, and switches the session to it.',
      tags: TAGS,
    },
    schema: { params: z.object({ token: tokenField }), response: { 200: joinedSchema } },
    errorHandler: formErrors((request) => formInvitePath(request)),
    handler: async (request, reply) => {
      const { session } = request;
      const invite = await deps.invitations.accept(request.params.token, session.user, request.ip);
      await deps.sessions.switchOrganization(session.sessionIdHash, invite.tenantId);
      if (isFormPost(request)) return noticeRedirect(reply, '/dashboard');
      return {
        object: 'membership' as const,
        tenant_id: invite.tenantId,
        user_id: session.user.id,
        role: invite.role,
        csrf_token: session.csrfToken,
      };
    },
  });
}

const joinedSchema = z.object({
  object: z.literal('membership'),
  tenant_id: z.string(),
  user_id: z.string(),
  role: z.string(),
  csrf_token: z.string().describe('Send as x-csrf-token on state-changing calls made with the cookie'),
});

const formInvitePath = (request: FastifyRequest) =>
  (request.url.split('?')[0] ?? '/').replace(/\/accept$/, '');
