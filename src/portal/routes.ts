import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { can, permissionForPage } from '../accounts/roles.js';
import { formErrorMessage } from '../accounts/routes/form-flow.js';
import type { SignUpFlash } from '../accounts/routes/register.js';
import { type Container, requireVerifiedEmail } from '../container.js';
import { defineRoute, publicRoute } from '../http/define-route.js';
import { issueFormCsrf } from '../http/form-csrf.js';
import { sessionFromRequest, sessionGuard } from '../http/session-auth.js';
import { type InteractionRouteDeps, registerInteractionRoutes } from '../oauth/interaction-routes.js';
import { ApiError } from '../shared/errors.js';
import { AssetStore } from './assets.js';
import { html, type SafeHtml } from './html.js';
import { layout, type PortalContext } from './layout.js';
import { pageDoc, sendPage } from './page.js';
import {
  forgotPasswordPage,
  invitePage,
  loginPage,
  registerPage,
  resetPasswordPage,
  verifyEmailPage,
} from './pages/auth-pages.js';
import { comparePage } from './pages/compare.js';
import { auditPage } from './pages/dashboard/audit.js';
import { billingPage } from './pages/dashboard/billing.js';
import { connectedAppsPage } from './pages/dashboard/connected-apps.js';
import type { DashboardServices, DashboardView } from './pages/dashboard/context.js';
import { keysPage } from './pages/dashboard/keys.js';
import { accountPage, membersPage } from './pages/dashboard/members.js';
import { overviewPage } from './pages/dashboard/overview.js';
import { playgroundPage } from './pages/dashboard/playground.js';
import { usagePage } from './pages/dashboard/usage.js';
import { webhookDetailPage, webhooksPage } from './pages/dashboard/webhooks.js';
import { docsPage } from './pages/docs.js';
import { landingPage } from './pages/landing.js';
import { routeStatusPage } from './pages/route-status.js';
import { type PlaygroundDeps, registerPlaygroundStream } from './playground-stream.js';

/** The services the pages read and act on, the OAuth consent pages' and the playground's dependencies. */
export type PortalDeps = Pick<
  Container,
  | 'config'
  | 'keys'
  | 'billing'
  | 'webhooks'
  | 'database'
  | 'payments'
  | 'sso'
  | 'emailFlows'
  | 'invitations'
  | 'flash'
  | 'members'
  | 'oauth'
  | 'sessions'
> &
  InteractionRouteDeps &
  PlaygroundDeps;

/** A page's query string as parsed: values may be strings, lists or nested objects, whatever was sent. */
type Query = Record<string, unknown>;
const queryOf = (request: FastifyRequest) => (request.query ?? {}) as Query;
const stringParam = (value: unknown) => (typeof value === 'string' ? value : undefined);

/**
 * The developer portal and the dashboard: public pages, signed-in pages, their static assets and the
 * playground's streaming endpoint. Every page is server-rendered HTML with strict security headers.
 * Dashboard pages resolve the session once (pre-handler) and read the same query functions the
 * `/admin/*` API answers with; a page view is not API traffic, so it uses none of the rate limit.
 */
