import type { LegalConfig } from '../config/schema.js';
import type { InvoiceView } from './invoices.js';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

const int = (n: number) => n.toLocaleString('en-US');

/** A self-contained, printable invoice page (no scripts, no external assets). */
export function renderInvoiceHtml(
  invoice: InvoiceView,
  brand: { name: string; supportEmail: string },
  tenant: { name: string; email: string },
  legal: LegalConfig = { address: [] },
): string {
  const issuer = [
    ...legal.address,
    legal.registration,
    legal.taxId ? `Tax ID: ${legal.taxId}` : undefined,
    legal.email ?? brand.supportEmail,
  ]
    .filter((line): line is string => Boolean(line))
    .map((line) => `<div class="muted">${escapeHtml(line)}</div>`)
    .join('');
  const payments = invoice.payments
    .map(
      (p) =>
        `<tr><td>${escapeHtml(new Date(p.paid_at * 1000).toISOString().slice(0, 10))}</td>` +
        `<td>${p.kind === 'auto' ? 'Auto top-up' : 'Card payment'}${p.reference ? ` <span class="muted">${escapeHtml(p.reference)}</span>` : ''}</td>` +
        `<td class="n">${p.reversed !== '0.000000' ? `−$${escapeHtml(p.reversed)} refunded` : ''}</td>` +
        `<td class="n">$${escapeHtml(p.credits)}</td></tr>`,
    )
    .join('\n');
  const paymentsTable = invoice.payments.length
    ? `<h2>Payments received</h2>
<table data-testid="invoice-payments">
  <thead><tr><th>Date</th><th>Payment</th><th class="n"></th><th class="n">Credits (USD)</th></tr></thead>
  <tbody>
${payments}
  </tbody>
  <tfoot><tr><td colspan="3">Credits bought</td><td class="n">$${escapeHtml(invoice.payments_total)}</td></tr></tfoot>
</table>`
    : '';
  const rows = invoice.lines
    .map(
      (l) =>
        `<tr><td>${escapeHtml(l.model)}${l.carried_from ? ` <span class="muted">(usage of ${escapeHtml(l.carried_from)}, recorded after it was closed)</span>` : ''}</td>` +
        `<td class="n">${int(l.requests)}</td>` +
        `<td class="n">${int(l.prompt_tokens)}</td><td class="n">${int(l.completion_tokens)}</td>` +
        `<td class="n">$${escapeHtml(l.amount)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Invoice ${escapeHtml(invoice.id)} · ${escapeHtml(brand.name)}</title>
<style>
  :root { color-scheme: light; }
  body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1a1a1a; margin: 0; background: #f4f5f7; }
  main { max-width: 760px; margin: 32px auto; background: #fff; padding: 40px 48px; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
  header { display: flex; justify-content: space-between; align-items: flex-start; margin-bottom: 32px; }
  h1 { font-size: 22px; margin: 0 0 4px; }
  h2 { font-size: 16px; margin: 32px 0 8px; }
  .muted { color: #5f6368; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 24px; }
  dt { color: #5f6368; }
  dd { margin: 0; }
  table { width: 100%; border-collapse: collapse; }
  th, td { padding: 8px 6px; border-bottom: 1px solid #e3e5e8; text-align: left; }
  th { font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: #5f6368; }
  .n { text-align: right; font-variant-numeric: tabular-nums; }
  tfoot td { font-weight: 700; border-bottom: none; border-top: 2px solid #1a1a1a; }
  footer { margin-top: 32px; font-size: 12px; }
  @media print {
    body { background: #fff; }
    main { margin: 0; padding: 0; box-shadow: none; max-width: none; }
    @page { margin: 18mm; }
  }
</style>
</head>
<body>
<main>
<header>
  <div data-testid="invoice-issuer"><h1>${escapeHtml(legal.name ?? brand.name)}</h1>${issuer}</div>
  <div style="text-align:right"><h1>Invoice</h1><div class="muted">${escapeHtml(invoice.id)}</div></div>
</header>
<dl>
  <dt>Billed to</dt><dd>${escapeHtml(tenant.name)} &lt;${escapeHtml(tenant.email)}&gt;</dd>
  <dt>Tenant</dt><dd>${escapeHtml(invoice.tenant_id)}</dd>
  <dt>Period</dt><dd>${escapeHtml(invoice.period)} (${escapeHtml(invoice.period_start.slice(0, 10))} – ${escapeHtml(invoice.period_end.slice(0, 10))}, UTC, end exclusive)</dd>
  <dt>Status</dt><dd>${escapeHtml(invoice.status)}</dd>
  <dt>Issued</dt><dd>${escapeHtml(new Date(invoice.created * 1000).toISOString().slice(0, 10))}</dd>
</dl>
<table>
  <thead><tr><th>Model</th><th class="n">Requests</th><th class="n">Input tokens</th><th class="n">Output tokens</th><th class="n">Amount (${escapeHtml(invoice.currency)})</th></tr></thead>
  <tbody>
${rows || '<tr><td colspan="5" class="muted">No usage in this period.</td></tr>'}
  </tbody>
  <tfoot><tr><td colspan="4">Total</td><td class="n">$${escapeHtml(invoice.total)}</td></tr></tfoot>
</table>
${paymentsTable}
<footer class="muted">Amounts are tokens × each model's price per 1M tokens, rounded once per request to the micro-dollar.</footer>
</main>
</body>
</html>
`;
}
