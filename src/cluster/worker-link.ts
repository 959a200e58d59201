import type { Registry } from 'prom-client';
import type { RevocationBus, RevocationEvent } from '../accounts/revocation-bus.js';
import type { CreditBook, LiveCost } from '../billing/credit-book.js';
import type { AdmissionRequest } from '../billing/meter.js';
import type { CommittedTotals } from '../billing/usage-writer.js';
import type { PricedRequest, WorstCase } from '../billing/worst-case.js';
import type { AdmitRequest, AdmitResult, LogState, WindowStore } from '../ratelimit/types.js';
import { ApiError, type ErrorCode, errorCodes } from '../shared/errors.js';
import { Channel, type Pipe, RemoteError } from './channel.js';

/**
 * A serving worker's line to its primary (`simosphere start --workers N`): the rate-limit logs, the
 * credit book and the revocation broadcast it shares with the other workers, and `/metrics` of them all.
 */
export class WorkerLink {
  readonly channel: Channel;

  constructor(pipe: Pipe) {
    this.channel = new Channel(pipe);
  }

  /** Names this worker's write-ahead writer, so the primary knows whose recovery frees its pending usage. */
  hello(walOwner: string): void {
    this.channel.notify('hello', walOwner);
  }

  windowStore(): WindowStore {
    return new SharedWindowStore(this.channel);
  }

  creditBook(): CreditBook {
    return new SharedCreditBook(this.channel);
  }

  revocations(): RevocationBus {
    return new SharedRevocationBus(this.channel);
  }

  /** Answers the primary's collection of this worker's metrics; `refresh` updates gauges read on demand. */
  serveMetrics(registry: Registry, refresh: () => void): void {
    this.channel.handle('metrics.collect', () => {
      refresh();
      return registry.getMetricsAsJSON();
    });
  }

  /** Every worker's metrics, aggregated by the primary (counters summed). */
  clusterMetrics(): Promise<string> {
    return this.channel.request<string>('metrics', null);
  }
}

/** Sliding-window logs kept by the primary: one exact count for every worker. */
class SharedWindowStore implements WindowStore {
  readonly backend = 'memory';

  constructor(private readonly channel: Channel) {}

  admit(req: AdmitRequest): Promise<AdmitResult> {
    return this.channel.request('limit.admit', req);
  }

  hit(key: string, limit: number): Promise<LogState> {
    return this.channel.request('limit.add', { key, weight: 1, limit });
  }

  addTokens(key: string, tokens: number, limit: number): Promise<LogState> {
    return this.channel.request('limit.add', { key, weight: tokens, limit });
  }

  status(): 'ok' {
    return 'ok';
  }

  async close(): Promise<void> {}
}

/** What the credit coordinator needs to price a request (not the whole model or who sent it). */
const priced = (req: PricedRequest): PricedRequest => ({
  endpoint: req.endpoint,
  prompt: req.prompt,
  maxCompletionTokens: req.maxCompletionTokens,
  choices: req.choices,
  model: { pricing: req.model.pricing, contextWindow: req.model.contextWindow },
});

/**
 * The primary's credit book, seen from a worker: admissions are decided there, against every worker's
 * reservations and pending usage. This worker's own share is mirrored for `/admin/balance`.
 */
class SharedCreditBook implements CreditBook {
  private readonly reserved = new Map<string, bigint>();
  private readonly pending = new Map<string, bigint>();

  constructor(private readonly channel: Channel) {}

  async admit(tenantId: string, req: AdmissionRequest | PricedRequest): Promise<WorstCase> {
    let decided: WorstCase;
    try {
      decided = await this.channel.request<WorstCase>('credit.admit', { tenantId, req: priced(req) });
    } catch (err) {
      // A refusal (402) decided by the primary is the client's answer; anything else is a failure here.
      if (err instanceof RemoteError && err.code && Object.hasOwn(errorCodes, err.code))
        throw new ApiError(err.code as ErrorCode, err.message);
      throw err;
    }
    bump(this.reserved, tenantId, decided.reservation);
    return decided;
  }

  settled(tenantId: string, reservation: bigint, cost: bigint): void {
    bump(this.reserved, tenantId, -reservation);
    bump(this.pending, tenantId, cost);
    this.channel.notify('credit.settled', { tenantId, reservation, cost });
  }

  committed(live: readonly LiveCost[], totals: ReadonlyMap<string, CommittedTotals>): void {
    for (const { tenantId, cost } of live) bump(this.pending, tenantId, -cost);
    this.channel.notify('credit.committed', { live, totals: new Map(totals) });
  }

  invalidate(tenantId: string): void {
    this.channel.notify('credit.invalidate', tenantId);
  }

  recovered(owner: string): void {
    this.channel.notify('credit.recovered', owner);
  }

  reservedFor(tenantId: string): bigint {
    return this.reserved.get(tenantId) ?? 0n;
  }

  pendingFor(tenantId: string): bigint {
    return this.pending.get(tenantId) ?? 0n;
  }
}

function bump(m: Map<string, bigint>, key: string, v: bigint): void {
  const next = (m.get(key) ?? 0n) + v;
  if (next === 0n) m.delete(key);
  else m.set(key, next);
}

/**
 * Revocations reach every worker before `publish` resolves: this one at once, the others through the
 * primary, which answers once each of them has dropped what it cached.
 */
class SharedRevocationBus implements RevocationBus {
  private readonly handlers: Array<(event: RevocationEvent) => void> = [];

  constructor(private readonly channel: Channel) {
    channel.handle('revoke.apply', (event: RevocationEvent) => this.deliver(event));
  }

  async publish(event: RevocationEvent): Promise<void> {
    this.deliver(event);
    await this.channel.request('revoke', event);
  }

  subscribe(handler: (event: RevocationEvent) => void): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {}

  private deliver(event: RevocationEvent): null {
    for (const h of this.handlers) h(event);
    return null;
  }
}
