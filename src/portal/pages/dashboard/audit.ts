import { readAuditLog } from '../../../accounts/audit-log.js';
import { html, type SafeHtml } from '../../html.js';
import { layout } from '../../layout.js';
import { type DashboardView, loadSection } from './context.js';
import { timeCell, unavailable } from './format.js';

const CURSOR = /^\d{1,15}$/;

/** `GET /dashboard/audit`: who did what on the account, newest first, paged with the API's cursor. */
export async function auditPage(view: DashboardView, after: string | undefined): Promise<SafeHtml> {
  const cursor = after && CURSOR.test(after) ? after : undefined;
  const result = await loadSection(view, () =>
    readAuditLog(view.services, view.session.tenant.id, { limit: 50, after: cursor }),
  );
  const rows = result.ok ? result.data.data : [];
  const next = result.ok && result.data.has_more ? result.data.next_cursor : null;
  const body = html`<h1>Audit log</h1>
<p class="muted">Sign-ins, key changes, webhooks and credits on this account. Secrets never appear here.</p>
${unavailable(result, 'The audit log')}
<div class="table-wrap"><table data-testid="audit-table">
  <caption>Recent events (times in UTC)</caption>
  <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Actor</th><th scope="col">Target</th>
  <th scope="col">IP</th><th scope="col">Details</th></tr></thead>
  <tbody>${
    rows.length
      ? rows.map(
          (r) => html`<tr><td>${timeCell(r.created)}</td><td><code>${r.action}</code></td><td>${r.actor}</td>
          <td>${r.target ?? ''}</td><td>${r.ip ?? ''}</td>
          <td>${r.detail ? html`<code>${JSON.stringify(r.detail)}</code>` : ''}</td></tr>`,
        )
      : html`<tr><td colspan="6" class="muted">Nothing recorded yet.</td></tr>`
  }</tbody>
</table></div>
${next ? html`<p class="pager"><a class="button secondary" href="/dashboard/audit?after=${next}">Older entries</a></p>` : ''}`;
  return layout(view.ctx, { title: 'Audit log', body, viewer: view.viewer, active: 'audit' });
}
