import { listInvoices, readBalance } from '../../../billing/billing-queries.js';
import { html, type SafeHtml } from '../../html.js';
import { layout } from '../../layout.js';
import { type DashboardView, loadSection } from './context.js';
import { unavailable, usd } from './format.js';

/** The printable page of an invoice (served by the billing module, authenticated by the session). */
export const printableInvoiceUrl = (id: string) => `/admin/invoices/${encodeURIComponent(id)}?format=html`;

/** `GET /dashboard/billing`: the credit balance and the invoices, each with its printable page. */
export async function billingPage(view: DashboardView): Promise<SafeHtml> {
  const tenantId = view.session.tenant.id;
  const [balance, invoices] = await Promise.all([
    loadSection(view, () => readBalance(view.services, tenantId)),
    loadSection(view, () => listInvoices(view.services, tenantId)),
  ]);
  const rows = invoices.ok ? invoices.data.data : [];
  const b = balance.ok ? balance.data : undefined;
  const body = html`<h1>Credits &amp; invoices</h1>
${unavailable(balance, 'The balance')}
<ul class="cards" aria-label="Credits">
  <li class="card"><div class="label">Balance</div><div class="value" data-testid="billing-balance">${b ? usd(b.balance) : '—'}</div>
  <div class="label">${b?.currency ?? 'USD'}</div></li>
  ${
    b
      ? html`<li class="card"><div class="label">Credits granted</div><div class="value">${usd(b.granted)}</div></li>
  <li class="card"><div class="label">Used</div><div class="value">${usd(b.consumed)}</div></li>`
      : ''
  }
</ul>
<p class="muted">Requests are admitted while the balance is positive. For more credits write to
<a href="mailto:${view.ctx.config.brand.supportEmail}">${view.ctx.config.brand.supportEmail}</a>.</p>
<h2>Invoices</h2>
${unavailable(invoices, 'Invoices')}
<div class="table-wrap"><table data-testid="invoices-table">
  <caption>Monthly invoices</caption>
  <thead><tr><th scope="col">Period</th><th scope="col">Status</th><th scope="col" class="num">Lines</th>
  <th scope="col" class="num">Total</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>${
    rows.length
      ? rows.map(
          (i) => html`<tr><td>${i.period}</td><td><span class="badge">${i.status}</span></td>
          <td class="num">${i.lines.length}</td><td class="num">${usd(i.total)}</td>
          <td class="row-actions"><a href="${printableInvoiceUrl(i.id)}" target="_blank" rel="noopener">View / print<span class="visually-hidden"> invoice ${i.period}</span></a></td></tr>`,
        )
      : html`<tr><td colspan="5" class="muted">No invoices yet. Invoices are issued when a month is closed.</td></tr>`
  }</tbody>
</table></div>`;
  return layout(view.ctx, { title: 'Credits & invoices', body, viewer: view.viewer, active: 'billing' });
}
