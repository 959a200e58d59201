import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { InteractionDetails } from 'oidc-provider';
import { z } from 'zod';
import { formCsrfGuard, formErrors } from '../accounts/routes/form-flow.js';
import { type LoginDeps, signInWithPassword } from '../accounts/routes/login.js';
import { type SignUpDeps, signUpWithSession } from '../accounts/routes/register.js';
import type { Container } from '../container.js';
import { defineRoute, publicRoute } from '../http/define-route.js';
import { issueFormCsrf } from '../http/form-csrf.js';
import { sessionFromRequest, sessionGuard, writeSessionCookie } from '../http/session-auth.js';
import type { PortalContext } from '../portal/layout.js';
import { PAGE_CSP, pageDoc, sendPage } from '../portal/page.js';
import {
  consentPage,
  interactionGonePage,
  type RequestingApp,
  signInToAuthorizePage,
} from './consent-page.js';
import { interactionPath } from './provider.js';
import { grantableScopes, isOAuthScope, parseScopes } from './scopes.js';

/** The OAuth provider and its grants, sessions, and sign-in and sign-up for the consent pages. */
export type InteractionRouteDeps = Pick<Container, 'config' | 'oauth' | 'sessions' | 'flash'> &
  LoginDeps &
  SignUpDeps;

const params = z.object({ uid: z.string().max(64) });
const credentials = z.object({ email: z.string().max(320), password: z.string().max(1024) });
const decision = z.object({ scope: z.union([z.string(), z.array(z.string())]).optional() });

/** A form post that fails goes back to the authorization page with the reason. */
const backToPage = formErrors((request) => interactionPath((request.params as { uid: string }).uid));

/**
 * The authorization step of the OAuth server, in the portal: `GET /oauth/interaction/:uid` shows a
 * sign-in / sign-up form to a visitor and the consent form to a signed-in member; the forms post
 * back here. Approving records a grant for the member's organization with the scopes chosen (never
 * more than the member's role allows) and hands the browser back to the authorization server.
 */
