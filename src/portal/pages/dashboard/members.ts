import type { MemberService, MemberView, Organization } from '../../../accounts/members.js';
import { assignableBy, type Role } from '../../../accounts/roles.js';
import { html, type SafeHtml } from '../../html.js';
import { layout } from '../../layout.js';
import { type DashboardView, loadSection } from './context.js';
import { timeCell, unavailable } from './format.js';

function roleOptions(roles: readonly Role[], selected?: Role): SafeHtml[] {
  return roles.map((r) => html`<option value="${r}"${r === selected ? html` selected` : ''}>${r}</option>`);
}

function memberRow(m: MemberView, mayAssign: readonly Role[], self: string): SafeHtml {
  const editable =
    m.status === 'active' && m.id !== self && (m.role !== 'owner' || mayAssign.includes('owner'));
  return html`<tr data-member-id="${m.id}">
  <td data-label="Email">${m.email}${m.id === self ? html` <span class="muted small">(you)</span>` : ''}</td>
  <td data-label="Role">${
    editable
      ? html`<form class="inline" data-member-action="role" data-member-id="${m.id}">
      <label class="visually-hidden" for="role-${m.id}">Role of ${m.email}</label>
      <select id="role-${m.id}" name="role">${roleOptions(mayAssign, m.role)}</select>
      <button type="submit" class="small secondary">Change</button></form>`
      : html`<span data-testid="member-role">${m.role}</span>`
  }</td>
  <td data-label="Status">${m.status === 'active' ? html`<span class="badge ok">member</span>` : html`<span class="badge">invited</span>`}</td>
  <td data-label="Since">${timeCell(m.created)}</td>
  <td class="row-actions">${
    editable || m.status === 'invited'
      ? html`<form class="inline" data-member-action="remove" data-member-id="${m.id}"
        data-confirm="${m.status === 'invited' ? `Withdraw the invitation of ${m.email}?` : `Remove ${m.email}? Their sessions end at once; the keys they created stay.`}">
        <button type="submit" class="small danger">${m.status === 'invited' ? 'Withdraw' : 'Remove'}</button></form>`
      : ''
  }</td>
</tr>`;
}

/** `GET /dashboard/members`: who belongs to the organization, invitations, roles. */
export async function membersPage(view: DashboardView, members: MemberService): Promise<SafeHtml> {
  const list = await loadSection(view, () => members.list(view.session.tenant.id));
  const rows = list.ok ? list.data : [];
  const mayAssign = assignableBy(view.session.role);
  const body = html`<h1>Members</h1>
<p class="muted">Owners and admins manage keys, webhooks and members; developers their own keys, the playground and
usage; billing members credits, invoices and usage.</p>
<div id="status" role="status" aria-live="polite" hidden></div>
<section class="panel" aria-labelledby="invite-title">
  <h2 id="invite-title">Invite someone</h2>
  <form id="invite-form" class="row" data-status="status">
    <div class="field"><label for="invite-email">Email</label>
    <input id="invite-email" name="email" type="email" maxlength="320" required></div>
    <div class="field"><label for="invite-role">Role</label>
    <select id="invite-role" name="role">${roleOptions(mayAssign, 'developer')}</select></div>
    <button type="submit">Send invitation</button>
  </form>
</section>
${unavailable(list, 'The member list')}
<div class="table-wrap" id="members-list"><table class="stack-on-small" data-testid="members-table">
  <caption>Members and pending invitations (times in UTC)</caption>
  <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Since</th>
  <th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>${rows.map((m) => memberRow(m, mayAssign, view.session.user.id))}</tbody>
</table></div>`;
  return layout(view.ctx, {
    title: 'Members',
    body,
    viewer: view.viewer,
    active: 'members',
    scripts: ['members.js'],
  });
}

const NOTICES: Record<string, string> = {
  password_changed: 'Password changed. Your other sessions have ended.',
};

/** `GET /dashboard/account`: the person's organizations (switch between them) and their password. */
export function accountPage(
  view: DashboardView,
  organizations: Organization[],
  query: { notice?: string | undefined; error?: string | undefined; errorMessage?: string | undefined },
): SafeHtml {
  const notice = query.notice && Object.hasOwn(NOTICES, query.notice) ? NOTICES[query.notice] : undefined;
  const current = view.session.tenant.id;
  const body = html`<h1>Account</h1>
${notice ? html`<div class="alert ok" role="status">${notice}</div>` : ''}
${query.errorMessage ? html`<div class="alert error" role="alert">${query.errorMessage}</div>` : ''}
<section class="panel" aria-labelledby="orgs-title">
  <h2 id="orgs-title">Organizations</h2>
  <ul class="plain" data-testid="organizations">${organizations.map(
    (o) =>
      html`<li>${o.name} <span class="badge">${o.role}</span> ${
        o.tenantId === current
          ? html`<span class="muted">(current)</span>`
          : html`<form method="post" action="/dashboard/organization" class="inline">
        <input type="hidden" name="_csrf" value="${view.viewer.csrfToken}">
        <input type="hidden" name="tenant_id" value="${o.tenantId}">
        <button type="submit" class="small secondary">Switch to ${o.name}</button></form>`
      }</li>`,
  )}</ul>
</section>
<section class="panel" aria-labelledby="password-title">
  <h2 id="password-title">Change password</h2>
  <form method="post" action="/account/password" class="stack">
    <input type="hidden" name="_csrf" value="${view.viewer.csrfToken}">
    <label for="current-password">Current password</label>
    <input id="current-password" name="current_password" type="password" autocomplete="current-password" required maxlength="1024">
    <label for="new-password">New password</label>
    <input id="new-password" name="new_password" type="password" autocomplete="new-password" required minlength="10" maxlength="1024">
    <button type="submit">Change password</button>
  </form>
</section>`;
  return layout(view.ctx, { title: 'Account', body, viewer: view.viewer, active: 'account' });
}
