import type { Db } from '../shared/db.js';
import { ApiError } from '../shared/errors.js';
import { balanceOf, readTotals } from './credit-store.js';
import type { CommittedTotals } from './usage-writer.js';
import { type PricedRequest, type WorstCase, worstCase } from './worst-case.js';

/** A settled record whose cost was counted in `pending` by the process that settled it. */
export interface LiveCost {
  tenantId: string;
  cost: bigint;
}

/**
 * Who may spend what, in pico-dollars: each tenant's balance in the database, minus usage settled but
 * not committed yet (`pending`), minus the worst cases of requests in flight (`reserved`). A request is
 * admitted when what is left covers its own worst case, so together they never spend more than the
 * balance. One book serves every process that must share it: in process (LocalCreditBook), or the
 * serving workers' primary process over IPC (see src/cluster).
 */
export interface CreditBook {
  /** Checks the tenant's available credit and reserves the request's worst case; throws a 402 ApiError. */
  admit(tenantId: string, req: PricedRequest): Promise<WorstCase>;
  /** A request ended: its reservation is released and its cost (0 when unbilled) becomes pending. */
  settled(tenantId: string, reservation: bigint, cost: bigint): void;
  /**
   * A batch committed: live costs leave `pending`, and tenants' balances become the committed totals.
   * A live record without totals for its tenant was stored by someone else first: its balance is read again.
   */
  committed(live: readonly LiveCost[], totals: ReadonlyMap<string, CommittedTotals>): void;
  /** Forgets a tenant's cached balance (after a grant), so the next admission reads it again. */
  invalidate(tenantId: string): void;
  /** Everything a dead writer had written ahead is now committed (see UsageRecovery). */
  recovered(owner: string): void;
  reservedFor(tenantId: string): bigint;
  pendingFor(tenantId: string): bigint;
}

interface TenantCredit {
  balance: bigint;
  /** What the balance was computed from: consumption only grows, so smaller totals are older ones. */
  consumed: bigint;
  pending: bigint;
  reserved: bigint;
  loadedAt: number;
  /** Bumped by every commit or invalidation, so a slower read that started earlier is discarded. */
  epoch: number;
  loading: Promise<void> | null;
}

/** The book of one process: balances read from the database, trusted for `balanceTtlMs`. */
export class LocalCreditBook implements CreditBook {
  private readonly tenants = new Map<string, TenantCredit>();

  constructor(
    private readonly db: Db,
    private readonly balanceTtlMs = 1000,
  ) {}

  async admit(tenantId: string, req: PricedRequest): Promise<WorstCase> {
    const credit = await this.credit(tenantId);
    const available = credit.balance - credit.pending - credit.reserved;
    if (available <= 0n)
      throw new ApiError(
        'insufficient_credits',
        'Your credit balance is exhausted. Add credits to continue using the API.',
      );
    // Checked and reserved in one synchronous step: concurrent admissions see each other's reservations.
    const decided = worstCase(req, available);
    credit.reserved += decided.reservation;
    return decided;
  }

  settled(tenantId: string, reservation: bigint, cost: bigint): void {
    const credit = this.entry(tenantId);
    credit.reserved -= reservation;
    credit.pending += cost;
  }

  /** Takes back pending usage that will never be committed by its writer (see the cluster coordinator). */
  forget(tenantId: string, reservation: bigint, pending: bigint): void {
    const credit = this.tenants.get(tenantId);
    if (!credit) return;
    credit.reserved -= reservation;
    credit.pending -= pending;
  }

  committed(live: readonly LiveCost[], totals: ReadonlyMap<string, CommittedTotals>): void {
    for (const { tenantId, cost } of live) {
      const credit = this.tenants.get(tenantId);
      if (!credit) continue;
      credit.pending -= cost;
      if (!totals.has(tenantId) && cost > 0n) this.invalidate(tenantId);
    }
    for (const [tenantId, t] of totals) {
      const credit = this.tenants.get(tenantId);
      // Writers of several processes commit in one order and may report in another: totals older
      // than the ones already applied would give back usage that is no longer pending.
      if (!credit || t.consumed < credit.consumed) continue;
      credit.balance = balanceOf(t);
      credit.consumed = t.consumed;
      credit.loadedAt = Date.now();
      credit.epoch++;
    }
  }

  invalidate(tenantId: string): void {
    const credit = this.tenants.get(tenantId);
    if (credit) {
      credit.loadedAt = 0;
      credit.epoch++;
    }
  }

  recovered(): void {}

  reservedFor(tenantId: string): bigint {
    return this.tenants.get(tenantId)?.reserved ?? 0n;
  }

  pendingFor(tenantId: string): bigint {
    return this.tenants.get(tenantId)?.pending ?? 0n;
  }

  private entry(tenantId: string): TenantCredit {
    let credit = this.tenants.get(tenantId);
    if (!credit) {
      credit = { balance: 0n, consumed: 0n, pending: 0n, reserved: 0n, loadedAt: 0, epoch: 0, loading: null };
      this.tenants.set(tenantId, credit);
    }
    return credit;
  }

  private async credit(tenantId: string): Promise<TenantCredit> {
    const credit = this.entry(tenantId);
    if (Date.now() - credit.loadedAt > this.balanceTtlMs) {
      const c = credit;
      c.loading ??= (async () => {
        const epoch = c.epoch;
        try {
          const totals = await readTotals(this.db, tenantId);
          if (c.epoch === epoch) {
            c.balance = balanceOf(totals);
            c.consumed = totals.consumed;
            c.loadedAt = Date.now();
          }
        } finally {
          c.loading = null;
        }
      })();
      await c.loading;
    }
    return credit;
  }
}
