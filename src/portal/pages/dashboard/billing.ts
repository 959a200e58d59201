import { can } from '../../../accounts/roles.js';
import { listInvoices, readBalance } from '../../../billing/billing-queries.js';
import { listPayments, type Payment } from '../../../payments/payment-store.js';
import { formatMicros } from '../../../shared/money.js';
import { html, type SafeHtml } from '../../html.js';
import { layout } from '../../layout.js';
import { type DashboardView, loadSection } from './context.js';
import { timeCell, unavailable, usd } from './format.js';

/** The printable page of an invoice (served by the billing module, authenticated by the session). */
export const printableInvoiceUrl = (id: string) => `/admin/invoices/${encodeURIComponent(id)}?format=html`;

/** What Stripe Checkout sent the customer back with (`?payment=…`, `?card=…`). */
export interface BillingReturn {
  payment?: string | undefined;
  card?: string | undefined;
}

const RETURN_NOTICES: Record<string, [kind: 'ok' | 'info', text: string]> = {
  'payment:success': [
    'ok',
    'Thank you. Your payment went through; the credits appear here as soon as Stripe confirms it, usually within seconds.',
  ],
  'payment:cancelled': ['info', 'The payment was cancelled. Nothing was charged.'],
  'card:saved': ['ok', 'Your card is being saved. Once Stripe confirms it, switch auto top-up on below.'],
  'card:cancelled': ['info', 'No card was saved.'],
};

function returnNotice(back: BillingReturn): SafeHtml {
  const key = back.payment ? `payment:${back.payment}` : back.card ? `card:${back.card}` : '';
  const notice = RETURN_NOTICES[key];
  if (!notice) return html``;
  return html`<div class="alert ${notice[0]}" role="status" data-testid="payment-notice">${notice[1]}</div>`;
}

/** The top-up form: preset amounts and a free amount within the operator's limits. */
function topUpForm(view: DashboardView): SafeHtml {
  const { offer } = view.services.payments;
  const step = '0.01';
  return html`<section class="panel" aria-labelledby="topup-title">
  <h2 id="topup-title">Buy credits</h2>
  <p class="muted">Pay by card on Stripe's secure checkout. Between ${usd(offer.minimum)} and ${usd(offer.maximum)}${
    offer.currency === 'usd' ? '' : html` (charged in ${offer.currency.toUpperCase()})`
  }.</p>
  <form id="topup-form" class="row" data-status="status">
    <fieldset class="presets"><legend class="visually-hidden">Amount</legend>
    ${offer.presets.map(
      (p, i) =>
        html`<label class="preset"><input type="radio" name="preset" value="${p}"${i === 0 ? ' checked' : ''}> ${usd(p)}</label>`,
    )}</fieldset>
    <div class="field"><label for="topup-amount">Or another amount (USD)</label>
    <input id="topup-amount" name="amount" type="number" inputmode="decimal" min="${offer.minimum}" max="${offer.maximum}" step="${step}"></div>
    <button type="submit">Continue to payment</button>
  </form>
</section>`;
}

async function autoTopUpPanel(view: DashboardView): Promise<SafeHtml> {
  const stripe = view.services.payments.stripe;
  if (!stripe) return html``;
  const section = await loadSection(view, () => stripe.autoTopUp.view(view.session.tenant.id));
  if (!section.ok) return unavailable(section, 'Auto top-up');
  const a = section.data;
  const value = (amount: string, fallback: string) =>
    Number(amount) > 0 ? Number(amount).toFixed(2) : fallback;
  return html`<section class="panel" aria-labelledby="auto-title" id="auto-topup">
  <h2 id="auto-title">Auto top-up</h2>
  <p class="muted" data-testid="auto-topup-state">${
    a.card_saved
      ? a.enabled
        ? html`On: when available credit falls below ${usd(a.threshold)}, ${usd(a.amount)} is charged to your saved card.`
        : html`Off. A card is saved.${a.last_error ? html` Last attempt: ${a.last_error}` : ''}`
      : 'Save a card to have credits bought automatically before they run out.'
  }</p>
  <form id="auto-topup-form" class="row" data-status="status">
    <div class="field"><label for="auto-threshold">When credit falls below (USD)</label>
    <input id="auto-threshold" name="threshold" type="number" min="0.01" step="0.01" value="${value(a.threshold, '5.00')}" required></div>
    <div class="field"><label for="auto-amount">Buy (USD)</label>
    <input id="auto-amount" name="amount" type="number" step="0.01" value="${value(a.amount, '20.00')}" required></div>
    <label class="check"><input type="checkbox" name="enabled"${a.enabled ? ' checked' : ''}${a.card_saved ? '' : ' disabled'}> Enabled</label>
    <button type="submit" class="secondary">Save</button>
  </form>
  <form id="save-card-form" data-status="status"><button type="submit" class="secondary">${a.card_saved ? 'Replace the saved card' : 'Save a card'}</button></form>
</section>`;
}

function paymentRow(p: Payment): SafeHtml {
  const back = p.refundedMicros + p.disputedMicros;
  return html`<tr><td>${timeCell(Math.floor((p.paidAt ?? p.createdAt) / 1000))}</td>
  <td>${p.kind === 'auto' ? 'Auto top-up' : 'Card'}</td><td><span class="badge">${p.status}</span></td>
  <td class="num">${usd(formatMicros(p.creditsMicros))}</td>
  <td class="num">${back > 0 ? usd(formatMicros(-back)) : '—'}</td></tr>`;
}

/** `GET /dashboard/billing`: the balance, buying credits (when Stripe is set up), payments and invoices. */
export async function billingPage(view: DashboardView, back: BillingReturn = {}): Promise<SafeHtml> {
  const tenantId = view.session.tenant.id;
  const stripe = view.services.payments.stripe;
  const mayPay = stripe !== undefined && can(view.session.role, 'payments');
  const [balance, invoices, payments] = await Promise.all([
    loadSection(view, () => readBalance(view.services, tenantId)),
    loadSection(view, () => listInvoices(view.services, tenantId)),
    loadSection(view, () => listPayments(view.services.db, tenantId, 20)),
  ]);
  const rows = invoices.ok ? invoices.data.data : [];
  const paid = payments.ok ? payments.data : [];
  const b = balance.ok ? balance.data : undefined;
  const contact = view.ctx.config.brand.supportEmail;
  const body = html`<h1>Credits &amp; invoices</h1>
<div id="status" role="status" aria-live="polite" hidden></div>
${returnNotice(back)}
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
${
  mayPay
    ? html`${topUpForm(view)}${await autoTopUpPanel(view)}`
    : stripe
      ? html`<p class="muted">Requests are admitted while the balance is positive. Owners and billing members can buy credits here.</p>`
      : html`<p class="muted" data-testid="buy-credits-contact">Requests are admitted while the balance is positive. To buy credits, write to
<a href="mailto:${contact}">${contact}</a>.</p>`
}
${
  paid.length > 0
    ? html`<h2>Payments</h2>
<div class="table-wrap" id="payments-list"><table data-testid="payments-table">
  <caption>Card payments (times in UTC)</caption>
  <thead><tr><th scope="col">Date</th><th scope="col">Kind</th><th scope="col">Status</th>
  <th scope="col" class="num">Credits</th><th scope="col" class="num">Refunded</th></tr></thead>
  <tbody>${paid.map(paymentRow)}</tbody>
</table></div>`
    : ''
}
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
  return layout(view.ctx, {
    title: 'Credits & invoices',
    body,
    viewer: view.viewer,
    active: 'billing',
    ...(mayPay ? { scripts: ['billing.js'] } : {}),
  });
}
