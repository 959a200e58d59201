import type { Selectable } from 'kysely';
import type { UsageDailyTable } from '../storage/tables.js';
import type { InvoiceLine } from './invoices.js';
import { formatMicros } from './money.js';
import { type BillingPeriod, periodAt } from './periods.js';
import { DAY_MS } from './usage-daily.js';

/** A daily roll-up with usage no invoice covers yet. */
export type UninvoicedUsage = Selectable<UsageDailyTable>;

/**
 * The lines of an invoice for `period` from a tenant's uninvoiced roll-ups: what each row holds beyond
 * what earlier invoices covered. The period's own usage comes first, one line per model; usage of
 * earlier months follows, one line per month and model, marked `carried_from`.
 */
export function uninvoicedLines(rows: readonly UninvoicedUsage[], period: BillingPeriod): InvoiceLine[] {
  const lines = new Map<string, Omit<InvoiceLine, 'amount'>>();
  for (const r of rows) {
    const origin = periodAt(r.day * DAY_MS).id;
    const carriedFrom = origin === period.id ? undefined : origin;
    const key = `${carriedFrom ?? ''}\u0000${r.model}`;
    let line = lines.get(key);
    if (!line) {
      line = { model: r.model, requests: 0, prompt_tokens: 0, completion_tokens: 0, amount_micros: 0 };
      if (carriedFrom) line.carried_from = carriedFrom;
      lines.set(key, line);
    }
    line.requests += r.requests - r.invoiced_requests;
    line.prompt_tokens += r.prompt_tokens - r.invoiced_prompt_tokens;
    line.completion_tokens += r.completion_tokens - r.invoiced_completion_tokens;
    line.amount_micros += r.cost_micros - r.invoiced_cost_micros;
  }
  return [...lines.values()]
    .sort(
      (a, b) => (a.carried_from ?? '').localeCompare(b.carried_from ?? '') || a.model.localeCompare(b.model),
    )
    .map((l) => ({
      model: l.model,
      requests: l.requests,
      prompt_tokens: l.prompt_tokens,
      completion_tokens: l.completion_tokens,
      amount: formatMicros(l.amount_micros),
      amount_micros: l.amount_micros,
      ...(l.carried_from ? { carried_from: l.carried_from } : {}),
    }));
}
