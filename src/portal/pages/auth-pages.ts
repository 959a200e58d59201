import { formErrorMessage } from '../../accounts/routes/form-flow.js';
import { html, type SafeHtml } from '../html.js';
import { layout, type PortalContext } from '../layout.js';

interface AuthFormOptions {
  csrfToken: string;
  error?: string | undefined;
  email?: string | undefined;
}

function errorBox(message: string | undefined): SafeHtml | '' {
  return message ? html`<div class="alert error" role="alert" id="form-error">${message}</div>` : '';
}

/** `GET /register`: the sign-up form (posts to the accounts module's `POST /register`). */
export function registerPage(ctx: PortalContext, opts: AuthFormOptions): SafeHtml {
  const message = formErrorMessage(opts.error);
  const body = html`<section class="auth-card">
  <h1>Create your account</h1>
  <p class="muted">You get an API key right away and $${ctx.config.signup.trialCredits.toFixed(2)} of trial credits.</p>
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
  ${errorBox(message)}
  <form method="post" action="/login" class="stack">
    <input type="hidden" name="_csrf" value="${opts.csrfToken}">
    <label for="email">Email</label>
    <input id="email" name="email" type="email" autocomplete="email" required maxlength="320"
      value="${opts.email ?? ''}"${message ? html` aria-describedby="form-error"` : ''}>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
    <button type="submit">Log in</button>
  </form>
  <p>New here? <a href="/register">Create an account</a>.</p>
</section>`;
  return layout(ctx, { title: 'Log in', body });
}
