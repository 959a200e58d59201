import { ApiError } from '../shared/errors.js';
import { formatMicros } from '../shared/money.js';
import type { BalanceView, BillingService } from './billing-service.js';
import type { InvoiceService } from './invoices.js';
import { periodAt } from './periods.js';
import type { InvoiceList, UsageQuery, UsageReport, UsageRow } from './routes/billing-schemas.js';
import { DAY_MS } from './usage-daily.js';
import type { UsageLine } from './usage-report.js';

/** What reading a tenant's own money needs: the billing service's read side. */
export interface BillingReaderDeps {
  billing: Pick<BillingService, 'balance' | 'usage'> & { invoices: Pick<InvoiceService, 'list'> };
}

/**
 * A time bound of the usage report: `YYYY-MM-DD` (UTC; as an end bound the whole day counts), an ISO
 * 8601 time, or Unix seconds.
 */
export function parseTimeBound(value: string, param: 'from' | 'to'): number {
  const text = value.trim();
  let ms: number | null = null;
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const day = Date.parse(`${text}T00:00:00Z`);
    if (!Number.isNaN(day)) ms = param === 'to' ? day + DAY_MS : day;
  } else if (/^\d{1,12}$/.test(text)) ms = Number(text) * 1000;
  else if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const t = Date.parse(text);
    if (!Number.isNaN(t)) ms = t;
  }
  if (ms === null)
    throw new ApiError(
      'invalid_parameter',
      `Invalid value for '${param}': use YYYY-MM-DD, an ISO 8601 time or Unix seconds.`,
      param,
    );
  return ms;
}

/** The credit balance, with usage settled a moment ago included. */
export function readBalance(deps: BillingReaderDeps, tenantId: string): Promise<BalanceView> {
  return deps.billing.balance(tenantId);
}

/** Closed monthly invoices, newest first. */
export async function listInvoices(deps: BillingReaderDeps, tenantId: string): Promise<InvoiceList> {
  return { object: 'list', data: await deps.billing.invoices.list(tenantId) };
}

/** One usage line as the API shows it (the day only when grouped by day). */
export const usageRowView = (l: UsageLine): UsageRow => ({
  ...(l.day ? { day: l.day } : {}),
  ...(l.endpoint ? { endpoint: l.endpoint } : {}),
  model: l.model,
  requests: l.requests,
  prompt_tokens: l.promptTokens,
  completion_tokens: l.completionTokens,
  cost: formatMicros(l.costMicros),
});

/**
 * Requests, tokens and cost per model (or per day and model) over a range, with totals: what
 * `GET /admin/usage` answers and what the dashboard's overview and usage pages show.
 */
export async function usageReport(
  deps: BillingReaderDeps,
  tenantId: string,
  query: UsageQuery,
  now = Date.now(),
): Promise<UsageReport> {
  const from = query.from ? parseTimeBound(query.from, 'from') : periodAt(now).start;
  const to = query.to ? parseTimeBound(query.to, 'to') : now + 1;
  if (to <= from) throw new ApiError('invalid_parameter', "'to' must be after 'from'.", 'to');
  const lines = await deps.billing.usage(tenantId, from, to, query.group_by);
  const total = { requests: 0, prompt_tokens: 0, completion_tokens: 0, micros: 0 };
  for (const l of lines) {
    total.requests += l.requests;
    total.prompt_tokens += l.promptTokens;
    total.completion_tokens += l.completionTokens;
    total.micros += l.costMicros;
  }
  return {
    object: 'list',
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    group_by: query.group_by,
    data: lines.map(usageRowView),
    total: {
      requests: total.requests,
      prompt_tokens: total.prompt_tokens,
      completion_tokens: total.completion_tokens,
      cost: formatMicros(total.micros),
    },
  };
}
