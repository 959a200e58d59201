import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SignUpFlash } from '../accounts/routes/register.js';
import type { Container } from '../container.js';
import { defineRoute, publicRoute } from '../http/define-route.js';
import { issueFormCsrf } from '../http/form-csrf.js';
import { sessionFromRequest, sessionGuard } from '../http/session-auth.js';
import { AssetStore } from './assets.js';
import type { SafeHtml } from './html.js';
import type { PortalContext } from './layout.js';
import { pageDoc, sendPage } from './page.js';
import { loginPage, registerPage } from './pages/auth-pages.js';
import { comparePage } from './pages/compare.js';
import { auditPage } from './pages/dashboard/audit.js';
import { billingPage } from './pages/dashboard/billing.js';
import type { DashboardServices, DashboardView } from './pages/dashboard/context.js';
import { keysPage } from './pages/dashboard/keys.js';
import { overviewPage } from './pages/dashboard/overview.js';
import { playgroundPage } from './pages/dashboard/playground.js';
import { usagePage } from './pages/dashboard/usage.js';
import { webhookDetailPage, webhooksPage } from './pages/dashboard/webhooks.js';
import { docsPage } from './pages/docs.js';
import { landingPage } from './pages/landing.js';
import { registerPlaygroundStream } from './playground-stream.js';

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
export function registerPortalRoutes(app: FastifyInstance, c: Container): void {
  const assets = new AssetStore();
  assets.register(app);
  const ctx: PortalContext = { config: c.config, assets };
  const services: DashboardServices = {
    keys: c.keys,
    billing: c.billing,
    webhooks: c.webhooks.service,
    db: c.database.db,
  };

  const page = (
    url: string,
    summary: string,
    handler: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>,
  ) => defineRoute(app, { method: 'GET', url, guard: publicRoute, doc: pageDoc(summary), handler });

  page('/', 'Portal home', async (_request, reply) => sendPage(reply, landingPage(ctx)));
  page('/docs', 'Developer documentation', async (_request, reply) => sendPage(reply, docsPage(ctx)));
  page('/compare', 'Migrating from OpenAI, Mistral or Hugging Face', async (_request, reply) =>
    sendPage(reply, comparePage(ctx)),
  );

  const authForm = (render: typeof loginPage) => async (request: FastifyRequest, reply: FastifyReply) => {
    // A signed-in visitor has nothing to do on these forms.
    if (await sessionFromRequest(c, request)) return reply.redirect('/dashboard', 303);
    const csrfToken = issueFormCsrf(request, reply);
    const error = stringParam(queryOf(request).error);
    return sendPage(reply, render(ctx, { csrfToken, error }), { private: true });
  };
  page('/register', 'Sign-up form', authForm(registerPage));
  page('/login', 'Login form', authForm(loginPage));

  const signedIn = sessionGuard(c, { redirectTo: '/login' });
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
          viewer: { email: session.user.email, csrfToken: session.csrfToken },
          log: request.log,
          requestId: request.id,
        };
        return sendPage(reply, await render(view, request), { private: true });
      },
    });

  dashboard('/dashboard', (view) => {
    const flash = c.flash.take<SignUpFlash>(view.session.sessionIdHash);
    return overviewPage(view, flash?.kind === 'new_api_key' ? flash.apiKey : undefined);
  });
  dashboard('/dashboard/keys', (view) => keysPage(view));
  dashboard('/dashboard/usage', (view, request) => usagePage(view, queryOf(request)));
  dashboard('/dashboard/billing', (view) => billingPage(view));
  dashboard('/dashboard/webhooks', (view) => webhooksPage(view));
  dashboard('/dashboard/webhooks/:id', (view, request) =>
    webhookDetailPage(view, (request.params as { id: string }).id),
  );
  dashboard('/dashboard/audit', (view, request) => auditPage(view, stringParam(queryOf(request).after)));
  dashboard('/dashboard/playground', (view) => playgroundPage(view));

  registerPlaygroundStream(app, c);
}
