import { can } from '../../../accounts/roles.js';
import { readBalance, usageReport } from '../../../billing/billing-queries.js';
import { nounFor, plural } from '../../../shared/plural.js';
import { html, type SafeHtml } from '../../html.js';
import { layout } from '../../layout.js';
import { type DashboardView, loadSection, tenantRpm } from './context.js';
import { count, unavailable, usd } from './format.js';

/**
 * The panel that shows a secret exactly once (new API key, webhook secret). Rendered filled when the
 * server has the value (after a form sign-up), or hidden and filled by page script after a create.
 */
export function secretPanel(opts: {
  id: string;
  title: string;
  value?: string;
  note: string;
  doneId?: string;
}): SafeHtml {
  return html`<section class="panel" id="${opts.id}" aria-live="polite" data-testid="${opts.id}"${opts.value ? '' : html` hidden`}>
  <h2>${opts.title}</h2>
  <p>${opts.note}</p>
  <div class="secret">
    <code id="${opts.id}-value" data-testid="secret-value">${opts.value ?? ''}</code>
    <button type="button" data-copy-target="${opts.id}-value">Copy</button>
    ${opts.doneId ? html`<button type="button" class="secondary" id="${opts.doneId}">Done</button>` : ''}
  </div>
</section>`;
}

/** `GET /dashboard`: plan, limits, balance and this month's usage; the new key once after sign-up. */
export async function overviewPage(view: DashboardView, newApiKey: string | undefined): Promise<SafeHtml> {
  const { ctx, session } = view;
  const tenantId = session.tenant.id;
  // Without bounds the report covers this month (UTC) up to now.
  // Credits are for the roles that handle money; a developer sees usage only.
  const showBalance = can(session.role, 'billing');
  const [balance, usage] = await Promise.all([
    showBalance
      ? loadSection(view, () => readBalance(view.services, tenantId))
      : Promise.resolve({ ok: false as const, message: '' }),
    loadSection(view, () => usageReport(view.services, tenantId, { group_by: 'model' })),
  ]);
  const total = usage.ok ? usage.data.total : undefined;
  const rpm = tenantRpm(view);
  const chat = ctx.config.models.find((m) => m.kind === 'chat');
  const body = html`<h1>Overview</h1>
${
  newApiKey
    ? secretPanel({
        id: 'new-key-panel',
        title: 'Your API key',
        value: newApiKey,
        note: 'Copy it now and keep it somewhere safe: this is the only time it is shown. You can create more keys, or rotate this one, on the API keys page.',
      })
    : ''
}
<ul class="cards" aria-label="Account summary">
  <li class="card"><div class="label">Plan</div><div class="value" data-testid="plan">${session.tenant.plan}</div></li>
  <li class="card"><div class="label">Rate limit</div><div class="value">${rpm === undefined ? '—' : count(rpm)}</div><div class="label">${nounFor(rpm ?? 0, 'request')} per minute</div></li>
  ${
    showBalance
      ? html`<li class="card"><div class="label">Balance</div><div class="value" data-testid="balance">${balance.ok ? usd(balance.data.balance) : '—'}</div><div class="label"><a href="/dashboard/billing">Credits &amp; invoices</a></div></li>`
      : ''
  }
  <li class="card"><div class="label">Spend this month</div><div class="value">${total ? usd(total.cost) : '—'}</div><div class="label" data-testid="month-usage">${
    total
      ? `${plural(total.requests, 'request')} · ${plural(total.prompt_tokens + total.completion_tokens, 'token')}`
      : ''
  }</div></li>
</ul>
${showBalance ? unavailable(balance, 'The balance') : ''}
${unavailable(usage, 'Usage')}
<section class="panel" aria-labelledby="start-title">
  <h2 id="start-title">Make your first request</h2>
  <pre class="code"><code>curl ${ctx.config.publicUrl}/v1/chat/completions \\
  -H "Authorization: Bearer $SIMO_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "${chat?.id ?? 'qwen/qwen3-8b'}", "messages": [{"role": "user", "content": "Hello"}]}'</code></pre>
  <p>Or try a model right here in the <a href="/dashboard/playground">playground</a>. More in the <a href="/docs">docs</a>.</p>
</section>`;
  return layout(ctx, {
    title: 'Overview',
    body,
    viewer: view.viewer,
    active: 'overview',
    scripts: ['keys.js'],
  });
}
