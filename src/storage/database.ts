import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, type Migration, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Dialect } from './migrations/context.js';
import { migrationsFor } from './migrations/index.js';
import { connectSqlite } from './sqlite.js';
import type { Database } from './tables.js';

export type { Dialect };
export { connectSqlite };

// int8 and numeric come back as strings by default; our bigints (ms timestamps, micro-dollars) fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

/** An open database: the query builder plus what the rest of the app needs to know about it. */
export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Applies pending migrations; safe when several replicas start at once. */
  migrate(): Promise<string[]>;
  /** PostgreSQL pool usage, for metrics; undefined on SQLite. */
  poolStats?(): { total: number; idle: number; waiting: number };
  /** The SQLite file, for another connection to it (the usage writer thread); undefined on PostgreSQL and in memory. */
  sqlitePath?: string;
  /** Cheap round trip for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** `postgres://…`; unset means embedded SQLite. */
  databaseUrl?: string | undefined;
  /** Folder of the SQLite file. */
  dataDir: string;
  /** SQLite file name inside dataDir, or `:memory:`. */
  sqliteFile?: string;
  /** PostgreSQL pool size. */
  poolSize?: number;
}

function sqlitePathOf(opts: DatabaseOptions): string {
  const file = opts.sqliteFile ?? 'simosphere.db';
  if (file === ':memory:') return file;
  const path = join(opts.dataDir, file);
  restrictToOwner(opts.dataDir, path);
  return path;
}

/**
 * The database holds password hashes, sessions and every tenant's usage: only the service's own user
 * may read it. A new data dir is created 0700; the database file is created (or tightened) to 0600
 * before SQLite opens it, and SQLite gives its -wal and -shm files the database file's mode (files left
 * by an earlier version are tightened too).
 */
function restrictToOwner(dataDir: string, path: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
}

function openPostgres(url: string, poolSize: number): { db: Kysely<Database>; pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // A dropped idle connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), pool };
}

// Any constant works; it only has to be the same for every replica of this app.
const MIGRATION_LOCK_ID = 725_001;

export function openDatabase(opts: DatabaseOptions): DatabaseHandle {
  const dialect: Dialect = opts.databaseUrl ? 'postgres' : 'sqlite';
  const postgres = dialect === 'postgres' ? openPostgres(opts.databaseUrl!, opts.poolSize ?? 10) : undefined;
  const sqlitePath = postgres ? undefined : sqlitePathOf(opts);
  const db = postgres ? postgres.db : connectSqlite(sqlitePath!);
  const migrations: Record<string, Migration> = migrationsFor({ dialect });

  return {
    db,
    dialect,
    async migrate() {
      const run = async (conn: Kysely<Database>) => {
        const migrator = new Migrator({ db: conn, provider: { getMigrations: async () => migrations } });
        const { error, results } = await migrator.migrateToLatest();
        if (error) throw error instanceof Error ? error : new Error(String(error));
        return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
      };
      if (dialect === 'sqlite') return run(db);
      // Replicas starting together serialise on an advisory lock held by one connection.
      return db.connection().execute(async (conn) => {
        await sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`.execute(conn);
        try {
          return await run(conn);
        } finally {
          await sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.execute(conn);
        }
      });
    },
    poolStats: postgres
      ? () => ({
          total: postgres.pool.totalCount,
          idle: postgres.pool.idleCount,
          waiting: postgres.pool.waitingCount,
        })
      : undefined,
    ...(sqlitePath && sqlitePath !== ':memory:' ? { sqlitePath } : {}),
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}