export function registerPortalRoutes(app: FastifyInstance, deps: PortalDeps): void {
  const assets = new AssetStore();
  assets.register(app);
  const ctx: PortalContext = { config: deps.config, assets };
  const services: DashboardServices = {
    keys: deps.keys,
    billing: deps.billing,
    webhooks: deps.webhooks.service,
    db: deps.database.db,
    payments: deps.payments,
  };

  const page = (
    url: string,
    summary: string,
    handler: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>,
  ) => defineRoute(app, { method: 'GET', url, guard: publicRoute, doc: pageDoc(summary), handler });

  page('/', 'Portal home', async (_request, reply) => sendPage(reply, landingPage(ctx)));
  registerInteractionRoutes(app, deps, ctx);
  page('/docs', 'Developer documentation', async (_request, reply) => sendPage(reply, docsPage(ctx)));
  page('/compare', 'Migrating from OpenAI, Mistral or Hugging Face', async (_request, reply) =>
    sendPage(reply, comparePage(ctx)),
  );
  // The page holds no data: its script reads /operator/routes with the operator token.
  page('/operator/status', 'Operator route status', async (_request, reply) =>
    sendPage(reply, routeStatusPage(ctx), { private: true }),
  );

  const verifyEmail = requireVerifiedEmail(deps.config);
  const authForm = (render: typeof loginPage) => async (request: FastifyRequest, reply: FastifyReply) => {
    const query = queryOf(request);
    const next = stringParam(query.next);
    // A signed-in visitor has nothing to do on these forms.
    if (await sessionFromRequest(deps, request))
      return reply.redirect(next?.startsWith('/invite/') ? next : '/dashboard', 303);
    const csrfToken = issueFormCsrf(request, reply);
    const error = stringParam(query.error);
    const notice = stringParam(query.notice);
    return sendPage(
      reply,
      render(ctx, { csrfToken, error, notice, next, verifyEmail, sso: deps.sso?.label }),
      {
        private: true,
      },
    );
  };
  page('/register', 'Sign-up form', authForm(registerPage));
  page('/login', 'Login form', authForm(loginPage));
  page('/forgot-password', 'Forgot-password form', authForm(forgotPasswordPage));

  page('/reset-password', 'Password reset form', async (request, reply) => {
    const query = queryOf(request);
    const token = stringParam(query.token) ?? '';
    const valid = await deps.emailFlows.resetLinkValid(token);
    const csrfToken = issueFormCsrf(request, reply);
    const view = resetPasswordPage(ctx, { csrfToken, token, valid, error: stringParam(query.error) });
    return sendPage(reply, view, { private: true, status: valid ? 200 : 410 });
  });

  // Opening the mailed link verifies the address (GET, as mail clients open links).
  page('/verify-email', 'Email verification link', async (request, reply) => {
    const token = stringParam(queryOf(request).token);
    const ok = await deps.emailFlows.verifyEmail(token, request.ip).then(
      () => true,
      (err: unknown) => {
        if (err instanceof ApiError) return false;
        throw err;
      },
    );
    const signedIn = (await sessionFromRequest(deps, request)) !== null;
    return sendPage(reply, verifyEmailPage(ctx, { ok, signedIn }), { private: true, status: ok ? 200 : 410 });
  });

  page('/invite/:token', 'Invitation to an organization', async (request, reply) => {
    const token = (request.params as { token: string }).token;
    const invite = await deps.invitations.findInvite(token);
    const session = await sessionFromRequest(deps, request);
    const csrfToken = issueFormCsrf(request, reply);
    const hasLogin =
      invite !== null &&
      (await deps.database.db
        .selectFrom('users')
        .select('id')
        .where('email', '=', invite.email)
        .executeTakeFirst()) !== undefined;
    const view = invitePage(ctx, {
      invite,
      token,
      csrfToken,
      error: stringParam(queryOf(request).error),
      signedInAs: session ? { email: session.user.email, csrfToken: session.csrfToken } : undefined,
      hasLogin,
    });
    return sendPage(reply, view, { private: true, status: invite ? 200 : 410 });
  });

  const signedIn = sessionGuard(deps, { redirectTo: '/login' });
  const dashboard = (
    path: string,
    render: (view: DashboardView, request: FastifyRequest) => Promise<SafeHtml>,
  ) =>
    defineRoute(app, {
      method: 'GET',
      url: path,
      guard: signedIn,
      doc: pageDoc(`Dashboard page ${path}`),
      handler: async (request, reply) => {
        const { session } = request;
        const view: DashboardView = {
          ctx,
          services,
          session,
          viewer: {
            email: session.user.email,
            csrfToken: session.csrfToken,
            role: session.role,
            organization: session.tenant.name,
          },
          log: request.log,
          requestId: request.id,
        };
        // Every page checks the role, as the API behind it does.
        const needed = permissionForPage(path);
        if (needed && !can(session.role, needed))
          return sendPage(reply, forbiddenPage(view), { private: true, status: 403 });
        return sendPage(reply, await render(view, request), { private: true });
      },
    });

  dashboard('/dashboard', (view) => {
    const flash = deps.flash.take<SignUpFlash>(view.session.sessionIdHash);
    return overviewPage(view, flash?.kind === 'new_api_key' ? flash.apiKey : undefined);
  });
  dashboard('/dashboard/keys', (view) => keysPage(view));
  dashboard('/dashboard/usage', (view, request) => usagePage(view, queryOf(request)));
  dashboard('/dashboard/billing', (view, request) => {
    const query = queryOf(request);
    return billingPage(view, { payment: stringParam(query.payment), card: stringParam(query.card) });
  });
  dashboard('/dashboard/webhooks', (view) => webhooksPage(view));
  dashboard('/dashboard/webhooks/:id', (view, request) =>
    webhookDetailPage(view, (request.params as { id: string }).id),
  );
  dashboard('/dashboard/audit', (view, request) => auditPage(view, stringParam(queryOf(request).after)));
  dashboard('/dashboard/playground', (view) => playgroundPage(view));
  dashboard('/dashboard/members', (view) => membersPage(view, deps.members));
  dashboard('/dashboard/apps', (view, request) =>
    connectedAppsPage(view, deps.oauth.grants, stringParam(queryOf(request).notice)),
  );
  defineRoute(app, {
    method: 'POST',
    url: '/dashboard/apps/:id/revoke',
    guard: sessionGuard(deps),
    doc: pageDoc('Revoke a connected app'),
    schema: { params: z.object({ id: z.string().max(64) }) },
    handler: async (request, reply) => {
      const { session } = request;
      const revoked = await deps.oauth.grants.revoke(session.tenant.id, request.params.id, {
        actor: `user:${session.user.id}`,
        ip: request.ip,
        // Members revoke the apps they authorized; owners and admins any of the organization's.
        ...(can(session.role, 'keys.manage') ? {} : { userId: session.user.id }),
      });
      if (!revoked) throw new ApiError('not_found', 'No such connected app.');
      return reply.header('cache-control', 'no-store').redirect('/dashboard/apps?notice=revoked', 303);
    },
  });
  dashboard('/dashboard/account', async (view, request) => {
    const query = queryOf(request);
    return accountPage(view, await deps.members.organizationsOf(view.session.user.id), {
      notice: stringParam(query.notice),
      errorMessage: formErrorMessage(query.error),
    });
  });

  registerPlaygroundStream(app, deps);
}

/** What a member sees on a page their role does not allow. */
function forbiddenPage(view: DashboardView): SafeHtml {
  return layout(view.ctx, {
    title: 'Not allowed',
    body: html`<h1>Not allowed</h1>
<p data-testid="forbidden">Your role in ${view.session.tenant.name} (${view.session.role}) does not allow this page. Ask an owner or admin.</p>`,
    viewer: view.viewer,
  });
}
