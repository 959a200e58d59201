import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Db } from '../shared/db.js';
import { moneyOf, safeTokenCount, usageCostPicos } from '../shared/money.js';
import type { NewUsageRecordRow } from '../storage/tables.js';
import { type CreditBook, LocalCreditBook } from './credit-book.js';
import type { AdmissionRequest, MeterTicket, UsageMeter, UsageOutcome } from './meter.js';
import type { TokenCounter } from './token-counter.js';
import type { UsageJournal } from './usage-journal.js';
import { type RecoverySource, UsageRecovery } from './usage-recovery.js';
import { InlineUsageStore, type UsageStore } from './usage-store.js';
import { UsageWal } from './usage-wal.js';
import { type CommittedTotals, recordCost } from './usage-writer.js';

/** Tuning of the meter; the defaults suit production. */
export interface CreditMeterOptions {
  /** Fractions of granted credit that raise `usage.threshold_reached`. */
  thresholds: readonly number[];
  /** Where write-ahead segments live (the data dir). */
  walDir: string;
  /** A batch is written this long after its first record… */
  flushDelayMs?: number;
  /** …or as soon as it holds this many. */
  maxBatch?: number;
  /** How long a tenant's balance read from the database is trusted before it is read again. */
  balanceTtlMs?: number;
  /** Sees every settled record (e.g. for metrics); must be cheap and must not throw. */
  onSettled?: (row: NewUsageRecordRow) => void;
  /** Shares settled records with the other replicas until committed (Redis); without it, the local log only. */
  journal?: UsageJournal;
  /** Time between sweeps for usage that dead processes left behind. */
  recoveryIntervalMs?: number;
  /** Told how many records each sweep replayed, and from where. */
  onRecovered?: (source: RecoverySource, records: number) => void;
  /** Where batches are committed; default: this database connection (see ThreadUsageStore for SQLite files). */
  store?: UsageStore;
  /** Who may spend what; default: this process's own book (LocalCreditBook). */
  book?: CreditBook;
}

interface Buffered {
  row: NewUsageRecordRow;
  /** Settled in this process (counted in `pending`), as opposed to replayed from a crashed one. */
  live: boolean;
  /** Its entry in the shared journal, dropped once committed. */
  journalId?: string;
}

/**
 * The platform's meter: credit admission with in-flight reservations, exactly one usage record per
 * admitted request, written ahead to disk before the response completes and batched into the database
 * (record + debit + thresholds in one transaction per batch) off the hot path.
 *
 * Reservations live in its CreditBook: this process's own by default, shared by every serving worker of
 * a machine through their primary (`--workers`). Replicas on other machines each hold the worst cases of
 * their own requests in flight, and see the others' debits once they commit and the balance cache expires.
 */
export class CreditMeter implements UsageMeter {
  private readonly book: CreditBook;
  private readonly wal: UsageWal;
  private readonly recovery: UsageRecovery;
  private buffer: Buffered[] = [];
  /** Segments whose records are in `buffer` again after a failed write, deleted after the next commit. */
  private retained: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private readonly flushDelayMs: number;
  private readonly maxBatch: number;
  private readonly store: UsageStore;

  constructor(
    db: Db,
    private readonly tokens: TokenCounter,
    private readonly logger: Logger,
    private readonly opts: CreditMeterOptions,
  ) {
    mkdirSync(opts.walDir, { recursive: true });
    this.wal = new UsageWal(opts.walDir);
    this.recovery = new UsageRecovery({
      walDir: opts.walDir,
      self: this.wal.owner,
      ...(opts.journal ? { journal: opts.journal } : {}),
      replay: (rows) => this.replay(rows),
      onOwnerRecovered: (owner) => this.book.recovered(owner),
      logger,
      ...(opts.recoveryIntervalMs ? { intervalMs: opts.recoveryIntervalMs } : {}),
      ...(opts.onRecovered ? { onRecovered: opts.onRecovered } : {}),
    });
    this.flushDelayMs = opts.flushDelayMs ?? 100;
    this.maxBatch = opts.maxBatch ?? 1000;
    this.book = opts.book ?? new LocalCreditBook(db, opts.balanceTtlMs ?? 1000);
    this.store = opts.store ?? new InlineUsageStore(db, opts.thresholds);
  }

