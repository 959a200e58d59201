import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { SpendPeriod } from '../accounts/api-key-store.js';
import type { AuthContext } from '../accounts/authenticator.js';
import { enqueueEvent } from '../events/outbox.js';
import type { Db } from '../shared/db.js';
import { ApiError } from '../shared/errors.js';
import { floorToMicros, formatMicros, picosOf } from '../shared/money.js';
import type { Dialect } from '../storage/database.js';
import type { NewUsageRecordRow } from '../storage/tables.js';
import type { AdmissionRequest, MeterTicket, UsageMeter } from './meter.js';
import { type PricedRequest, worstCase } from './worst-case.js';

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

/** A request's worst case held against its key's budget while it runs. */
export interface KeyHold {
  /** Holds `picos` instead (the request goes out with a lower cap). */
  resize(picos: bigint): void;
  /** Gives the hold back (the request settled or was refused); later calls do nothing. */
  release(): void;
}

const NO_HOLD: KeyHold = { resize: () => {}, release: () => {} };

interface LimitedKey {
  tenantId: string;
  name: string;
  limitMicros: number;
  period: SpendPeriod;
}

/**
 * Spend budgets of single API keys (USD per UTC day or month). A key's spend in the current period is
 * kept in `key_spend`, written when each of its requests settles; a key whose spend, plus the worst
 * case of its requests in flight in this process, reached its budget is refused with 402
 * `key_budget_exceeded` (the organization's credits are another matter). Like the credit check,
 * requests already admitted finish, so the last one admitted may cross the budget, by at most its own
 * worst case; the crossing raises `key.budget_reached` once per period. Only keys with a budget cost
 * anything here.
 */
export class KeyBudgets {
  /** Keys with a budget seen at admission in this process, by id: whose settled usage counts. */
  private readonly limited = new Map<string, LimitedKey>();
  /** Spend writes in flight per key: an admission waits for them, so it sees the latest spend. */
  private readonly pending = new Map<string, Promise<void>>();
  /** Worst cases (pico-dollars) of the requests in flight per key, held until each settles. */
  private readonly held = new Map<string, bigint>();

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly dialect: Dialect,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Throws 402 `key_budget_exceeded` when the calling key's spend of the current period, plus what its
   * requests in flight may still cost, reached its budget. Otherwise holds `worstPicos` for the request
   * (checked and held in one synchronous step, so parallel admissions see each other) and returns
   * the hold, given back once the request settled; a key without a budget holds nothing.
   */
  async hold(auth: AuthContext, worstPicos: bigint): Promise<KeyHold> {
    const limits = auth.key.limits;
    if (!limits || limits.spendLimitMicros === null || limits.spendPeriod === null) return NO_HOLD;
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
    const inFlight = this.held.get(key.id) ?? 0n;
    if (picosOf(spent) + inFlight < picosOf(limits.spendLimitMicros)) {
      let holding = worstPicos;
      this.adjust(key.id, holding);
      return {
        resize: (picos) => {
          this.adjust(key.id, picos - holding);
          holding = picos;
        },
        release: () => {
          this.adjust(key.id, -holding);
          holding = 0n;
        },
      };
    }
    const resets = new Date(budgetPeriodEnd(limits.spendPeriod, now)).toISOString().replace('.000', '');
    const running =
      inFlight > 0n ? `, up to $${formatMicros(floorToMicros(inFlight))} more in requests running` : '';
    throw new ApiError(
      'key_budget_exceeded',
      `This API key ('${key.name}') reached its spend budget of $${formatMicros(limits.spendLimitMicros)} per ${limits.spendPeriod} ($${formatMicros(spent)} spent${running}). The budget resets at ${resets}. An owner or admin can raise it; the organization's credits are not exhausted.`,
    );
  }

  private adjust(keyId: string, by: bigint): void {
    const left = (this.held.get(keyId) ?? 0n) + by;
    if (left > 0n) this.held.set(keyId, left);
    else this.held.delete(keyId);
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

  /** The key that replaced `keyId` in a rotation, with its row locked on PostgreSQL. */
  private async successorOf(trx: Db, keyId: string): Promise<string | null> {
    const row = await trx
      .selectFrom('api_keys')
      .select('replaced_by')
      .where('id', '=', keyId)
      .$if(this.dialect === 'postgres', (qb) => qb.forUpdate())
      .executeTakeFirst();
    return row?.replaced_by ?? null;
  }

  private async add(keyId: string, key: LimitedKey, micros: number): Promise<void> {
    const now = this.now();
    const periodStart = budgetPeriodStart(key.period, now);
    await this.db.transaction().execute(async (trx) => {
      const spend = (id: string) =>
        trx
          .insertInto('key_spend')
          .values({
            key_id: id,
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
      // The key row is locked first: a rotation either committed before (then its successors get the
      // cost too) or waits and copies the spend with this cost in it.
      let successor = await this.successorOf(trx, keyId);
      const row = await spend(keyId);
      for (let hops = 0; successor && hops < 100; hops++) {
        const next = await this.successorOf(trx, successor);
        await spend(successor);
        successor = next;
      }
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

/** Whether the calling key has a spend budget (most keys have none, and pay nothing here). */
const hasBudget = (auth: AuthContext): boolean =>
  auth.key.limits?.spendLimitMicros != null && auth.key.limits.spendPeriod != null;

/** Above any balance: a request's worst case, priced without a balance to cap it. */
const UNCAPPED = 1n << 80n;

/** The most a request can cost when sent with `completionCap` (or its own cap, or the whole window). */
function worstPicos(req: PricedRequest, completionCap: number | null): bigint {
  const capped = completionCap === null ? req : { ...req, maxCompletionTokens: completionCap };
  return worstCase(capped, UNCAPPED).reservation;
}

/**
 * A meter that refuses requests of keys over their budget before the credit check, and holds each
 * admitted request's worst case against its key's budget until it settles.
 */
export function withKeyBudgets(meter: UsageMeter, budgets: KeyBudgets): UsageMeter {
  return {
    async admit(req: AdmissionRequest): Promise<MeterTicket> {
      if (!hasBudget(req.auth)) return meter.admit(req);
      const hold = await budgets.hold(req.auth, worstPicos(req, null));
      let ticket: MeterTicket;
      try {
        ticket = await meter.admit(req);
      } catch (err) {
        hold.release();
        throw err;
      }
      // Sent with the cap the balance affords: that is its worst case, not the whole window's.
      if (ticket.completionCap !== null) hold.resize(worstPicos(req, ticket.completionCap));
      return {
        completionCap: ticket.completionCap,
        settle: async (outcome) => {
          try {
            await ticket.settle(outcome);
          } finally {
            hold.release();
          }
        },
      };
    },
    flush: () => meter.flush(),
  };
}
