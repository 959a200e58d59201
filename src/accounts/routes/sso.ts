import type { FastifyInstance } from 'fastify';
import type { Container } from '../../container.js';
import { defineRoute, publicRoute } from '../../http/define-route.js';
import { writeSessionCookie } from '../../http/session-auth.js';
import { ApiError } from '../../shared/errors.js';
import type { SsoChecks } from '../sso.js';

/** The SSO service, sessions and the public URL. */
export type SsoRouteDeps = Pick<Container, 'config' | 'sessions' | 'sso'>;

/** Holds state, nonce and PKCE verifier while the browser is at the identity provider. */
const SSO_COOKIE = 'simo_sso';
const SSO_COOKIE_SECONDS = 10 * 60;

const doc = (summary: string) => ({
  summary,
  description: 'Dashboard single sign-on with OpenID Connect (browser redirects).',
  tags: ['Accounts'],
  hidden: true,
});

function readChecks(value: string | undefined): SsoChecks | null {
  if (!value) return null;
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Partial<SsoChecks>;
    return typeof parsed.state === 'string' &&
      typeof parsed.nonce === 'string' &&
      typeof parsed.verifier === 'string'
      ? { state: parsed.state, nonce: parsed.nonce, verifier: parsed.verifier }
      : null;
  } catch {
    return null;
  }
}

/** `GET /login/sso` and its callback: sign in to the dashboard through the configured OpenID provider. */
export function registerSsoRoutes(app: FastifyInstance, deps: SsoRouteDeps): void {
  const sso = deps.sso;
  if (!sso) return;

  defineRoute(app, {
    method: 'GET',
    url: '/login/sso',
    guard: publicRoute,
    doc: doc('Start single sign-on: redirects to the identity provider'),
    handler: async (_request, reply) => {
      const { url, checks } = await sso.start();
      reply.setCookie(SSO_COOKIE, Buffer.from(JSON.stringify(checks)).toString('base64url'), {
        maxAge: SSO_COOKIE_SECONDS,
      });
      return reply.header('cache-control', 'no-store').redirect(url, 303);
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/login/sso/callback',
    guard: publicRoute,
    doc: doc('Single sign-on callback: starts the dashboard session'),
    handler: async (request, reply) => {
      reply.clearCookie(SSO_COOKIE).header('cache-control', 'no-store');
      try {
        const checks = readChecks(request.cookies[SSO_COOKIE]);
        if (!checks)
          throw new ApiError('invalid_credentials', 'The single sign-on expired. Please try again.');
        const signedIn = await sso.finish(new URL(request.url, deps.config.publicUrl), checks, request.ip);
        const session = await deps.sessions.create(signedIn.userId, signedIn.tenantId);
        writeSessionCookie(reply, session);
        return reply.redirect('/dashboard', 303);
      } catch (err) {
        request.log.info({ err: err instanceof Error ? err.message : String(err) }, 'single sign-on refused');
        const code =
          err instanceof ApiError && err.code === 'permission_denied' ? 'sso_denied' : 'sso_failed';
        return reply.redirect(`/login?error=${code}`, 303);
      }
    },
  });
}
