import { rmSync } from 'node:fs';
import type { Logger } from 'pino';
import type { NewUsageRecordRow } from '../storage/tables.js';
import type { UsageJournal } from './usage-journal.js';
import { UsageWal } from './usage-wal.js';

/** Where replayed records came from: this data dir's write-ahead log, or a dead replica's Redis stream. */
export type RecoverySource = 'local' | 'redis';

export interface UsageRecoveryOptions {
  walDir: string;
  /** This process's own write-ahead writer, never swept. */
  self: string;
  journal?: UsageJournal;
  /** Commits records idempotently (a record already stored is skipped with its debit). */
  replay: (rows: NewUsageRecordRow[]) => Promise<void>;
  logger: Logger;
  onRecovered?: (source: RecoverySource, records: number) => void;
  /** Told when everything a dead writer of this data dir left is committed (its name, see UsageWal.owner). */
  onOwnerRecovered?: (owner: string) => void;
  /** Time between sweeps once started. Default 1 s. */
  intervalMs?: number;
}

/**
 * Finds usage that dead processes settled but never committed, and commits it: write-ahead segments
 * in the data dir whose writer's lock is free, and Redis streams whose writer's lease expired. Runs
 * at start-up and then every second on every live process, so nothing waits for a restart.
 */
export class UsageRecovery {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(private readonly opts: UsageRecoveryOptions) {}

  /** One pass over both places; concurrent calls share the pass in progress. */
  sweep(): Promise<number> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Sweeps periodically until `stop`. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      void this.sweep();
    }, this.opts.intervalMs ?? 1_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  // A failure in one place (a database or Redis that is down) must not hold up the other.
  private async pass(): Promise<number> {
    const local = await this.sweepLocal().catch((err: unknown) => this.failed('local', err));
    // Counted as each page commits: a pass that fails after committing some (say, Redis times out on
    // the clean-up that follows) still reports what it committed.
    let remote = 0;
    await this.opts.journal
      ?.recoverDead(async (rows) => {
        await this.opts.replay(rows);
        remote += rows.length;
      })
      .catch((err: unknown) => this.failed('redis', err));
    this.report('redis', remote);
    return local + remote;
  }

  private failed(source: RecoverySource, err: unknown): number {
    this.opts.logger.error({ err, source }, 'usage recovery failed; retrying on the next sweep');
    return 0;
  }

  private async sweepLocal(): Promise<number> {
    let replayed = 0;
    const orphans = UsageWal.claimOrphans(this.opts.walDir, this.opts.self);
    try {
      while (orphans.length > 0) {
        const orphan = orphans[0]!;
        for (const path of orphan.segments) {
          const rows = UsageWal.read(path);
          await this.opts.replay(rows);
          rmSync(path, { force: true });
          replayed += rows.length;
        }
        orphan.done();
        orphans.shift();
        this.opts.onOwnerRecovered?.(orphan.owner);
      }
    } finally {
      // After a failure the locks of what is left are released, for the next sweep to retry.
      for (const orphan of orphans) orphan.abandon();
      this.report('local', replayed);
    }
    return replayed;
  }

  private report(source: RecoverySource, records: number): void {
    if (records === 0) return;
    this.opts.onRecovered?.(source, records);
    this.opts.logger.info(
      { records, source },
      source === 'local'
        ? 'replayed usage records a dead process had written ahead in this data dir'
        : 'replayed usage records a dead replica had journaled in Redis',
    );
  }
}
