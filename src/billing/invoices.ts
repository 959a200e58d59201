import type { Logger } from 'pino';
import type { Db } from '../accounts/tenant-store.js';
import { enqueueEvent } from '../events/outbox.js';
import { ApiError } from '../http/errors.js';
import { newId } from '../shared/ids.js';
import type { InvoiceRow } from '../storage/tables.js';
import type { UsageMeter } from './meter.js';
import { formatMicros } from './money.js';
import { type BillingPeriod, parsePeriod, previousPeriod } from './periods.js';
import { dayOf } from './usage-daily.js';

/** One model's line on an invoice. */
export interface InvoiceLine {
  model: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** USD, decimal string. */
  amount: string;
  amount_micros: number;
}

/** An invoice as the API shows it. */
export interface InvoiceView {
  id: string;
  object: 'invoice';
  tenant_id: string;
  period: string;
  status: string;
  currency: string;
  total: string;
  total_micros: number;
  lines: InvoiceLine[];
  period_start: string;
  period_end: string;
  /** Unix seconds. */
  created: number;
}

export interface CloseResult {
  period: string;
  /** Invoices created by this call; tenants already invoiced for the period are left as they were. */
  created: InvoiceView[];
}

export function invoiceView(row: InvoiceRow): InvoiceView {
  return {
    id: row.id,
    object: 'invoice',
    tenant_id: row.tenant_id,
    period: row.period,
    status: row.status,
    currency: row.currency,
    total: formatMicros(Number(row.total_micros)),
    total_micros: Number(row.total_micros),
    lines: JSON.parse(row.lines) as InvoiceLine[],
    period_start: new Date(Number(row.period_start)).toISOString(),
    period_end: new Date(Number(row.period_end)).toISOString(),
    created: Math.floor(Number(row.created_at) / 1000),
  };
}

/** Monthly invoices: closing a period turns each tenant's usage of that month into one invoice. */
export class InvoiceService {
  private autoClosed: string | null = null;

  constructor(
    private readonly db: Db,
    private readonly meter: UsageMeter,
    private readonly logger: Logger,
  ) {}

  /**
   * Closes a month for every tenant that used the API in it: one line per model and the total, and an
   * `invoice.created` event in the same transaction. Closing a month again creates nothing.
   */
  async close(periodId: string, now = Date.now()): Promise<CloseResult> {
    const period = parsePeriod(periodId);
    if (!period) throw new ApiError('invalid_parameter', "'period' must be a month as YYYY-MM.", 'period');
    if (period.start > now)
      throw new ApiError('invalid_parameter', `The period ${periodId} has not started yet.`, 'period');
    // Usage settled a moment ago must be on the invoice.
    await this.meter.flush();
    // Months are whole UTC days, so the daily roll-ups hold exactly the month's usage.
    const rows = await this.db
      .selectFrom('usage_daily')
      .where('day', '>=', dayOf(period.start))
      .where('day', '<', dayOf(period.end))
      .select((eb) => [
        'tenant_id',
        'model',
        eb.fn.sum<number>('requests').as('requests'),
        eb.fn.sum<number>('prompt_tokens').as('prompt_tokens'),
        eb.fn.sum<number>('completion_tokens').as('completion_tokens'),
        eb.fn.sum<number>('cost_micros').as('cost_micros'),
      ])
      .groupBy(['tenant_id', 'model'])
      .execute();
    const byTenant = new Map<string, InvoiceLine[]>();
    for (const r of rows) {
      const micros = Number(r.cost_micros);
      const lines = byTenant.get(r.tenant_id) ?? [];
      lines.push({
        model: r.model,
        requests: Number(r.requests),
        prompt_tokens: Number(r.prompt_tokens),
        completion_tokens: Number(r.completion_tokens),
        amount: formatMicros(micros),
        amount_micros: micros,
      });
      byTenant.set(r.tenant_id, lines);
    }
    const created: InvoiceView[] = [];
    for (const [tenantId, lines] of [...byTenant].sort(([a], [b]) => (a < b ? -1 : 1))) {
      lines.sort((a, b) => a.model.localeCompare(b.model));
      const invoice = await this.createInvoice(tenantId, period, lines, now);
      if (invoice) created.push(invoice);
    }
    return { period: period.id, created };
  }

  /** Closes the previous month once it is over; safe to call often and from every replica. */
  async closePreviousMonth(now = Date.now()): Promise<void> {
    const period = previousPeriod(now);
    if (this.autoClosed === period.id) return;
    const { created } = await this.close(period.id, now);
    this.autoClosed = period.id;
    if (created.length > 0)
      this.logger.info({ period: period.id, invoices: created.length }, 'closed the monthly invoices');
  }

  async list(tenantId: string): Promise<InvoiceView[]> {
    const rows = await this.db
      .selectFrom('invoices')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('period', 'desc')
      .execute();
    return rows.map(invoiceView);
  }

  async get(tenantId: string, id: string): Promise<InvoiceView | undefined> {
    const row = await this.db
      .selectFrom('invoices')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? invoiceView(row) : undefined;
  }

  private async createInvoice(
    tenantId: string,
    period: BillingPeriod,
    lines: InvoiceLine[],
    now: number,
  ): Promise<InvoiceView | null> {
    const totalMicros = lines.reduce((sum, l) => sum + l.amount_micros, 0);
    const row: InvoiceRow = {
      id: newId('inv'),
      tenant_id: tenantId,
      period: period.id,
      status: 'closed',
      currency: 'USD',
      total_micros: totalMicros,
      lines: JSON.stringify(lines),
      period_start: period.start,
      period_end: period.end,
      created_at: now,
    };
    return this.db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('invoices')
        .values(row)
        .onConflict((oc) => oc.columns(['tenant_id', 'period']).doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!inserted) return null;
      const view = invoiceView(row);
      await enqueueEvent(trx, tenantId, 'invoice.created', {
        invoice_id: view.id,
        period: view.period,
        total: view.total,
        currency: view.currency,
        lines: view.lines.length,
      });
      return view;
    });
  }
}
