import { closeSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBase62 } from '../shared/ids.js';
import type { NewUsageRecordRow } from '../storage/tables.js';

/**
 * Write-ahead log of settled usage records. Every record is appended (one JSON line, a synchronous
 * write) before the client's response completes, so it is in the OS page cache and survives `kill -9`
 * of the process; it is lost only if the machine itself goes down before the batch is committed.
 *
 * The log is split into segments, one per database batch: a flush closes the current segment, and the
 * segment is deleted once its batch has committed. At start-up, segments left behind by dead processes
 * are replayed into the database; replay is idempotent (usage request ids and ledger keys are unique).
 */
export class UsageWal {
  /** `<pid>-<instance>`: a container of this process; several may share a data dir (tests, replicas). */
  private readonly owner = `${process.pid}-${randomBase62(8)}`;
  private seq = 0;
  private fd: number | null = null;
  private path: string | null = null;

  constructor(private readonly dir: string) {
    liveOwners.add(this.owner);
  }

  /** Appends one settled record; synchronous on purpose (see the class comment). */
  append(row: NewUsageRecordRow): void {
    if (this.fd === null) {
      this.path = join(this.dir, `${PREFIX}${this.owner}-${String(++this.seq).padStart(8, '0')}${SUFFIX}`);
      this.fd = openSync(this.path, 'a');
    }
    writeSync(this.fd, `${JSON.stringify(row)}\n`);
  }

  /** Ends the current segment and returns its path (null when nothing was written since the last rotation). */
  rotate(): string | null {
    if (this.fd === null) return null;
    closeSync(this.fd);
    const path = this.path;
    this.fd = null;
    this.path = null;
    return path;
  }

  /** Deletes segments whose records are committed. */
  remove(paths: readonly string[]): void {
    for (const p of paths) rmSync(p, { force: true });
  }

  close(): void {
    this.rotate();
    liveOwners.delete(this.owner);
  }

  /** Segments in `dir` that no live writer owns: left behind by a crash, to be replayed. */
  static orphans(dir: string): string[] {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => n.startsWith(PREFIX) && n.endsWith(SUFFIX))
      .filter((n) => {
        const owner = n.slice(PREFIX.length, -SUFFIX.length).replace(/-\d+$/, '');
        const pid = Number(owner.split('-')[0]);
        if (pid === process.pid) return !liveOwners.has(owner);
        return !isAlive(pid);
      })
      .sort()
      .map((n) => join(dir, n));
  }

  /** The records of a segment; a torn last line (the crash hit mid-write) is skipped. */
  static read(path: string): NewUsageRecordRow[] {
    const rows: NewUsageRecordRow[] = [];
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        rows.push(JSON.parse(line) as NewUsageRecordRow);
      } catch {
        // Only the very last line can be partial; it was never acknowledged to a client.
      }
    }
    return rows;
  }
}

const PREFIX = 'usage-wal-';
const SUFFIX = '.jsonl';
const liveOwners = new Set<string>();

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the pid exists under another user; leave its segments alone rather than guess.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
