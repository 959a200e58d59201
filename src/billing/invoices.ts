import { sql } from 'kysely';
import type { Logger } from 'pino';
import { enqueueEvent } from '../events/outbox.js';
import { type Payment, paymentsReceived } from '../payments/payment-store.js';
import type { Db } from '../shared/db.js';
import { ApiError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { formatMicros } from '../shared/money.js';
import type { Dialect } from '../storage/database.js';
import { statementChunks } from '../storage/statement-chunks.js';
import type { InvoiceRow } from '../storage/tables.js';
import { type UninvoicedUsage, uninvoicedLines } from './invoice-lines.js';
import { type InvoicePayment, invoicePaymentOf, paymentsTotal } from './invoice-payments.js';
import type { UsageMeter } from './meter.js';
import { type BillingPeriod, parsePeriod, previousPeriod } from './periods.js';
import { dayOf } from './usage-daily.js';

/** One line on an invoice: a model's usage of the period, or of an earlier month carried onto it. */
export interface InvoiceLine {
  model: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** USD, decimal string. */
  amount: string;
  amount_micros: number;
  /** `YYYY-MM` of the earlier month whose usage reached it after it was closed; absent on the period's own lines. */
  carried_from?: string;
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
  /** Card payments received within the period (credits bought; not part of `total`, which is usage). */
  payments: InvoicePayment[];
  /** USD of credit bought within the period. */
  payments_total: string;
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

export function invoiceView(row: InvoiceRow, payments: readonly Payment[]): InvoiceView {
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
    payments: payments.map(invoicePaymentOf),
    payments_total: paymentsTotal(payments),
    period_start: new Date(Number(row.period_start)).toISOString(),
    period_end: new Date(Number(row.period_end)).toISOString(),
    created: Math.floor(Number(row.created_at) / 1000),
  };
}

export interface InvoiceServiceOptions {
  /** PostgreSQL locks the roll-ups an invoice takes; SQLite has a single writer anyway. */
  dialect: Dialect;
  /** Clock in epoch ms (tests inject one). */
  now?: () => number;
}

/**
 * Monthly invoices: closing a period turns each tenant's usage that no invoice covers yet into one
 * invoice — the period's own usage per model, and as lines of their own any usage of earlier months
 * that arrived after those were closed (a late flush from another replica, a replayed write-ahead
 * log). Nothing is dropped and nothing is invoiced twice: each daily roll-up records what invoices
 * already cover, in the same transaction as the invoice.
 */
export class InvoiceService {
  private autoClosed: string | null = null;
  private readonly now: () => number;

  constructor(
    private readonly db: Db,
    private readonly meter: UsageMeter,
    private readonly logger: Logger,
    private readonly opts: InvoiceServiceOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * Closes a month once it is over: one invoice per tenant with uninvoiced usage up to its end, and an
   * `invoice.created` event in the same transaction. Closing a closed month again creates nothing.
   */
  async close(periodId: string, now = this.now()): Promise<CloseResult> {
    const period = parsePeriod(periodId);
    if (!period) throw new ApiError('invalid_parameter', "'period' must be a month as YYYY-MM.", 'period');
    // A month still running would lose the rest of its usage to an invoice already issued.
    if (period.end > now)
      throw new ApiError(
        'invalid_parameter',
        `The period ${periodId} is not over yet: it can be closed from ${new Date(period.end).toISOString()}.`,
        'period',
      );
    const closed = await this.db
      .selectFrom('billing_periods')
      .select('period')
      .where('period', '=', period.id)
      .executeTakeFirst();
    if (closed) return { period: period.id, created: [] };
    // Usage settled a moment ago must be on the invoice.
    await this.meter.flush();
    const tenants = await this.db
      .selectFrom('usage_daily')
      .select('tenant_id')
      .distinct()
      .where('day', '<', dayOf(period.end))
      .whereRef('requests', '>', 'invoiced_requests')
      .orderBy('tenant_id')
      .execute();
    const created: InvoiceView[] = [];
    for (const { tenant_id } of tenants) {
      const invoice = await this.createInvoice(tenant_id, period, now);
      if (invoice) created.push(invoice);
    }
    // Recorded last: a close cut short (crash, error) is finished by the next one.
    await this.db
      .insertInto('billing_periods')
      .values({ period: period.id, closed_at: now })
      .onConflict((oc) => oc.column('period').doNothing())
      .execute();
    return { period: period.id, created };
  }

  /** Closes the previous month once it is over; safe to call often and from every replica. */
  async closePreviousMonth(now = this.now()): Promise<void> {
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
    if (rows.length === 0) return [];
    // One read of the payments of every listed month, not one per invoice.
    const starts = rows.map((row) => Number(row.period_start));
    const ends = rows.map((row) => Number(row.period_end));
    const paid = await paymentsReceived(this.db, tenantId, Math.min(...starts), Math.max(...ends));
    return rows.map((row, i) =>
      invoiceView(
        row,
        paid.filter((p) => p.paidAt !== null && p.paidAt >= starts[i]! && p.paidAt < ends[i]!),
      ),
    );
  }

  async get(tenantId: string, id: string): Promise<InvoiceView | undefined> {
    const row = await this.db
      .selectFrom('invoices')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? this.withPayments(this.db, row) : undefined;
  }

  /** The invoice with the payments received in its period. */
  private async withPayments(db: Db, row: InvoiceRow): Promise<InvoiceView> {
    const payments = await paymentsReceived(
      db,
      row.tenant_id,
      Number(row.period_start),
      Number(row.period_end),
    );
    return invoiceView(row, payments);
  }

  /**
   * One tenant's invoice, in one transaction: reads the roll-ups no invoice covers (locked on
   * PostgreSQL, so a concurrent usage write waits and lands after), writes the invoice and marks
   * exactly those rows as covered. Null when another replica invoiced the tenant for the period first.
   */
  private async createInvoice(
    tenantId: string,
    period: BillingPeriod,
    now: number,
  ): Promise<InvoiceView | null> {
    return this.db.transaction().execute(async (trx) => {
      const rows = await lockUninvoiced(trx, tenantId, period, this.opts.dialect);
      if (rows.length === 0) return null;
      const lines = uninvoicedLines(rows, period);
      const row: InvoiceRow = {
        id: newId('inv'),
        tenant_id: tenantId,
        period: period.id,
        status: 'closed',
        currency: 'USD',
        total_micros: lines.reduce((sum, l) => sum + l.amount_micros, 0),
        lines: JSON.stringify(lines),
        period_start: period.start,
        period_end: period.end,
        created_at: now,
      };
      const inserted = await trx
        .insertInto('invoices')
        .values(row)
        .onConflict((oc) => oc.columns(['tenant_id', 'period']).doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!inserted) return null;
      await markInvoiced(trx, tenantId, rows);
      const view = await this.withPayments(trx, row);
      await enqueueEvent(trx, tenantId, 'invoice.created', {
        invoice_id: view.id,
        period: view.period,
        total: view.total,
        currency: view.currency,
        lines: view.lines.length,
        payments_total: view.payments_total,
      });
      return view;
    });
  }
}

/**
 * A tenant's roll-ups up to the end of `period` with usage no invoice covers yet, in key order (the
 * order usage writes lock them in); locked until the transaction ends on PostgreSQL.
 */
export function lockUninvoiced(
  trx: Db,
  tenantId: string,
  period: BillingPeriod,
  dialect: Dialect,
): Promise<UninvoicedUsage[]> {
  return (
    trx
      .selectFrom('usage_daily')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('day', '<', dayOf(period.end))
      .whereRef('requests', '>', 'invoiced_requests')
      .orderBy('day')
      // Byte order, as usage writes sort their keys; PostgreSQL's default collation may differ.
      .orderBy(dialect === 'postgres' ? sql`model collate "C"` : 'model')
      .$if(dialect === 'postgres', (qb) => qb.forUpdate())
      .execute()
  );
}

/** Marks exactly the rows read as covered (rows the lock or the single writer kept unchanged since). */
async function markInvoiced(trx: Db, tenantId: string, rows: readonly UninvoicedUsage[]): Promise<void> {
  for (const chunk of statementChunks(rows)) {
    await trx
      .updateTable('usage_daily')
      .set((eb) => ({
        invoiced_requests: eb.ref('requests'),
        invoiced_prompt_tokens: eb.ref('prompt_tokens'),
        invoiced_completion_tokens: eb.ref('completion_tokens'),
        invoiced_cost_micros: eb.ref('cost_micros'),
        invoiced_cost_picos: eb.ref('cost_picos'),
      }))
      .where('tenant_id', '=', tenantId)
      .where((eb) =>
        eb(
          eb.refTuple('day', 'model'),
          'in',
          chunk.map((r) => eb.tuple(r.day, r.model)),
        ),
      )
      .execute();
  }
}
