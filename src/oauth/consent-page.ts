import { formErrorMessage } from '../accounts/routes/form-flow.js';
import { html, type SafeHtml } from '../portal/html.js';
import { layout, type PortalContext } from '../portal/layout.js';
import { type OAuthScope, SCOPE_DESCRIPTIONS } from './scopes.js';

/** Who asks for access, as the page shows it: the registered name is the app's own claim. */
export interface RequestingApp {
  name: string;
  /** Where the browser goes afterwards; its host is shown so a look-alike name cannot hide it. */
  redirectUri: string;
}

const redirectHost = (uri: string) => URL.parse(uri)?.host || uri;

function header(app: RequestingApp, error: string | undefined): SafeHtml {
  const message = formErrorMessage(error);
  return html`<h1>Authorize <span data-testid="oauth-client">${app.name}</span></h1>
  <p class="muted">This app asks for access to your account. Afterwards you return to
  <strong data-testid="oauth-redirect-host">${redirectHost(app.redirectUri)}</strong>.</p>
  ${message ? html`<div class="alert error" role="alert" id="form-error">${message}</div>` : ''}`;
}

/** Not signed in: sign in, or create an account right here (the same sign-up as /register). */
export function signInToAuthorizePage(
  ctx: PortalContext,
  opts: { uid: string; app: RequestingApp; csrfToken: string; error?: string | undefined },
): SafeHtml {
  const action = `/oauth/interaction/${opts.uid}`;
  const body = html`<section class="auth-card">
  ${header(opts.app, opts.error)}
  <h2>New here? Create an account</h2>
  <p class="muted">You get $${ctx.config.signup.trialCredits.toFixed(2)} of trial credits.</p>
  <form method="post" action="${action}/signup" class="stack" id="oauth-signup">
    <input type="hidden" name="_csrf" value="${opts.csrfToken}">
    <label for="signup-email">Email</label>
    <input id="signup-email" name="email" type="email" autocomplete="email" required maxlength="320">
    <label for="signup-password">Password</label>
    <input id="signup-password" name="password" type="password" autocomplete="new-password" required minlength="10" maxlength="1024">
    <p class="hint">At least 10 characters.</p>
    <button type="submit">Create account and continue</button>
  </form>
  <h2>Already have an account? Log in</h2>
  <form method="post" action="${action}/login" class="stack" id="oauth-login">
    <input type="hidden" name="_csrf" value="${opts.csrfToken}">
    <label for="login-email">Email</label>
    <input id="login-email" name="email" type="email" autocomplete="email" required maxlength="320">
    <label for="login-password">Password</label>
    <input id="login-password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
    <button type="submit">Log in and continue</button>
  </form>
</section>`;
  return layout(ctx, { title: `Authorize ${opts.app.name}`, body });
}

/** Signed in: approve (some of) the requested scopes for the current organization, or deny. */
export function consentPage(
  ctx: PortalContext,
  opts: {
    uid: string;
    app: RequestingApp;
    csrfToken: string;
    email: string;
    organization: string;
    /** Requested scopes the member's role may grant. */
    grantable: readonly OAuthScope[];
    /** Requested scopes the member's role may not grant. */
    refused: readonly OAuthScope[];
    error?: string | undefined;
  },
): SafeHtml {
  const action = `/oauth/interaction/${opts.uid}`;
  const body = html`<section class="auth-card">
  ${header(opts.app, opts.error)}
  <p>Signed in as <strong data-testid="oauth-email">${opts.email}</strong>, for the organization
  <strong data-testid="oauth-organization">${opts.organization}</strong>.</p>
  <form method="post" action="${action}/confirm" class="stack" id="oauth-consent">
    <input type="hidden" name="_csrf" value="${opts.csrfToken}">
    <fieldset class="checks">
      <legend>Allow ${opts.app.name} to</legend>
      ${
        opts.grantable.length === 0
          ? html`<p class="muted">The app asks for nothing your role can grant.</p>`
          : opts.grantable.map(
              (scope) => html`<label><input type="checkbox" name="scope" value="${scope}" checked>
        <span>${SCOPE_DESCRIPTIONS[scope]} <code>${scope}</code></span></label>`,
            )
      }
    </fieldset>
    ${
      opts.refused.length > 0
        ? html`<p class="muted">Your role cannot grant: ${opts.refused.join(', ')}.</p>`
        : ''
    }
    <button type="submit" name="decision" value="approve">Approve</button>
  </form>
  <form method="post" action="${action}/deny" class="inline">
    <input type="hidden" name="_csrf" value="${opts.csrfToken}">
    <button type="submit" class="secondary">Deny</button>
  </form>
  <p class="muted">You can revoke this app at any time under Connected apps in the dashboard.</p>
</section>`;
  return layout(ctx, { title: `Authorize ${opts.app.name}`, body });
}

/** The authorization request is over or unknown (expired, already answered, another browser). */
export function interactionGonePage(ctx: PortalContext): SafeHtml {
  return layout(ctx, {
    title: 'Authorization expired',
    body: html`<section class="auth-card">
  <h1>This authorization request has expired</h1>
  <p>Go back to the app and connect again.</p>
</section>`,
  });
}
