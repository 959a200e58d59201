/**
 * Runs the gateway the way an operator does: `node bin/simosphere.js start` in its own process, on a
 * fresh SQLite data dir, with a plan generous enough that the limiter never says no during a run.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_TIMEOUT_MS = 30_000;

export interface GatewayProcess {
  url: string;
  v1: string;
  apiKey: string;
  pid: number;
  stop(): Promise<void>;
}

/** `npm run build`; a failing type check still emits dist/, so it only warns. */
export function buildProject(log: (line: string) => void): void {
  const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (result.status !== 0) {
    log(`warning: npm run build exited ${result.status}; benchmarking what was emitted to dist/`);
    log((result.stdout + result.stderr).trim().split('\n').slice(0, 10).join('\n'));
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

/** Variations for a phase that needs its own gateway (e.g. a bigger upstream connection pool). */
export interface GatewayProcessOptions {
  /** Merged over the bench config file (top-level keys replace). */
  config?: Record<string, unknown>;
  /** Merged over the child's environment; `undefined` removes a variable (e.g. SIMO_UPSTREAM_URL). */
  env?: Record<string, string | undefined>;
  /** Another built checkout to run instead of this one (a baseline to compare with). */
  root?: string;
}

export async function startGatewayProcess(
  upstreamV1: string,
  options: GatewayProcessOptions = {},
): Promise<GatewayProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'simo-bench-'));
  const configPath = join(dataDir, 'simosphere.json');
  // JSON is YAML. A huge plan and credit grant keep admission control out of the measurement's way
  // (it still runs: every request is authenticated, limited and metered).
  writeFileSync(
    configPath,
    JSON.stringify({
      plans: { bench: { rpm: 100_000_000 } },
      signup: { plan: 'bench', trialCredits: 1_000_000 },
      // The load generator is one address holding up to ~1,000 connections: the cap stays on (its cost
      // is measured) but out of the way.
      limits: { maxConnectionsPerAddress: 100_000 },
      ...options.config,
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // e.g. BENCH_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the gateway under load.
  const nodeArgs = process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, 'bin/simosphere.js', 'start'], {
    cwd: options.root ?? PROJECT_ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      SIMO_UPSTREAM_URL: upstreamV1,
      SIMO_DATA_DIR: dataDir,
      SIMO_CONFIG: configPath,
      LOG_LEVEL: 'warn',
      // One serving process unless a phase asks for more: CPU per request is read from this pid.
      SIMO_WORKERS: '1',
      ...options.env,
    },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
    process.stderr.write(chunk);
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  try {
    await waitReady(url, child);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`gateway did not start: ${(err as Error).message}\n${stderr}`);
  }
  const apiKey = await signUp(url);
  return {
    url,
    v1: `${url}/v1`,
    apiKey,
    pid: child.pid!,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(force);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready within ${READY_TIMEOUT_MS / 1000} s`);
}

async function signUp(url: string): Promise<string> {
  const res = await fetch(`${url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ email: `bench-${Date.now()}@example.com`, password: 'bench password 123' }),
  });
  if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { api_key: string }).api_key;
}
