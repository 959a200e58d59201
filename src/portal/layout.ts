import { can, type Permission, permissionForPage, type Role } from '../accounts/roles.js';
import type { ResolvedConfig } from '../config/load.js';
import type { AssetStore } from './assets.js';
import { type HtmlValue, html, type SafeHtml } from './html.js';

/** What every page needs to render: the config (brand, public URL, catalog) and the asset URLs. */
export interface PortalContext {
  config: ResolvedConfig;
  assets: AssetStore;
}

/** The signed-in user, for the dashboard chrome. */
export interface Viewer {
  email: string;
  /** The session's CSRF token: the logout form and every fetch from the page carry it. */
  csrfToken: string;
  /** The role in the current organization: the navigation shows only what it allows. */
  role?: Role;
  /** The current organization's name. */
  organization?: string;
}

export interface PageOptions {
  title: string;
  description?: string;
  body: SafeHtml;
  /** Extra scripts by asset name (always loaded `defer`). */
  scripts?: string[];
  styles?: string[];
  /** Set for dashboard pages. */
  viewer?: Viewer;
  /** Which dashboard section is active, for `aria-current`. */
  active?: DashboardSection;
}

export type DashboardSection =
  | 'overview'
  | 'keys'
  | 'usage'
  | 'billing'
  | 'webhooks'
  | 'audit'
  | 'playground'
  | 'members'
  | 'apps'
  | 'account';

const DASHBOARD_NAV: Array<[DashboardSection, string, string]> = [
  ['overview', 'Overview', '/dashboard'],
  ['keys', 'API keys', '/dashboard/keys'],
  ['usage', 'Usage', '/dashboard/usage'],
  ['billing', 'Credits & invoices', '/dashboard/billing'],
  ['webhooks', 'Webhooks', '/dashboard/webhooks'],
  ['audit', 'Audit log', '/dashboard/audit'],
  ['playground', 'Playground', '/dashboard/playground'],
  ['members', 'Members', '/dashboard/members'],
  ['apps', 'Connected apps', '/dashboard/apps'],
  ['account', 'Account', '/dashboard/account'],
];

const allowed = (role: Role | undefined, href: string) => {
  const needed: Permission | null = permissionForPage(href);
  return needed === null || role === undefined || can(role, needed);
};

function publicHeader(ctx: PortalContext): SafeHtml {
  return html`<header class="site-header">
  <a class="brand" href="/">${ctx.config.brand.name}</a>
  <nav aria-label="Main">
    <ul>
      <li><a href="/#models">Models</a></li>
      <li><a href="/docs">Docs</a></li>
      <li><a href="/compare">Migrate</a></li>
      <li><a href="/login">Log in</a></li>
      <li><a class="button small" href="/register">Sign up</a></li>
    </ul>
  </nav>
</header>`;
}

function dashboardHeader(ctx: PortalContext, viewer: Viewer): SafeHtml {
  return html`<header class="site-header">
  <a class="brand" href="/dashboard">${ctx.config.brand.name}</a>
  <nav aria-label="Account">
    <ul>
      <li><a href="/docs">Docs</a></li>
      ${viewer.organization ? html`<li><a href="/dashboard/account" data-testid="organization">${viewer.organization}</a>${viewer.role ? html` <span class="badge" data-testid="viewer-role">${viewer.role}</span>` : ''}</li>` : ''}
      <li class="viewer-email"><span class="muted" data-testid="viewer-email">${viewer.email}</span></li>
      <li>
        <form method="post" action="/logout" class="inline">
          <input type="hidden" name="_csrf" value="${viewer.csrfToken}">
          <button type="submit" class="link">Log out</button>
        </form>
      </li>
    </ul>
  </nav>
</header>`;
}

function dashboardNav(active: DashboardSection | undefined, role: Role | undefined): SafeHtml {
  return html`<nav class="side-nav" aria-label="Dashboard">
  <ul>
    ${DASHBOARD_NAV.filter(([, , href]) => allowed(role, href)).map(
      ([id, label, href]) =>
        html`<li><a href="${href}"${id === active ? html` aria-current="page"` : ''}>${label}</a></li>`,
    )}
  </ul>
</nav>`;
}

/** The whole HTML document around a page body. */
export function layout(ctx: PortalContext, page: PageOptions): SafeHtml {
  const { brand } = ctx.config;
  const styles = ['portal.css', ...(page.styles ?? [])];
  const scripts = ['portal.js', ...(page.scripts ?? [])];
  const main: HtmlValue = page.viewer
    ? html`<div class="dashboard">${dashboardNav(page.active, page.viewer.role)}<main id="main" class="dash-main">${page.body}</main></div>`
    : html`<main id="main">${page.body}</main>`;
  return html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title} · ${brand.name}</title>
<meta name="description" content="${page.description ?? `${brand.name}: an OpenAI-compatible AI API.`}">
${page.viewer ? html`<meta name="csrf-token" content="${page.viewer.csrfToken}">` : ''}
<link rel="icon" href="${ctx.assets.url('favicon.svg')}" type="image/svg+xml">
${styles.map((s) => html`<link rel="stylesheet" href="${ctx.assets.url(s)}">`)}
${scripts.map((s) => html`<script src="${ctx.assets.url(s)}" defer></script>`)}
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
${page.viewer ? dashboardHeader(ctx, page.viewer) : publicHeader(ctx)}
${main}
<footer class="site-footer">
  <p>${brand.name} · <a href="/docs">Docs</a> · <a href="/compare">Migrate</a> · <a href="/llms.txt">llms.txt</a> ·
  <a href="/openapi.json">OpenAPI</a> · <a href="mailto:${brand.supportEmail}">${brand.supportEmail}</a></p>
</footer>
</body>
</html>`;
}
