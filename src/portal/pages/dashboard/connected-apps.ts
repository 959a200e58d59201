import { can } from '../../../accounts/roles.js';
import type { ConnectedApp, OAuthGrants } from '../../../oauth/grants.js';
import { html, type SafeHtml } from '../../html.js';
import { layout } from '../../layout.js';
import { type DashboardView, loadSection } from './context.js';
import { timeCell, unavailable } from './format.js';

function appRow(app: ConnectedApp, csrfToken: string, showMember: boolean): SafeHtml {
  const name = app.clientName ?? app.clientId;
  return html`<tr data-app-id="${app.id}">
  <td data-label="App">${name}<div class="muted small"><code>${app.clientId}</code></div></td>
  <td data-label="Scopes">${app.scopes.map((s) => html`<code>${s}</code> `)}</td>
  ${showMember ? html`<td data-label="Authorized by">${app.userEmail ?? app.userId}</td>` : ''}
  <td data-label="Authorized">${timeCell(app.createdAt)}</td>
  <td data-label="Last used" data-testid="app-last-used">${timeCell(app.lastUsedAt, 'never')}</td>
  <td class="row-actions"><form method="post" action="/dashboard/apps/${app.id}/revoke" class="inline">
    <input type="hidden" name="_csrf" value="${csrfToken}">
    <button type="submit" class="small danger" aria-label="Revoke ${name}">Revoke</button></form></td>
</tr>`;
}

/**
 * `GET /dashboard/apps`: the apps authorized by OAuth to act for the organization, with their scopes
 * and last use. Members see the apps they authorized; owners and admins see every member's.
 * Revoking ends the app's tokens at once.
 */
export async function connectedAppsPage(
  view: DashboardView,
  grants: OAuthGrants,
  notice?: string,
): Promise<SafeHtml> {
  const { session } = view;
  const everyone = can(session.role, 'keys.manage');
  const apps = await loadSection(view, () =>
    grants.list(session.tenant.id, everyone ? undefined : session.user.id),
  );
  const rows = apps.ok ? apps.data : [];
  const columns = everyone ? 6 : 5;
  const body = html`<h1>Connected apps</h1>
<p class="muted">Apps and agents you authorized with OAuth (for example an MCP client) act for this
organization with the scopes shown. Revoke one and its tokens stop working immediately.</p>
${notice === 'revoked' ? html`<div class="alert ok" role="status" id="apps-notice">The app was revoked.</div>` : ''}
${unavailable(apps, 'The list of connected apps')}
<div class="table-wrap"><table class="stack-on-small" data-testid="apps-table">
  <caption>Authorized apps (times in UTC)</caption>
  <thead><tr><th scope="col">App</th><th scope="col">Scopes</th>${everyone ? html`<th scope="col">Authorized by</th>` : ''}
  <th scope="col">Authorized</th><th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>${
    rows.length
      ? rows.map((app) => appRow(app, session.csrfToken, everyone))
      : html`<tr><td colspan="${columns}" class="muted">No connected apps.</td></tr>`
  }</tbody>
</table></div>`;
  return layout(view.ctx, { title: 'Connected apps', body, viewer: view.viewer, active: 'apps' });
}
