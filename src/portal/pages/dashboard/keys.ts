import { listApiKeys } from '../../../accounts/key-queries.js';
import type { ApiKeyView } from '../../../accounts/routes/key-schemas.js';
import { html, type SafeHtml } from '../../html.js';
import { layout } from '../../layout.js';
import { type DashboardView, loadSection } from './context.js';
import { timeCell, unavailable } from './format.js';
import { secretPanel } from './overview.js';

function keyRow(k: ApiKeyView): SafeHtml {
  const active = k.status === 'active';
  return html`<tr data-key-id="${k.id}">
  <td data-label="Name">${k.name}<div class="muted small">${k.scopes.join(', ')}</div></td>
  <td data-label="Key"><code>${k.prefix}…${k.last4}</code></td>
  <td data-label="Created">${timeCell(k.created)}</td>
  <td data-label="Last used">${timeCell(k.last_used, 'never')}</td>
  <td data-label="Status">${active ? html`<span class="badge ok">active</span>` : html`<span class="badge bad">revoked</span>`}</td>
  <td class="row-actions">${
    active
      ? html`<form class="inline" data-key-action="rotate" data-key-id="${k.id}"
        data-confirm="Rotate “${k.name}”? The current key stops working immediately and a new one is shown once.">
        <button type="submit" class="small secondary">Rotate</button></form>
      <form class="inline" data-key-action="revoke" data-key-id="${k.id}"
        data-confirm="Revoke “${k.name}”? Programs using it will get 401 errors from now on.">
        <button type="submit" class="small danger">Revoke</button></form>`
      : ''
  }</td>
</tr>`;
}

/** `GET /dashboard/keys`: create, rotate and revoke keys; the list never holds a key itself. */
export async function keysPage(view: DashboardView): Promise<SafeHtml> {
  const keys = await loadSection(view, () => listApiKeys(view.services, view.session.tenant.id));
  const rows = keys.ok ? keys.data.data : [];
  const body = html`<h1>API keys</h1>
<p class="muted">Send a key as <code>Authorization: Bearer sk-simo-…</code> or <code>X-API-Key</code>. Keys are
stored only as hashes: a key is shown once, when it is created or rotated.</p>
<div id="status" role="status" aria-live="polite" hidden></div>
${secretPanel({
  id: 'new-key-panel',
  title: 'Your new API key',
  note: 'Copy it now: this is the only time it is shown.',
  doneId: 'new-key-done',
})}
<section class="panel" aria-labelledby="create-title">
  <h2 id="create-title">Create a key</h2>
  <form id="create-key-form" class="row" data-status="status">
    <div class="field"><label for="key-name">Name</label>
    <input id="key-name" name="name" maxlength="100" placeholder="e.g. production backend" required></div>
    <button type="submit">Create key</button>
  </form>
</section>
${unavailable(keys, 'The key list')}
<div class="table-wrap" id="keys-list"><table class="stack-on-small" data-testid="keys-table">
  <caption>Your keys (times in UTC)</caption>
  <thead><tr><th scope="col">Name and scopes</th><th scope="col">Key</th><th scope="col">Created</th>
  <th scope="col">Last used</th><th scope="col">Status</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>${rows.length ? rows.map(keyRow) : html`<tr><td colspan="6" class="muted">No keys yet.</td></tr>`}</tbody>
</table></div>`;
  return layout(view.ctx, {
    title: 'API keys',
    body,
    viewer: view.viewer,
    active: 'keys',
    scripts: ['keys.js'],
  });
}
