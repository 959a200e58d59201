/**
 * Fresh, isolated databases for tests: a new SQLite file or a new PostgreSQL database per call. A new
 * PostgreSQL database is a copy of a template that already holds every migration: copying takes a
 * fraction of the time that migrating every test's database took.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { randomBase62 } from '../../src/shared/ids.js';
import { type DatabaseHandle, openDatabase } from '../../src/storage/database.js';
import { TEST_DATABASE_URL } from './services.js';

export type TestDialect = 'sqlite' | 'postgres';

export interface TestDatabase {
  dialect: TestDialect;
  /** For SIMO_DATABASE_URL / databaseUrl; undefined for SQLite. */
  databaseUrl: string | undefined;
  /** For SIMO_DATA_DIR / dataDir (SQLite lives here). */
  dataDir: string;
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** PostgreSQL: start without any migration applied (for tests of the migrations themselves). */
  empty?: boolean;
}

const MIGRATIONS_DIR = fileURLToPath(new URL('../../src/storage/migrations/', import.meta.url));
// Serialises building the template across the test processes; any constant of our own.
const TEMPLATE_LOCK_ID = 725_002;

function urlOf(database: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withAdmin<T>(use: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  try {
    return await use(c);
  } finally {
    await c.end();
  }
}

/** The template's name follows the migrations' contents, so a changed migration builds a new one. */
function templateName(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(MIGRATIONS_DIR).sort())
    hash.update(file).update(readFileSync(join(MIGRATIONS_DIR, file)));
  return `simo_template_${hash.digest('hex').slice(0, 16)}`;
}

let template: Promise<string> | undefined;

/** A database holding every migration, built once by whichever test process needs it first. */
function migratedTemplate(): Promise<string> {
  template ??= withAdmin(async (admin) => {
    const name = templateName();
    await admin.query('select pg_advisory_lock($1)', [TEMPLATE_LOCK_ID]);
    try {
      const found = await admin.query('select 1 from pg_database where datname = $1', [name]);
      if (found.rowCount) return name;
      // Built under another name and renamed when complete: a half-built template is never copied.
      const building = `${name}_building`;
      await admin.query(`drop database if exists ${building} with (force)`);
      await admin.query(`create database ${building}`);
      const handle = openDatabase({ databaseUrl: urlOf(building), dataDir: tmpdir(), poolSize: 1 });
      try {
        await handle.migrate();
      } finally {
        await handle.close();
      }
      await admin.query(`alter database ${building} rename to ${name}`);
      return name;
    } finally {
      await admin.query('select pg_advisory_unlock($1)', [TEMPLATE_LOCK_ID]);
    }
  });
  return template;
}

export async function createTestDatabase(
  dialect: TestDialect,
  opts: TestDatabaseOptions = {},
): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'simo-test-'));
  if (dialect === 'sqlite') {
    return {
      dialect,
      databaseUrl: undefined,
      dataDir,
      drop: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const name = `simo_test_${randomBase62(12).toLowerCase()}`;
  const from = opts.empty ? '' : ` template ${await migratedTemplate()}`;
  await withAdmin((admin) => admin.query(`create database ${name}${from}`));
  return {
    dialect,
    databaseUrl: urlOf(name),
    dataDir,
    async drop() {
      rmSync(dataDir, { recursive: true, force: true });
      await withAdmin((admin) => admin.query(`drop database if exists ${name} with (force)`));
    },
  };
}

/** An open handle on a fresh, migrated test database, for tests of a store; `close` also drops it. */
export interface OpenTestDatabase {
  handle: DatabaseHandle;
  close(): Promise<void>;
}

export async function openTestDatabase(dialect: TestDialect): Promise<OpenTestDatabase> {
  const database = await createTestDatabase(dialect);
  const handle = openDatabase({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
  await handle.migrate();
  return {
    handle,
    async close() {
      await handle.close();
      await database.drop();
    },
  };
}
