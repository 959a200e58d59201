import { closeSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBase62 } from '../shared/ids.js';
import type { NewUsageRecordRow } from '../storage/tables.js';
import { OwnerLock } from './owner-lock.js';

/**
 * Write-ahead log of settled usage records. Every record is appended (one JSON line) before the
 * client's response completes, so it is in the OS page cache and survives `kill -9` of the process; it
 * is lost only if the machine itself goes down before the batch is committed. The records settled in
 * one turn of the event loop go out in one synchronous write at the end of it, and their responses
 * wait for that write.
 *
 * The log is split into segments, one per database batch: a flush closes the current segment, and the
 * segment is deleted once its batch has committed. Each writer holds an OS file lock for as long as it
 * lives (see OwnerLock); segments whose writer's lock can be taken were left by a dead process and are
 * replayed by whichever live process sweeps the directory first. Replay is idempotent (usage request
 * ids and ledger keys are unique).
 */
export class UsageWal {
  /** Random, so a restarted process (or a container where every process is pid 1) never looks like an old one. */
  readonly owner = randomBase62(12);
  private readonly lock: OwnerLock;
  private seq = 0;
  private fd: number | null = null;
  private path: string | null = null;
  /** Records appended this turn, written together by `writeGroup`. */
  private group: Group | null = null;

  constructor(private readonly dir: string) {
    // Taken before the first segment exists: a segment without a lock file has no live writer.
    try {
      this.lock = OwnerLock.create(join(dir, `${PREFIX}${this.owner}${LOCK_SUFFIX}`));
    } catch (err) {
      throw new Error(
        `cannot take a file lock in the data dir ${dir} (${(err as Error).message}): it must be writable and on a file system with POSIX locks`,
      );
    }
  }

  /**
   * Appends one settled record to the current segment; resolves once it is written (at the end of
   * this event-loop turn, together with the others of the turn, or at the next `rotate`).
   */
  append(row: NewUsageRecordRow): Promise<void> {
    if (!this.group) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const written = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.group = { lines: [], written, resolve, reject };
      setImmediate(() => this.writeGroup());
    }
    this.group.lines.push(`${JSON.stringify(row)}\n`);
    return this.group.written;
  }

  /** Writes the records appended since the last write in one synchronous call. */
  private writeGroup(): void {
    const group = this.group;
    if (!group) return;
    this.group = null;
    try {
      if (this.fd === null) {
        this.path = join(this.dir, `${PREFIX}${this.owner}-${String(++this.seq).padStart(8, '0')}${SUFFIX}`);
        // Every tenant's usage: readable by the service's own user only, like the database.
        this.fd = openSync(this.path, 'a', 0o600);
      }
      writeSync(this.fd, group.lines.join(''));
      group.resolve();
    } catch (err) {
      group.reject(err as Error);
    }
  }

  /**
   * Ends the current segment (writing what this turn appended into it) and returns its path (null
   * when nothing was written since the last rotation).
   */
  rotate(): string | null {
    this.writeGroup();
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

  /**
   * Closes the log. With `clean` (every record committed, segments removed) the lock file goes too;
   * otherwise it stays, unlocked, and the next sweep replays what is left.
   */
  close(clean: boolean): void {
    this.rotate();
    if (clean) this.lock.dispose();
    else this.lock.release();
  }

  /**
   * Writers in `dir` that are gone, with the segments they left. Each orphan's lock is held by the
   * caller until it calls `done` or `abandon`, so two sweeping processes never replay the same segments
   * at once, and a live writer is never mistaken for a dead one.
   */
  static claimOrphans(dir: string, self?: string): Orphan[] {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    const owners = new Set<string>();
    const segments = new Map<string, string[]>();
    for (const n of names) {
      if (!n.startsWith(PREFIX)) continue;
      const base = n.slice(PREFIX.length);
      if (n.endsWith(SUFFIX)) {
        const owner = base.slice(0, -SUFFIX.length).replace(/-\d+$/, '');
        owners.add(owner);
        segments.set(owner, [...(segments.get(owner) ?? []), n]);
      } else if (n.endsWith(LOCK_SUFFIX)) owners.add(base.slice(0, -LOCK_SUFFIX.length));
      else if (n.endsWith(PENDING_SUFFIX)) removeStalePending(join(dir, n));
    }
    const orphans: Orphan[] = [];
    for (const owner of owners) {
      if (owner === self) continue;
      // Taken by its path, not by what the listing showed: a lock is created before its writer's first
      // segment and deleted after its last one, so a segment whose lock is missing has no live writer.
      const lock = OwnerLock.take(join(dir, `${PREFIX}${owner}${LOCK_SUFFIX}`));
      if (lock === null) continue;
      const held = lock === 'missing' ? null : lock;
      orphans.push({
        owner,
        segments: (segments.get(owner) ?? []).sort().map((n) => join(dir, n)),
        done: () => held?.dispose(),
        abandon: () => held?.release(),
      });
    }
    return orphans;
  }

  /** The records of a segment; a torn last line (the crash hit mid-write) is skipped. Gone: none. */
  static read(path: string): NewUsageRecordRow[] {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const rows: NewUsageRecordRow[] = [];
    for (const line of text.split('\n')) {
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

interface Group {
  lines: string[];
  written: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

/** Segments a dead writer left, with its lock held by the sweeping process. */
export interface Orphan {
  owner: string;
  segments: string[];
  /** Everything was replayed and the segments removed: drop the lock file. */
  done(): void;
  /** Replay failed: release the lock so a later sweep tries again. */
  abandon(): void;
}

const PREFIX = 'usage-wal-';
const SUFFIX = '.jsonl';
const LOCK_SUFFIX = '.lock';
const PENDING_SUFFIX = '.lock.new';
/** A lock is renamed into place microseconds after it is created; an older pending file is debris. */
const PENDING_STALE_MS = 60_000;

/** Deletes a lock file that a writer created but died before renaming into place. */
function removeStalePending(path: string): void {
  try {
    if (Date.now() - statSync(path).mtimeMs > PENDING_STALE_MS) rmSync(path, { force: true });
  } catch {
    // Already renamed or removed.
  }
}
