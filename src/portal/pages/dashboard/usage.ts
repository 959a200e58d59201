import { usageReport } from '../../../billing/billing-queries.js';
import type { UsageRow } from '../../../billing/routes/billing-schemas.js';
import { html, type SafeHtml } from '../../html.js';
import { layout } from '../../layout.js';
import { type DashboardView, loadSection } from './context.js';
import { count, isoDay, unavailable, usd } from './format.js';

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;
/** Longest range the page draws, so a typo in a year cannot ask for decades of empty days. */
const MAX_DAYS = 366;

/** A real calendar day as YYYY-MM-DD (UTC), or undefined: `2026-99-99`, `2026-02-30` and lists are not days. */
export function calendarDay(value: unknown): string | undefined {
  const m = typeof value === 'string' ? DAY.exec(value) : null;
  if (!m) return undefined;
  const at = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isFinite(at) && isoDay(new Date(at)) === value ? value : undefined;
}

/**
 * The date range from the query, defaulting to the last 30 days (UTC), clamped to sane bounds.
 * Anything that is not a calendar day falls back to the default rather than failing the page.
 */
export function usageRange(query: Record<string, unknown>, now = new Date()): { from: string; to: string } {
  const to = calendarDay(query.to) ?? isoDay(now);
  const daysBefore = (day: string, n: number) => isoDay(new Date(Date.parse(day) - n * DAY_MS));
  let from = calendarDay(query.from) ?? daysBefore(to, 29);
  if (from > to) from = daysBefore(to, 29);
  if ((Date.parse(to) - Date.parse(from)) / DAY_MS >= MAX_DAYS) from = daysBefore(to, MAX_DAYS - 1);
  return { from, to };
}

const tokensOf = (r: Pick<UsageRow, 'prompt_tokens' | 'completion_tokens'>) =>
  r.prompt_tokens + r.completion_tokens;

/**
 * One point per calendar day of the range (missing days are zero), one line per model, for the chart
 * script. `group_by=day` answers a row per day and model.
 */
export function dailySeries(rows: UsageRow[], from: string, to: string) {
  const days: number[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += DAY_MS) days.push(t / 1000);
  const index = new Map(days.map((d, i) => [isoDay(new Date(d * 1000)), i]));
  const lines = new Map<string, { model: string; requests: number[]; tokens: number[]; cost: number[] }>();
  const totals = { requests: 0, tokens: 0, cost: 0 };
  for (const r of rows) {
    const i = r.day === undefined ? undefined : index.get(r.day);
    if (i === undefined) continue;
    const { model } = r;
    let line = lines.get(model);
    if (!line) {
      line = { model, requests: days.map(() => 0), tokens: days.map(() => 0), cost: days.map(() => 0) };
      lines.set(model, line);
    }
    const cost = Number(r.cost);
    line.requests[i]! += r.requests;
    line.tokens[i]! += tokensOf(r);
    line.cost[i]! += cost;
    totals.requests += r.requests;
    totals.tokens += tokensOf(r);
    totals.cost += cost;
  }
  return { days, models: [...lines.values()], totals };
}

/** Totals per model over the range, from the same day-and-model rows (one API call per page view). */
export function perModelTotals(rows: UsageRow[]): Array<Omit<UsageRow, 'day' | 'cost'> & { cost: number }> {
  const byModel = new Map<string, Omit<UsageRow, 'day' | 'cost'> & { cost: number }>();
  for (const r of rows) {
    const { model } = r;
    const t = byModel.get(model) ?? { model, requests: 0, prompt_tokens: 0, completion_tokens: 0, cost: 0 };
    t.requests += r.requests;
    t.prompt_tokens += r.prompt_tokens;
    t.completion_tokens += r.completion_tokens;
    t.cost += Number(r.cost);
    byModel.set(model, t);
  }
  return [...byModel.values()].sort((a, b) => b.cost - a.cost || b.requests - a.requests);
}

/** `GET /dashboard/usage`: requests, tokens and cost per day (charts) and per model, for a date range. */
export async function usagePage(view: DashboardView, query: Record<string, unknown>): Promise<SafeHtml> {
  const { from, to } = usageRange(query);
  // Rows per day and model: the charts and the per-model table both come from this one read.
  const daily = await loadSection(view, () =>
    usageReport(view.services, view.session.tenant.id, { from, to, group_by: 'day' }),
  );
  const days = daily.ok ? daily.data.data : [];
  const models = perModelTotals(days);
  const series = dailySeries(days, from, to);
  const byModel = {
    models: models.map((m) => m.model),
    requests: models.map((m) => m.requests),
    tokens: models.map(tokensOf),
    cost: models.map((m) => m.cost),
  };
  const total = series.totals;
  const body = html`<h1>Usage</h1>
<form class="panel row" method="get" action="/dashboard/usage" aria-label="Date range">
  <div class="field"><label for="from">From</label><input id="from" name="from" type="date" value="${from}" required></div>
  <div class="field"><label for="to">To</label><input id="to" name="to" type="date" value="${to}" required></div>
  <button type="submit">Show</button>
</form>
${unavailable(daily, 'Daily usage')}
<ul class="cards" aria-label="Totals for the range">
  <li class="card"><div class="label">Requests</div><div class="value" data-testid="total-requests">${count(total.requests)}</div></li>
  <li class="card"><div class="label">Tokens</div><div class="value" data-testid="total-tokens">${count(total.tokens)}</div></li>
  <li class="card"><div class="label">Cost</div><div class="value" data-testid="total-cost">${usd(total.cost)}</div></li>
</ul>
<section class="panel" aria-labelledby="daily-title">
  <h2 id="daily-title">Per day</h2>
  <div id="usage-charts" data-series="${JSON.stringify({ days: series.days, models: series.models })}" data-by-model="${JSON.stringify(byModel)}">
    <figure><figcaption>Requests per day</figcaption><div class="chart" data-chart="requests" role="img" aria-label="Requests per day from ${from} to ${to}, ${total.requests} in total"></div></figure>
    <figure><figcaption>Tokens per day</figcaption><div class="chart" data-chart="tokens" role="img" aria-label="Tokens per day, ${total.tokens} in total"></div></figure>
    <figure><figcaption>Cost per day (USD)</figcaption><div class="chart" data-chart="cost" role="img" aria-label="Cost per day, ${usd(total.cost)} in total"></div></figure>
  </div>
</section>
<section class="panel" aria-labelledby="model-title">
  <h2 id="model-title">Per model</h2>
  <div class="chart" data-chart="models" role="img" aria-label="Tokens per model"></div>
  <div class="table-wrap"><table data-testid="usage-by-model">
    <caption>${from} to ${to}</caption>
    <thead><tr><th scope="col">Model</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Prompt tokens</th>
    <th scope="col" class="num">Completion tokens</th><th scope="col" class="num">Cost</th></tr></thead>
    <tbody>${
      models.length
        ? models.map(
            (m) => html`<tr><td><code>${m.model}</code></td><td class="num">${count(m.requests)}</td>
            <td class="num">${count(m.prompt_tokens)}</td><td class="num">${count(m.completion_tokens)}</td>
            <td class="num">${usd(m.cost)}</td></tr>`,
          )
        : html`<tr><td colspan="5" class="muted">No requests in this range.</td></tr>`
    }</tbody>
  </table></div>
</section>`;
  return layout(view.ctx, {
    title: 'Usage',
    body,
    viewer: view.viewer,
    active: 'usage',
    styles: ['uplot.css'],
    scripts: ['uplot.js', 'usage.js'],
  });
}
