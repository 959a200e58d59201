import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { SpendPeriod } from '../accounts/api-key-store.js';
import type { AuthContext } from '../accounts/authenticator.js';
import { enqueueEvent } from '../events/outbox.js';
import type { Db } from '../shared/db.js';
import { ApiError } from '../shared/errors.js';
import { formatMicros } from '../shared/money.js';
import type { NewUsageRecordRow } from '../storage/tables.js';
import type { AdmissionRequest, MeterTicket, UsageMeter } from './meter.js';

/** When the budget period holding `now` started: 00:00 UTC of the day, or of the 1st of the month. */
export function budgetPeriodStart(period: SpendPeriod, now: number): number {
  const d = new Date(now);
  return period === 'day'
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** When the budget period holding `now` ends (the next one starts). */
export function budgetPeriodEnd(period: SpendPeriod, now: number): number {
  const d = new Date(budgetPeriodStart(period, now));
  return period === 'day'
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

interface LimitedKey {
  tenantId: string;
  name: string;
  limitMicros: number;
  period: SpendPeriod;
}

/**
 * Spend budgets of single API keys (USD per UTC day or month). A key's spend in the current period is
 * kept in `key_spend`, written when each of its requests settles; a key whose spend reached its
 * budget is refused with 402 `key_budget_exceeded` (the organization's credits are another matter).
 * Like the credit check, requests already admitted finish, so the last one may cross the budget; the
 * crossing raises `key.budget_reached` once per period. Only keys with a budget cost anything here.
 */
export class KeyBudgets {
  /** Keys with a budget seen at admission in this process, by id: whose settled usage counts. */
  private readonly limited = new Map<string, LimitedKey>();
  /** Spend writes in flight per key: an admission waits for them, so it sees the latest spend. */
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws 402 `key_budget_exceeded` when the calling key spent its budget of the current period. */
  async assertWithin(auth: AuthContext): Promise<void> {
    const limits = auth.key.limits;
    if (!limits || limits.spendLimitMicros === null || limits.spendPeriod === null) return;
    const key = auth.key;
    this.limited.set(key.id, {
      tenantId: auth.tenant.id,
      name: key.name,
      limitMicros: limits.spendLimitMicros,
      period: limits.spendPeriod,
    });
    await this.pending.get(key.id);
    const now = this.now();
    const row = await this.db
      .selectFrom('key_spend')
      .select('spent_micros')
      .where('key_id', '=', key.id)
      .where('period_start', '=', budgetPeriodStart(limits.spendPeriod, now))
      .executeTakeFirst();
    const spent = Number(row?.spent_micros ?? 0);
    if (spent < limits.spendLimitMicros) return;
    const resets = new Date(budgetPeriodEnd(limits.spendPeriod, now)).toISOString().replace('.000', '');
    throw new ApiError(
      'key_budget_exceeded',
      `This API key ('${key.name}') reached its spend budget of $${formatMicros(limits.spendLimitMicros)} per ${limits.spendPeriod} ($${formatMicros(spent)} spent). The budget resets at ${resets}. An owner or admin can raise it; the organization's credits are not exhausted.`,
    );
  }

  /** Adds a settled request's cost to its key's spend, when the key has a budget (never throws). */
  onSettled(row: NewUsageRecordRow): void {
    if (!row.key_id) return;
    const key = this.limited.get(row.key_id);
    // Rounded up: a budget is never overrun by sub-micro-dollar amounts.
    const micros = Number(row.cost_micros) + (Number(row.cost_picos) > 0 ? 1 : 0);
    if (!key || micros <= 0) return;
    const keyId = row.key_id;
    const previous = this.pending.get(keyId) ?? Promise.resolve();
    const write = previous
      .then(() => this.add(keyId, key, micros))
      .catch((err: unknown) => this.logger.error({ err, keyId }, 'key spend update failed'));
    this.pending.set(keyId, write);
    void write.then(() => {
      if (this.pending.get(keyId) === write) this.pending.delete(keyId);
    });
  }

  /** Waits for spend writes in flight (shutdown, tests). */
  async drain(): Promise<void> {
    await Promise.all(this.pending.values());
  }

  private async add(keyId: string, key: LimitedKey, micros: number): Promise<void> {
    const now = this.now();
    const periodStart = budgetPeriodStart(key.period, now);
    await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('key_spend')
        .values({
          key_id: keyId,
          period_start: periodStart,
          tenant_id: key.tenantId,
          spent_micros: micros,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.columns(['key_id', 'period_start']).doUpdateSet({
            spent_micros: sql<number>`key_spend.spent_micros + ${micros}`,
            updated_at: now,
          }),
        )
        .returning('spent_micros')
        .executeTakeFirstOrThrow();
      const after = Number(row.spent_micros);
      const before = after - micros;
      if (before < key.limitMicros && after >= key.limitMicros)
        await enqueueEvent(
          trx,
          key.tenantId,
          'key.budget_reached',
          {
            key_id: keyId,
            key_name: key.name,
            scope: 'key',
            period: key.period,
            period_start: Math.floor(periodStart / 1000),
            resets_at: Math.floor(budgetPeriodEnd(key.period, now) / 1000),
            limit: formatMicros(key.limitMicros),
            spent: formatMicros(after),
          },
          now,
        );
    });
  }
}

/** A meter that refuses requests of keys over their budget before the credit check. */
export function withKeyBudgets(meter: UsageMeter, budgets: KeyBudgets): UsageMeter {
  return {
    async admit(req: AdmissionRequest): Promise<MeterTicket> {
      await budgets.assertWithin(req.auth);
      return meter.admit(req);
    },
    flush: () => meter.flush(),
  };
}
