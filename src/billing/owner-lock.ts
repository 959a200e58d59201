import { closeSync, openSync, renameSync, rmSync } from 'node:fs';
import SQLite from 'better-sqlite3';

/**
 * An exclusive OS file lock that lives exactly as long as the process holding it: the kernel drops it
 * when the process dies, however it dies, so "is the owner alive?" becomes "can I take its lock?" —
 * no pid involved (pids are reused, and every process in a container may be pid 1).
 *
 * Node has no flock(2); SQLite's unix VFS takes POSIX advisory locks and keeps them correct between
 * connections of one process too, so an empty SQLite file held in an open `BEGIN EXCLUSIVE` is the lock.
 * Nothing is ever written to it (the file stays 0 bytes). Works wherever POSIX locks do: a local disk or
 * a volume shared by containers on one host; not across machines on a network file system.
 */
export class OwnerLock {
  private constructor(
    readonly path: string,
    private readonly db: SQLite.Database,
  ) {}

  /**
   * Creates and takes a new lock at `path`. It is taken under a temporary name first and then renamed
   * into place, so no one can ever see the file unlocked.
   */
  static create(path: string): OwnerLock {
    const pending = `${path}.new`;
    closeSync(openSync(pending, 'w', 0o600));
    const db = new SQLite(pending);
    try {
      // No journal file: the lock file stays alone in the directory.
      db.pragma('journal_mode = MEMORY');
      db.exec('BEGIN EXCLUSIVE');
      renameSync(pending, path);
    } catch (err) {
      db.close();
      rmSync(pending, { force: true });
      throw err;
    }
    return new OwnerLock(path, db);
  }

  /**
   * Takes the lock of an existing file whose owner is gone. Returns null while its owner is alive
   * (or another process holds it, e.g. while replaying what the owner left), and 'missing' when there
   * is no such file.
   */
  static take(path: string): OwnerLock | null | 'missing' {
    let db: SQLite.Database;
    try {
      db = new SQLite(path, { fileMustExist: true, timeout: 0 });
    } catch {
      return 'missing';
    }
    try {
      db.exec('BEGIN EXCLUSIVE');
      return new OwnerLock(path, db);
    } catch {
      db.close();
      return null;
    }
  }

  /** Releases the lock, keeping the file (its owner's records are not all safe yet). */
  release(): void {
    if (this.db.open) this.db.close();
  }

  /** Deletes the file, then releases the lock: the owner is gone and left nothing behind. */
  dispose(): void {
    rmSync(this.path, { force: true });
    this.release();
  }
}