  /**
   * Replays what dead processes settled but never committed (in this data dir, and in Redis when
   * configured); run at start-up, before serving. Returns how many records were replayed.
   */
  recover(): Promise<number> {
    return this.recovery.sweep();
  }

  /** Keeps looking for such usage every second, so it is billed without waiting for a restart. */
  startRecovery(): void {
    this.recovery.start();
  }

  async admit(req: AdmissionRequest): Promise<MeterTicket> {
    const tenantId = req.auth.tenant.id;
    const { reservation, completionCap } = await this.book.admit(tenantId, req);

    let settled = false;
    return {
      completionCap,
      settle: async (outcome) => {
        if (settled) return;
        settled = true;
        let row: NewUsageRecordRow;
        try {
          row = await this.recordOf(req, outcome);
        } catch (err) {
          this.book.settled(tenantId, reservation, 0n);
          throw err;
        }
        this.book.settled(tenantId, reservation, recordCost(row));
        const written = this.wal.append(row);
        const journaled = this.opts.journal?.append(row);
        this.enqueue({ row, live: true, ...(journaled ? { journalId: journaled.id } : {}) });
        this.opts.onSettled?.(row);
        // Written ahead on this machine, and durable beyond it, before the response completes: one
        // write and one round trip shared by every request settled in this turn of the event loop.
        await Promise.all([written, journaled?.durable]);
      },
    };
  }

  /** Forgets a tenant's cached balance (after a grant), so the next admission reads it again. */
  invalidate(tenantId: string): void {
    this.book.invalidate(tenantId);
  }

  /** What this process has reserved for a tenant's requests in flight, in pico-dollars. */
  reservedFor(tenantId: string): bigint {
    return this.book.reservedFor(tenantId);
  }

  /** Usage settled here but not committed yet, in pico-dollars. */
  pendingFor(tenantId: string): bigint {
    return this.book.pendingFor(tenantId);
  }

