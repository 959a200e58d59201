/**
 * Starts the reference multi-replica topology with plain processes on this machine: N gateway
 * replicas sharing one PostgreSQL database and one Redis, in front of the fake upstream.
 * The same shape as deploy/compose.yaml, for tests, benchmarks and trying it out:
 *
 *   npx tsx scripts/topology.ts --replicas 2 [--separate-data-dirs]
 *
 * It needs a reachable PostgreSQL (SIMO_TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres)
 * and Redis (SIMO_TEST_REDIS_URL or redis://127.0.0.1:6379); it creates a fresh database and key prefix.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBase62 } from '../src/shared/ids.js';
import { createTestDatabase, type TestDatabase } from '../test/support/databases.js';
import { type FakeUpstream, startFakeUpstream } from '../test/support/fake-upstream-process.js';
import { TEST_REDIS_URL } from '../test/support/services.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli/run.ts', import.meta.url));

export interface Replica {
  index: number;
  url: string;
  /** Where its SQLite file (unused here) and write-ahead log live. */
  dataDir: string;
  process: ChildProcess;
  /** Everything the replica printed, for diagnosing failures. */
  output(): string;
  /** SIGKILL: the replica dies without any cleanup, as in a crash. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface Topology {
  upstream: FakeUpstream;
  database: TestDatabase;
  redisPrefix: string;
  replicas: Replica[];
  /** Starts one more replica with the same shared settings (e.g. to replace a killed one). */
  addReplica(): Promise<Replica>;
  stop(): Promise<void>;
}

export interface TopologyOptions {
  replicas?: number;
  /** Extra environment for every replica (e.g. SIMO_ADMIN_TOKEN). */
  env?: Record<string, string>;
  /**
   * Give each replica a data dir of its own (as separate machines or containers without a shared
   * volume have) instead of one shared dir.
   */
  separateDataDirs?: boolean;
  logLevel?: string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

async function waitForReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`replica exited with ${child.exitCode}:\n${output()}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`replica at ${url} not ready within 30 s:\n${output()}`);
}

export async function startTopology(opts: TopologyOptions = {}): Promise<Topology> {
  const upstream = await startFakeUpstream();
  const database = await createTestDatabase('postgres');
  const redisPrefix = `simo-topo-${randomBase62(8)}:`;
  const replicas: Replica[] = [];
  const ownDirs: string[] = [];

  const addReplica = async (): Promise<Replica> => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let dataDir = database.dataDir;
    if (opts.separateDataDirs) {
      dataDir = mkdtempSync(join(tmpdir(), 'simo-replica-'));
      ownDirs.push(dataDir);
    }
    const env = {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      SIMO_DATABASE_URL: database.databaseUrl!,
      SIMO_REDIS_URL: TEST_REDIS_URL,
      SIMO_REDIS_PREFIX: redisPrefix,
      SIMO_UPSTREAM_URL: upstream.v1,
      SIMO_DATA_DIR: dataDir,
      SIMO_PUBLIC_URL: url,
      LOG_LEVEL: opts.logLevel ?? 'warn',
      // Each replica is one serving process here: a test kills and inspects it by its pid.
      SIMO_WORKERS: '1',
      ...opts.env,
    };
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'start'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const append = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    const output = () => log;
    await waitForReady(url, child, output);
    const exited = () =>
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : once(child, 'exit').then(() => {});
    const replica: Replica = {
      index: replicas.length,
      url,
      dataDir,
      process: child,
      output,
      async kill() {
        child.kill('SIGKILL');
        await exited();
      },
      async stop() {
        child.kill('SIGTERM');
        await exited();
      },
    };
    replicas.push(replica);
    return replica;
  };

  try {
    for (let i = 0; i < (opts.replicas ?? 2); i++) await addReplica();
  } catch (err) {
    await Promise.all(replicas.map((r) => r.kill()));
    await upstream.stop();
    await database.drop();
    for (const dir of ownDirs) rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    upstream,
    database,
    redisPrefix,
    replicas,
    addReplica,
    async stop() {
      await Promise.all(replicas.map((r) => r.stop()));
      await upstream.stop();
      await database.drop();
      for (const dir of ownDirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Run directly: start the topology and keep it up until Ctrl-C.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const n = Number(process.argv[process.argv.indexOf('--replicas') + 1] ?? 2) || 2;
  const topology = await startTopology({
    replicas: n,
    logLevel: 'info',
    separateDataDirs: process.argv.includes('--separate-data-dirs'),
  });
  console.log(`upstream: ${topology.upstream.v1}`);
  for (const r of topology.replicas) console.log(`replica ${r.index}: ${r.url}`);
  console.log('Ctrl-C to stop');
  process.once('SIGINT', () => void topology.stop().then(() => process.exit(0)));
}
