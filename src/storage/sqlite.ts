import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { withStatementCache } from './sqlite-statement-cache.js';
import type { Database } from './tables.js';

/**
 * One connection to a SQLite file (or `:memory:`) with the platform's settings. Several connections
 * to one file (threads, processes) write in turn: transactions take the write lock when they begin
 * (see withStatementCache) and wait up to five seconds for it.
 */
export function connectSqlite(path: string): Kysely<Database> {
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
}
