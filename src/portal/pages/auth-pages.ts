import { formErrorMessage, safeNext } from '../../accounts/routes/form-flow.js';
import { html, type SafeHtml } from '../html.js';
import { layout, type PortalContext } from '../layout.js';

interface AuthFormOptions {
  csrfToken: string;
  error?: string | undefined;
  email?: string | undefined;
  /** A short notice code (`reset_sent`, `password_reset`) shown above the login form. */
  notice?: string | undefined;
  /** Where to go after signing in (an invitation page). */
  next?: string | undefined;
  /** Trial credits wait for a verified email address (the sign-up form says so). */
  verifyEmail?: boolean;
  /** The label of the single sign-on button, when SSO is configured. */
  sso?: string | undefined;
}

const NOTICES: Record<string, string> = {
  reset_sent: 'If an account exists for that address, we sent it a link to choose a new password.',
  password_reset: 'Your password was changed. Log in with the new one.',
};

function noticeBox(code: string | undefined): SafeHtml | '' {
  const message = code && Object.hasOwn(NOTICES, code) ? NOTICES[code] : undefined;
  return message ? html`<div class="alert ok" role="status" id="form-notice">${message}</div>` : '';
}

function errorBox(message: string | undefined): SafeHtml | '' {
  return message ? html`<div class="alert error" role="alert" id="form-error">${message}</div>` : '';
}

/** `GET /register`: the sign-up form (posts to the accounts module's `POST /register`). */
export function registerPage(ctx: PortalContext, opts: AuthFormOptions): SafeHtml {
  const message = formErrorMessage(opts.error);
  const body = html`<section class="auth-card">
  <h1>Create your account</h1>
  <p class="muted">You get an API key right away and $${ctx.config.signup.trialCredits.toFixed(2)} of trial credits${
    opts.verifyEmail ? ' once you verify your email address' : ''
  }.</p>
  ${errorBox(message)}
  <form method="post" action="/register" class="stack">
    <input type="hidden" name="_csrf" value="${opts.csrfToken}">
    <label for="email">Email</label>
    <input id="email" name="email" type="email" autocomplete="email" required maxlength="320"
      value="${opts.email ?? ''}"${message ? html` aria-describedby="form-error"` : ''}>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="new-password" required minlength="10"
      maxlength="1024" aria-describedby="password-hint">
    <p id="password-hint" class="hint">At least 10 characters.</p>
    <button type="submit">Create account</button>
  </form>
  <p>Already have an account? <a href="/login">Log in</a>.</p>
</section>`;
  return layout(ctx, { title: 'Sign up', body });
}

/** `GET /login`: the login form (posts to the accounts module's `POST /login`). */
export function loginPage(ctx: PortalContext, opts: AuthFormOptions): SafeHtml {
  const message = formErrorMessage(opts.error);
  const body = html`<section class="auth-card">
  <h1>Log in</h1>
  ${noticeBox(opts.notice)}
  ${errorBox(message)}
  <form method="post" action="/login" class="stack">
    <input type="hidden" name="_csrf" value="${opts.csrfToken}">
    ${safeNext(opts.next) ? html`<input type="hidden" name="next" value="${safeNext(opts.next)}">` : ''}
    <label for="email">Email</label>
    <input id="email" name="email" type="email" autocomplete="email" required maxlength="320"
      value="${opts.email ?? ''}"${message ? html` aria-describedby="form-error"` : ''}>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
    <button type="submit">Log in</button>
  </form>
  ${opts.sso ? html`<p><a class="button secondary" href="/login/sso">Sign in with ${opts.sso}</a></p>` : ''}
  <p><a href="/forgot-password">Forgot password?</a></p>
  <p>New here? <a href="/register">Create an account</a>.</p>
</section>`;
  return layout(ctx, { title: 'Log in', body });
}

/** `GET /forgot-password`: asks for the address to mail a reset link to. */
export function forgotPasswordPage(ctx: PortalContext, opts: AuthFormOptions): SafeHtml {
  const body = html`<section class="auth-card">
  <h1>Forgot your password?</h1>
  <p class="muted">We mail you a link to choose a new one. It works once, for one hour.</p>
  ${errorBox(formErrorMessage(opts.error))}
  <form method="post" action="/forgot-password" class="stack">
    <input type="hidden" name="_csrf" value="${opts.csrfToken}">
    <label for="email">Email</label>
    <input id="email" name="email" type="email" autocomplete="email" required maxlength="320">
    <button type="submit">Mail me a link</button>
  </form>
  <p><a href="/login">Back to log in</a></p>
</section>`;
  return layout(ctx, { title: 'Forgot password', body });
}

