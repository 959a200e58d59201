import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Db } from '../shared/db.js';
import { spawnModuleWorker } from '../shared/module-worker.js';
import type { NewUsageRecordRow } from '../storage/tables.js';
import { type CommittedTotals, writeUsageBatch } from './usage-writer.js';
import type { WriterReply, WriterRequest, WriterSetup } from './usage-writer-thread.js';

/** Where the meter commits batches of usage (see writeUsageBatch); idempotent per request id. */
export interface UsageStore {
  /** Commits a batch in one transaction; resolves to each charged tenant's totals after it. */
  write(rows: readonly NewUsageRecordRow[]): Promise<Map<string, CommittedTotals>>;
  /** Waits for writes in progress, then releases what the store holds. */
  close(): Promise<void>;
}

/** Commits on the caller's own connection: PostgreSQL (network I/O), and SQLite in memory. */
export class InlineUsageStore implements UsageStore {
  constructor(
    private readonly db: Db,
    private readonly thresholds: readonly number[],
  ) {}

  write(rows: readonly NewUsageRecordRow[]): Promise<Map<string, CommittedTotals>> {
    return writeUsageBatch(this.db, rows, this.thresholds);
  }

  async close(): Promise<void> {}
}

/**
 * The writer allocates little (a batch of rows, its SQL): a small young generation is plenty, where
 * V8's default would keep up to 16 MB of semi-spaces resident for the life of the process.
 */
const WRITER_RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 3 };

interface PendingWrite {
  resolve(totals: Map<string, CommittedTotals>): void;
  reject(err: Error): void;
}

/**
 * Commits on a worker thread that owns its own connection to the SQLite file, so that the inserts,
 * index updates and WAL checkpoints (with their fsync) of usage batches never run on the event loop
 * that serves requests. A worker that fails or exits fails the writes it held (the meter retries
 * them; they are still written ahead) and a new one starts with the next write.
 */
export class ThreadUsageStore implements UsageStore {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, PendingWrite>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private nextId = 1;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly setup: WriterSetup,
    private readonly logger: Logger,
  ) {
    // Started now, so it has loaded by the time the first batch comes (it would wait for that otherwise).
    this.ensureWorker();
  }

  write(rows: readonly NewUsageRecordRow[]): Promise<Map<string, CommittedTotals>> {
    if (this.closing) return Promise.reject(new Error('the usage store is closed'));
    const worker = this.ensureWorker();
    const id = this.nextId++;
    const written = new Promise<Map<string, CommittedTotals>>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Held open while it writes: the process does not exit with a batch half-way.
      worker.ref();
      const message: WriterRequest = { kind: 'write', id, rows };
      worker.postMessage(message);
    });
    this.inFlight.add(written);
    const done = () => this.inFlight.delete(written);
    written.then(done, done);
    return written;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.inFlight]);
      const worker = this.worker;
      this.worker = null;
      if (!worker) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      const message: WriterRequest = { kind: 'close' };
      worker.postMessage(message);
      // The worker closes its connection (checkpointing the WAL) and exits; a stuck one is stopped.
      const force = setTimeout(() => void worker.terminate(), 10_000);
      await exited;
      clearTimeout(force);
    })();
    return this.closing;
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = spawnModuleWorker(import.meta.url, 'usage-writer-thread', {
      workerData: this.setup,
      resourceLimits: WRITER_RESOURCE_LIMITS,
    });
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if ('error' in reply) p.reject(new Error(reply.error));
      else p.resolve(new Map(reply.totals));
    });
    worker.on('error', (err) => this.lost(worker, err));
    worker.on('exit', (code) => this.lost(worker, new Error(`the usage writer thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  private lost(worker: Worker, err: Error): void {
    if (this.worker === worker) this.worker = null;
    if (this.pending.size === 0) return;
    if (!this.closing) this.logger.error({ err }, 'usage writer thread failed; its batches will be retried');
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const p of failed) p.reject(err);
  }
}
