import type { TenantCreatedHook } from '../accounts/account-service.js';
import { recordAudit } from '../accounts/audit-log.js';
import { findTenant } from '../accounts/tenant-store.js';
import type { Db } from '../shared/db.js';
import { ApiError, notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { formatMicros, roundToMicros } from '../shared/money.js';
import type { CreditMeter } from './credit-meter.js';
import { appendCredit, readTotals } from './credit-store.js';
import type { InvoiceService } from './invoices.js';
import type { UsageRecordList, UsageRecordQuery } from './routes/billing-schemas.js';
import { listUsageRecords } from './usage-records.js';
import { type UsageGrouping, type UsageLine, usageLines } from './usage-report.js';

/** A tenant's credit as `GET /admin/balance` shows it. */
export interface BalanceView {
  object: 'balance';
  /** Granted − consumed, USD. */
  balance: string;
  currency: 'USD';
  granted: string;
  consumed: string;
  /** Estimates held by requests in flight on this replica. */
  reserved: string;
  /** Balance − reserved: what the next request is admitted against. */
  available: string;
  balance_micros: number;
}

export interface GrantInput {
  tenantId: string;
  /** Positive: a grant (starts a new threshold period). Negative: an adjustment. */
  amountMicros: number;
  note?: string | null;
  actor: string;
  ip?: string | null;
  /** Makes a retried grant a no-op; generated when absent. */
  idempotencyKey?: string;
}

export interface GrantResult {
  /** False when the idempotency key was used before and nothing changed. */
  applied: boolean;
  kind: 'grant' | 'adjustment';
  balance: BalanceView;
}

/** Credits, balances, usage reports and invoices: the control-plane side of billing. */
export class BillingService {
  constructor(
    private readonly db: Db,
    readonly meter: CreditMeter,
    readonly invoices: InvoiceService,
    private readonly trialCreditsMicros: number,
  ) {}

  /** Grants the sign-up trial credit inside the sign-up transaction (an AccountService hook). */
  readonly grantTrial: TenantCreatedHook = async (trx, tenant) => {
    if (this.trialCreditsMicros <= 0) return;
    await appendCredit(trx, {
      tenantId: tenant.id,
      kind: 'trial',
      amountMicros: this.trialCreditsMicros,
      idempotencyKey: `trial:${tenant.id}`,
      actor: 'system',
      note: 'Sign-up trial credit',
    });
  };

  /** Adds (or, with a negative amount, removes) credit, with an audit entry, in one transaction. */
  async grant(input: GrantInput): Promise<GrantResult> {
    if (!Number.isSafeInteger(input.amountMicros) || input.amountMicros === 0)
      throw new ApiError('invalid_parameter', "'amount' must be a non-zero USD amount.", 'amount');
    // Silently ignoring a bad key would turn a retried grant into a second grant.
    if (
      input.idempotencyKey !== undefined &&
      (input.idempotencyKey.length === 0 || input.idempotencyKey.length > 100)
    )
      throw new ApiError(
        'invalid_parameter',
        'The idempotency key must be 1 to 100 characters.',
        'Idempotency-Key',
      );
    if (!(await findTenant(this.db, input.tenantId))) throw notFound('The tenant');
    const kind = input.amountMicros > 0 ? 'grant' : 'adjustment';
    // Keys are scoped to the tenant: the same key used for two tenants means two grants.
    const idempotencyKey = input.idempotencyKey
      ? `op:${input.tenantId}:${input.idempotencyKey}`
      : newId('grant');
    const applied = await this.db.transaction().execute(async (trx) => {
      const ok = await appendCredit(trx, {
        tenantId: input.tenantId,
        kind,
        amountMicros: input.amountMicros,
        idempotencyKey,
        actor: input.actor,
        note: input.note ?? null,
      });
      if (ok)
        await recordAudit(trx, {
          tenantId: input.tenantId,
          actor: input.actor,
          action: 'credits.granted',
          target: input.tenantId,
          ip: input.ip ?? null,
          detail: { kind, amount: formatMicros(input.amountMicros), note: input.note ?? null },
        });
      return ok;
    });
    this.meter.invalidate(input.tenantId);
    return { applied, kind, balance: await this.balance(input.tenantId) };
  }

  /** The tenant's balance, with usage settled a moment ago included. */
  async balance(tenantId: string): Promise<BalanceView> {
    await this.meter.flush();
    const totals = await readTotals(this.db, tenantId);
    // Consumption is exact to the pico-dollar; it is rounded once, and the balance follows from it.
    const granted = roundToMicros(totals.granted);
    const consumed = roundToMicros(totals.consumed);
    const balance = granted - consumed;
    const reserved = roundToMicros(this.meter.reservedFor(tenantId));
    return {
      object: 'balance',
      balance: formatMicros(balance),
      currency: 'USD',
      granted: formatMicros(granted),
      consumed: formatMicros(consumed),
      reserved: formatMicros(reserved),
      available: formatMicros(balance - reserved),
      balance_micros: balance,
    };
  }

  /** Granted − consumed as committed in the database (no flush): e.g. right after sign-up. */
  async balanceMicros(tenantId: string): Promise<number> {
    const totals = await readTotals(this.db, tenantId);
    return roundToMicros(totals.granted) - roundToMicros(totals.consumed);
  }

  async usage(tenantId: string, from: number, to: number, groupBy: UsageGrouping): Promise<UsageLine[]> {
    await this.meter.flush();
    return usageLines(this.db, tenantId, from, to, groupBy);
  }

  /** The tenant's usage records, newest first, with usage settled a moment ago included. */
  async usageRecords(tenantId: string, query: UsageRecordQuery): Promise<UsageRecordList> {
    await this.meter.flush();
    return listUsageRecords(this.db, tenantId, query);
  }
}
