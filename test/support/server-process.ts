/**
 * Runs `simosphere start` in a child process, on a fresh test database: for tests that
 * measure the server's own event loop, which the test's clients must not share.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../../src/config/schema.js';
import type { Db } from '../../src/shared/db.js';
import { openDatabase } from '../../src/storage/database.js';
import { createTestDatabase, type TestDialect } from './databases.js';
import { type SignedUp, signUpAt } from './gateway.js';
import { simosphereCommand } from './simosphere-command.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServerProcess {
  url: string;
  /** The server's database, opened by the test (to read what the server wrote). */
  db: Db;
  signUp(): Promise<SignedUp>;
  stop(): Promise<void>;
}

/** The database the whole-suite pass asks for (SIMO_TEST_DIALECT), as startTestGateway does. */
const defaultDialect = (): TestDialect =>
  process.env.SIMO_TEST_DIALECT === 'postgres' ? 'postgres' : 'sqlite';

export async function startServerProcess(
  config: ConfigInput,
  dialect = defaultDialect(),
): Promise<ServerProcess> {
  const database = await createTestDatabase(dialect);
  const configFile = join(database.dataDir, 'simosphere.yaml');
  // Tests sign up many tenants from one address.
  writeFileSync(
    configFile,
    JSON.stringify({ ...config, limits: { signupsPerMinute: 10_000, ...config.limits } }),
  );
  const [node, ...program] = simosphereCommand();
  const child = spawn(node!, [...program, 'start'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      SIMO_DATA_DIR: database.dataDir,
      SIMO_CONFIG: configFile,
      ...(database.databaseUrl ? { SIMO_DATABASE_URL: database.databaseUrl } : {}),
      LOG_LEVEL: 'info',
      SIMO_CHECK_RESPONSES: 'true',
      SIMO_WORKERS: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await listeningUrl(child);
  const handle = openDatabase({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
  return {
    url,
    db: handle.db,
    signUp: () => signUpAt(url),
    async stop() {
      await handle.close();
      if (child.exitCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        // A server too busy to shut down in time is killed.
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(kill);
      }
      await database.drop();
    },
  };
}

/** Resolves with the URL the server logs once it listens. */
function listeningUrl(child: ChildProcess): Promise<string> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: child.stdout! });
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30_000);
    lines.on('line', (line) => {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${stderr}`)));
  });
}
