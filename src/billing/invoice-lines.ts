import type { Selectable } from 'kysely';
import { apportionMicros, formatMicros, picosOf } from '../shared/money.js';
import type { UsageDailyTable } from '../storage/tables.js';
import type { InvoiceLine } from './invoices.js';
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
  const lines = new Map<string, Omit<InvoiceLine, 'amount' | 'amount_micros'> & { cost: bigint }>();
  for (const r of rows) {
    const origin = periodAt(r.day * DAY_MS).id;
    const carriedFrom = origin === period.id ? undefined : origin;
    const key = `${carriedFrom ?? ''}\u0000${r.model}`;
    let line = lines.get(key);
    if (!line) {
      line = { model: r.model, requests: 0, prompt_tokens: 0, completion_tokens: 0, cost: 0n };
      if (carriedFrom) line.carried_from = carriedFrom;
      lines.set(key, line);
    }
    line.requests += r.requests - r.invoiced_requests;
    line.prompt_tokens += r.prompt_tokens - r.invoiced_prompt_tokens;
    line.completion_tokens += r.completion_tokens - r.invoiced_completion_tokens;
    line.cost +=
      picosOf(r.cost_micros, r.cost_picos) - picosOf(r.invoiced_cost_micros, r.invoiced_cost_picos);
  }
  const sorted = [...lines.values()].sort(
    (a, b) => (a.carried_from ?? '').localeCompare(b.carried_from ?? '') || a.model.localeCompare(b.model),
  );
  // Exact amounts rounded once per month of origin, so the period's own lines are its usage report.
  const micros = new Map<(typeof sorted)[number], number>();
  for (const origin of new Set(sorted.map((l) => l.carried_from))) {
    const group = sorted.filter((l) => l.carried_from === origin);
    const rounded = apportionMicros(group.map((l) => l.cost));
    for (const [i, l] of group.entries()) micros.set(l, rounded[i]!);
  }
  return sorted.map((l) => ({
    model: l.model,
    requests: l.requests,
    prompt_tokens: l.prompt_tokens,
    completion_tokens: l.completion_tokens,
    amount: formatMicros(micros.get(l)!),
    amount_micros: micros.get(l)!,
    ...(l.carried_from ? { carried_from: l.carried_from } : {}),
  }));
}