/** `GET /reset-password?token=…`: the new-password form, or why the link no longer works. */
export function resetPasswordPage(
  ctx: PortalContext,
  opts: AuthFormOptions & { token: string; valid: boolean },
): SafeHtml {
  const body = opts.valid
    ? html`<section class="auth-card">
  <h1>Choose a new password</h1>
  ${errorBox(formErrorMessage(opts.error))}
  <form method="post" action="/reset-password" class="stack">
    <input type="hidden" name="_csrf" value="${opts.csrfToken}">
    <input type="hidden" name="token" value="${opts.token}">
    <label for="password">New password</label>
    <input id="password" name="password" type="password" autocomplete="new-password" required minlength="10" maxlength="1024">
    <p class="hint">At least 10 characters. Every other session of your account ends.</p>
    <button type="submit">Set password</button>
  </form>
</section>`
    : html`<section class="auth-card">
  <h1>This link does not work any more</h1>
  <p>It was already used or has expired. <a href="/forgot-password">Ask for a new one</a>.</p>
</section>`;
  return layout(ctx, { title: 'Reset password', body });
}

/** The answer to opening a verification link. */
export function verifyEmailPage(ctx: PortalContext, opts: { ok: boolean; signedIn: boolean }): SafeHtml {
  const body = opts.ok
    ? html`<section class="auth-card">
  <h1>Email address verified</h1>
  <p data-testid="verified">Thank you. Your trial credits are on your account.</p>
  <p><a class="button" href="${opts.signedIn ? '/dashboard' : '/login'}">${opts.signedIn ? 'Go to the dashboard' : 'Log in'}</a></p>
</section>`
    : html`<section class="auth-card">
  <h1>This link does not work any more</h1>
  <p>It was already used or has expired.</p>
</section>`;
  return layout(ctx, { title: 'Verify email', body });
}

/** `GET /invite/:token`: join an organization, by creating a login or while signed in. */
export function invitePage(
  ctx: PortalContext,
  opts: {
    invite: { organization: string; email: string; role: string } | null;
    token: string;
    csrfToken: string;
    error?: string | undefined;
    /** The signed-in person, when there is one. */
    signedInAs?: { email: string; csrfToken: string } | undefined;
    hasLogin: boolean;
  },
): SafeHtml {
  const { invite } = opts;
  if (!invite)
    return layout(ctx, {
      title: 'Invitation',
      body: html`<section class="auth-card">
  <h1>This invitation does not work any more</h1>
  <p>It was already used, withdrawn or has expired. Ask the person who invited you for a new one.</p>
</section>`,
    });
  const intro = html`<h1>Join ${invite.organization}</h1>
  <p>You are invited as <strong data-testid="invite-role">${invite.role}</strong> (${invite.email}).</p>
  ${errorBox(formErrorMessage(opts.error))}`;
  let action: SafeHtml;
  if (opts.signedInAs)
    action = html`<form method="post" action="/invite/${opts.token}/accept" class="stack">
    <input type="hidden" name="_csrf" value="${opts.signedInAs.csrfToken}">
    <p class="muted">Signed in as ${opts.signedInAs.email}.</p>
    <button type="submit">Accept the invitation</button>
  </form>`;
  else if (opts.hasLogin)
    action = html`<p>You already have a login. <a class="button" href="/login?next=/invite/${opts.token}">Log in to accept</a></p>`;
  else
    action = html`<form method="post" action="/invite/${opts.token}" class="stack">
    <input type="hidden" name="_csrf" value="${opts.csrfToken}">
    <label for="password">Choose a password</label>
    <input id="password" name="password" type="password" autocomplete="new-password" required minlength="10" maxlength="1024">
    <p class="hint">At least 10 characters. Your login is ${invite.email}.</p>
    <button type="submit">Create login and join</button>
  </form>
  <p>Already have a login with this address? <a href="/login?next=/invite/${opts.token}">Log in to accept</a>.</p>`;
  return layout(ctx, {
    title: 'Invitation',
    body: html`<section class="auth-card">${intro}${action}</section>`,
  });
}
