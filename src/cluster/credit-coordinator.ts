import type { LiveCost, LocalCreditBook } from '../billing/credit-book.js';
import type { CommittedTotals } from '../billing/usage-writer.js';
import type { PricedRequest, WorstCase } from '../billing/worst-case.js';

/** What one worker holds in the shared book, so that its death can be accounted for. */
interface WorkerShare {
  /** Its write-ahead writer, named in its segments: what the recovery sweep reports when done. */
  owner: string | null;
  reserved: Map<string, bigint>;
  pending: Map<string, bigint>;
}

const add = (m: Map<string, bigint>, key: string, v: bigint) => {
  const next = (m.get(key) ?? 0n) + v;
  if (next === 0n) m.delete(key);
  else m.set(key, next);
};

/** Owners reported recovered are remembered this long, in case the report beats the news of the death. */
const RECOVERED_MEMORY_MS = 60_000;

/**
 * The primary's credit book for every serving worker of a machine: one LocalCreditBook, so admission
 * sees the reservations and pending usage of all of them at once, plus each worker's share of it.
 * When a worker dies, its reservations go (its requests in flight died unanswered, unbilled) and its
 * pending usage stays until the recovery sweep has committed what it wrote ahead; then the tenants'
 * balances are read again.
 */
export class CreditCoordinator {
  private readonly shares = new Map<number, WorkerShare>();
  /** Pending usage of dead workers, by their writer's name. */
  private readonly orphaned = new Map<string, Map<string, bigint>>();
  private readonly recoveredOwners = new Map<string, number>();

  constructor(private readonly book: LocalCreditBook) {}

  hello(worker: number, owner: string): void {
    this.share(worker).owner = owner;
  }

  async admit(worker: number, tenantId: string, req: PricedRequest): Promise<WorstCase> {
    const decided = await this.book.admit(tenantId, req);
    if (this.shares.has(worker)) add(this.share(worker).reserved, tenantId, decided.reservation);
    // A worker that died while its admission was decided never settles it.
    else this.book.forget(tenantId, decided.reservation, 0n);
    return decided;
  }

  settled(worker: number, tenantId: string, reservation: bigint, cost: bigint): void {
    this.book.settled(tenantId, reservation, cost);
    const share = this.share(worker);
    add(share.reserved, tenantId, -reservation);
    add(share.pending, tenantId, cost);
  }

  committed(worker: number, live: readonly LiveCost[], totals: ReadonlyMap<string, CommittedTotals>): void {
    this.book.committed(live, totals);
    const share = this.share(worker);
    for (const { tenantId, cost } of live) add(share.pending, tenantId, -cost);
  }

  invalidate(tenantId: string): void {
    this.book.invalidate(tenantId);
  }

  /** A worker is gone (crashed, or stopped after committing everything). */
  exited(worker: number): void {
    const share = this.shares.get(worker);
    this.shares.delete(worker);
    if (!share) return;
    for (const [tenantId, reserved] of share.reserved) this.book.forget(tenantId, reserved, 0n);
    if (share.pending.size === 0) return;
    if (share.owner === null || this.recoveredOwners.has(share.owner)) this.release(share.pending);
    else this.orphaned.set(share.owner, share.pending);
  }

  /** Everything the dead writer `owner` wrote ahead is committed: its pending usage is in the balances now. */
  recovered(owner: string): void {
    const now = Date.now();
    for (const [o, at] of this.recoveredOwners)
      if (now - at > RECOVERED_MEMORY_MS) this.recoveredOwners.delete(o);
    this.recoveredOwners.set(owner, now);
    const pending = this.orphaned.get(owner);
    this.orphaned.delete(owner);
    if (pending) this.release(pending);
  }

  private release(pending: Map<string, bigint>): void {
    for (const [tenantId, amount] of pending) {
      this.book.forget(tenantId, 0n, amount);
      this.book.invalidate(tenantId);
    }
  }

  private share(worker: number): WorkerShare {
    let share = this.shares.get(worker);
    if (!share) {
      share = { owner: null, reserved: new Map(), pending: new Map() };
      this.shares.set(worker, share);
    }
    return share;
  }
}