export function registerInteractionRoutes(
  app: FastifyInstance,
  deps: InteractionRouteDeps,
  ctx: PortalContext,
): void {
  const { provider, grants } = deps.oauth;
  const signedIn = sessionGuard(deps);

  /** The interaction this browser is in (its cookie), if it is the one in the URL. */
  const interactionOf = async (request: FastifyRequest, reply: FastifyReply) => {
    const { uid } = request.params as { uid: string };
    const details = await (await provider())
      .interactionDetails(request.raw, reply.raw)
      .catch(() => undefined);
    return details && details.uid === uid ? details : undefined;
  };
  const requestingApp = async (details: InteractionDetails): Promise<RequestingApp> => {
    const client = await (await provider()).Client.find(details.params.client_id);
    return {
      name: client?.clientName ?? details.params.client_id,
      redirectUri: details.params.redirect_uri ?? '',
    };
  };
  const gone = (reply: FastifyReply) =>
    sendPage(reply, interactionGonePage(ctx), { status: 410, private: true });

  defineRoute(app, {
    method: 'GET',
    url: '/oauth/interaction/:uid',
    guard: publicRoute,
    doc: pageDoc('OAuth authorization: sign in or sign up, then approve the app'),
    schema: { params },
    handler: async (request, reply) => {
      const details = await interactionOf(request, reply);
      if (!details) return gone(reply);
      const app = await requestingApp(details);
      const error = (request.query as { error?: unknown } | undefined)?.error;
      const errorCode = typeof error === 'string' ? error : undefined;
      // The consent form is followed by redirects to the app: CSP form-action must allow its origin.
      const csp = consentCsp(app.redirectUri);
      const session = await sessionFromRequest(deps, request);
      if (!session || session.tenant.suspended) {
        const csrfToken = issueFormCsrf(request, reply);
        const page = signInToAuthorizePage(ctx, { uid: details.uid, app, csrfToken, error: errorCode });
        return sendPage(reply, page, { private: true, csp });
      }
      const requested = requestedScopes(details);
      const grantable = grantableScopes(requested, session.role);
      const page = consentPage(ctx, {
        uid: details.uid,
        app,
        csrfToken: session.csrfToken,
        email: session.user.email,
        organization: session.tenant.name,
        grantable,
        refused: requested.filter((s) => !grantable.includes(s)),
        error: errorCode,
      });
      return sendPage(reply, page, { private: true, csp });
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/oauth/interaction/:uid/login',
    guard: publicRoute,
    doc: pageDoc('OAuth authorization: sign in'),
    preValidation: [formCsrfGuard],
    errorHandler: backToPage,
    schema: { params, body: credentials },
    handler: async (request, reply) => {
      const { session } = await signInWithPassword(deps, request, request.body);
      writeSessionCookie(reply, session);
      return reply.header('cache-control', 'no-store').redirect(interactionPath(request.params.uid), 303);
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/oauth/interaction/:uid/signup',
    guard: publicRoute,
    doc: pageDoc('OAuth authorization: create an account'),
    preValidation: [formCsrfGuard],
    errorHandler: backToPage,
    schema: { params, body: credentials },
    handler: async (request, reply) => {
      await signUpWithSession(deps, request, reply, request.body);
      return reply.header('cache-control', 'no-store').redirect(interactionPath(request.params.uid), 303);
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/oauth/interaction/:uid/confirm',
    guard: signedIn,
    doc: pageDoc('OAuth authorization: approve the app'),
    errorHandler: backToPage,
    schema: { params, body: decision },
    handler: async (request, reply) => {
      const details = await interactionOf(request, reply);
      if (!details) return gone(reply);
      const { session } = request;
      const grantable = grantableScopes(requestedScopes(details), session.role);
      const chosen = [request.body.scope ?? []].flat().filter(isOAuthScope);
      const approved = grantable.filter((s) => chosen.includes(s));
      if (approved.length === 0)
        return reply
          .header('cache-control', 'no-store')
          .redirect(`${interactionPath(details.uid)}?error=no_scope`, 303);
      // A second submission of the same consent (a double click) records no second app.
      if (!(await grants.decide(details.uid))) return gone(reply);
      const clientId = details.params.client_id;
      // Our scopes are both OpenID scopes of the server and scopes of each resource: the grant holds
      // them as both, and what was asked but not approved is recorded as rejected (not asked again).
      const requested = (details.params.scope ?? '').split(/\s+/).filter(Boolean);
      const rejected = requested.filter((s) => isOAuthScope(s) && !approved.includes(s));
      const { Grant } = await provider();
      const grant = new Grant({ accountId: session.user.id, clientId });
      grant.addOIDCScope([...(requested.includes('openid') ? ['openid'] : []), ...approved].join(' '));
      if (rejected.length > 0) grant.rejectOIDCScope(rejected.join(' '));
      for (const resource of resourcesOf(details, deps.config.publicUrl)) {
        grant.addResourceScope(resource, approved.join(' '));
        if (rejected.length > 0) grant.rejectResourceScope(resource, rejected.join(' '));
      }
      const grantId = await grant.save();
      const app = await requestingApp(details);
      await grants.record({
        grantId,
        tenantId: session.tenant.id,
        userId: session.user.id,
        clientId,
        clientName: app.name === clientId ? null : app.name,
        redirectUri: app.redirectUri || null,
        scopes: approved,
        ip: request.ip,
      });
      reply.hijack();
      await (await provider()).interactionFinished(
        request.raw,
        reply.raw,
        { login: { accountId: session.user.id }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/oauth/interaction/:uid/deny',
    guard: signedIn,
    doc: pageDoc('OAuth authorization: deny the app'),
    errorHandler: backToPage,
    schema: { params },
    handler: async (request, reply) => {
      const details = await interactionOf(request, reply);
      if (!details) return gone(reply);
      reply.hijack();
      await (await provider()).interactionFinished(
        request.raw,
        reply.raw,
        { error: 'access_denied', error_description: 'The user denied the request.' },
        { mergeWithLastSubmission: false },
      );
    },
  });
}

/** Our scopes among those the app asked for. */
const requestedScopes = (details: InteractionDetails) => parseScopes(details.params.scope);

/** The resources the authorization request names (the whole API when it names none). */
function resourcesOf(details: InteractionDetails, publicUrl: string): string[] {
  const resource = (details.params as Record<string, unknown>).resource;
  if (typeof resource === 'string') return [resource];
  if (Array.isArray(resource)) return resource.filter((r): r is string => typeof r === 'string');
  return [publicUrl];
}

/** The page CSP, with the app's redirect target added to `form-action`. */
function consentCsp(redirectUri: string): string {
  const url = URL.parse(redirectUri);
  if (!url || /^(javascript|data|vbscript|blob|file):$/.test(url.protocol)) return PAGE_CSP;
  // A native app's private-use scheme (`com.example.app:`) has no origin: allow the scheme.
  const target = url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol;
  return PAGE_CSP.replace("form-action 'self'", `form-action 'self' ${target}`);
}