  /** The name of this process's write-ahead writer (its segments and lock file carry it). */
  get walOwner(): string {
    return this.wal.owner;
  }

  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.buffer;
    this.buffer = [];
    const segment = this.wal.rotate();
    const segments = [...this.retained, ...(segment ? [segment] : [])];
    this.retained = [];
    this.writing = this.writing.then(() => this.write(batch, segments));
    return this.writing;
  }

  /**
   * Writes what is buffered and closes the write-ahead log; the meter must not be used afterwards.
   * When everything committed, nothing is left for anyone to recover.
   */
  async close(): Promise<void> {
    await this.recovery.stop();
    // One last pass: what a process that died moments ago (a killed worker) left on this data dir is
    // committed now, not left for whoever starts next.
    await this.recovery.sweep();
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const clean = this.buffer.length === 0 && this.retained.length === 0;
    if (!clean)
      this.logger.warn(
        { records: this.buffer.length },
        'usage not committed at shutdown; it stays written ahead and is replayed by the next sweep',
      );
    this.wal.close(clean);
    await this.store.close();
    await this.opts.journal?.close(clean);
  }

  /** Commits records another process settled; idempotent, so a record already stored is skipped. */
  private async replay(rows: NewUsageRecordRow[]): Promise<void> {
    const totals = await this.store.write(rows);
    this.committed(
      rows.map((row) => ({ row, live: false })),
      totals,
    );
  }

  private async write(batch: Buffered[], segments: string[]): Promise<void> {
    const failed = batch.length === 0 ? [] : await this.commit(batch);
    const journal = this.opts.journal;
    if (journal) {
      const unwritten = new Set(failed);
      const committed = batch.filter((b) => !unwritten.has(b));
      journal.acknowledge(committed.flatMap((b) => (b.journalId ? [b.journalId] : [])));
    }
    if (failed.length === 0) {
      this.wal.remove(segments);
      return;
    }
    // Keep what failed, and the segments that still hold it in case of a crash meanwhile; retry shortly.
    this.buffer = [...failed, ...this.buffer];
    this.retained.push(...segments);
    this.timer ??= setTimeout(() => void this.flush(), 1000);
  }

  /**
   * Writes a batch in one transaction and returns what could not be written. A failed batch is retried
   * record by record, so one bad record cannot hold up the others; when the first few fail as well the
   * database is unavailable and the rest wait for the next attempt.
   */
  private async commit(batch: Buffered[], isolating = false): Promise<Buffered[]> {
    try {
      const totals = await this.store.write(batch.map((b) => b.row));
      this.committed(batch, totals);
      return [];
    } catch (err) {
      if (isolating || batch.length === 1) {
        this.logger.error(
          { err, requestId: batch[0]?.row.request_id, records: batch.length },
          'failed to write usage records; will retry',
        );
        return batch;
      }
      this.logger.warn({ err, records: batch.length }, 'usage batch failed; writing its records one by one');
      const failed: Buffered[] = [];
      for (const [i, b] of batch.entries()) {
        if (i === failed.length && i >= 3) return batch.slice(i).concat(failed);
        failed.push(...(await this.commit([b], true)));
      }
      return failed;
    }
  }

  /**
   * Moves committed usage from `pending` into the cached balances. A live record may have been stored
   * already by a survivor that took this process for dead (it was only slow): it leaves `pending` all
   * the same, and its tenant's balance is read again, since it then has no fresh totals.
   */
  private committed(batch: Buffered[], totals: Map<string, CommittedTotals>): void {
    this.book.committed(
      batch.flatMap((b) => (b.live ? [{ tenantId: b.row.tenant_id, cost: recordCost(b.row) }] : [])),
      totals,
    );
  }

  private enqueue(b: Buffered): void {
    this.buffer.push(b);
    if (this.buffer.length >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushDelayMs);
  }

  /** Tokens of a text when an upstream reported none; bounded in time by the counter, never throws. */
  private async countTokens(modelId: string, text: string): Promise<number> {
    try {
      return await this.tokens.count(modelId, text);
    } catch (err) {
      // A tokenizer that cannot load must not lose the record.
      this.logger.error({ err }, 'tokenizer failed; estimating tokens from characters');
      return this.tokens.estimate(text);
    }
  }

  private async recordOf(req: AdmissionRequest, o: UsageOutcome): Promise<NewUsageRecordRow> {
    let prompt = 0;
    let completion = 0;
    let cached = 0;
    let cacheWrite = 0;
    const estimated = o.answered && o.usage === null;
    if (o.answered && o.usage) {
      prompt = safeTokenCount(o.usage.promptTokens);
      completion = safeTokenCount(o.usage.completionTokens);
      cached = Math.min(prompt, safeTokenCount(o.usage.cachedTokens ?? 0));
      cacheWrite = Math.min(prompt - cached, safeTokenCount(o.usage.cacheWriteTokens ?? 0));
    } else if (estimated) {
      const [promptText, completionText] = await Promise.all([
        this.countTokens(req.model.id, o.promptText),
        this.countTokens(req.model.id, o.completionText),
      ]);
      prompt = promptText + req.prompt.framingTokens;
      completion = completionText;
    }
    const cost = moneyOf(
      scaledPicos(
        usageCostPicos({ prompt, completion, cached, cacheWrite }, req.model.pricing),
        o.priceFactor,
      ),
    );
    return {
      request_id: req.requestId,
      tenant_id: req.auth.tenant.id,
      key_id: req.auth.key.id,
      model: req.model.id,
      provider: o.provider,
      upstream_model: o.upstreamModel,
      endpoint: req.endpoint,
      prompt_tokens: prompt,
      completion_tokens: completion,
      cached_tokens: cached,
      cache_write_tokens: cacheWrite,
      cost_micros: cost.micros,
      cost_picos: cost.picos,
      status: o.status,
      streamed: req.streamed ? 1 : 0,
      estimated: estimated ? 1 : 0,
      latency_ms: Math.max(0, Math.round(o.latencyMs)),
      ...(o.cache ? { cache: o.cache } : {}),
      ...(o.attempts !== undefined ? { attempts: o.attempts } : {}),
      created_at: Date.now(),
    };
  }
}

/** A cost times a price factor in millionths (a discounted response-cache hit), rounded down. */
function scaledPicos(picos: bigint, factor: number | undefined): bigint {
  if (factor === undefined || factor >= 1) return picos;
  if (!(factor > 0)) return 0n;
  return (picos * BigInt(Math.round(factor * 1_000_000))) / 1_000_000n;
}
