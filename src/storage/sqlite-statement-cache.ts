import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

const BEGIN_WRITE = 'begin immediate';

/** Statements kept prepared; the app issues a few dozen distinct ones on its hot paths. */
const DEFAULT_CAPACITY = 200;

/**
 * better-sqlite3 as Kysely's `SqliteDatabase`, reusing prepared statements by SQL text. Kysely's
 * SQLite driver prepares every query anew, and parsing and planning a statement often costs more
 * than running it; the usage batches, authentication and admission all repeat the same statements.
 *
 * Least-recently-used statements are dropped beyond `capacity`. A statement still being iterated
 * (a streamed select) is busy, so the same SQL meanwhile gets a fresh one instead of the cached one.
 *
 * Kysely begins transactions with a plain (deferred) `begin`; here they begin `immediate`, taking the
 * write lock at once. Another connection to the file (the usage writer thread, another serving process)
 * may commit meanwhile, and a deferred transaction that read before that commit could not write after it
 * (SQLITE_BUSY, without waiting): an immediate one waits its turn (busy_timeout) and then sees it.
 */
export function withStatementCache(db: BetterSqlite3.Database, capacity = DEFAULT_CAPACITY): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => db.close(),
    prepare(text) {
      const sql = text === 'begin' ? BEGIN_WRITE : text;
      const cached = cache.get(sql);
      if (cached && !cached.busy) {
        // Re-insert to mark it most recently used (a Map iterates in insertion order).
        cache.delete(sql);
        cache.set(sql, cached);
        return cached;
      }
      const stmt = db.prepare(sql);
      if (cached) return stmt;
      cache.set(sql, stmt);
      if (cache.size > capacity) {
        const oldest = cache.keys().next();
        if (!oldest.done) cache.delete(oldest.value);
      }
      return stmt;
    },
  };
}
