/**
 * Starts test/support/fake-upstream.ts in a child process and gives tests/benchmarks a small handle to it.
 * A separate process keeps the fake's event loop (and CPU) out of the measurements of the code under test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FakeStats } from './fake-upstream.js';

export type { FakeStats };

export interface FakeUpstream {
  /** Base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  /** `${url}/v1`, what an OpenAI client's baseURL should be. */
  v1: string;
  pid: number;
  /** Default `x-fake-behavior` for the next `times` /v1 requests (all of them when omitted). */
  control(behavior: string, times?: number): Promise<void>;
  /** Clears the control default. */
  reset(): Promise<void>;
  stats(): Promise<FakeStats>;
  resetStats(): Promise<void>;
  /** SIGTERM, then wait for the process to exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
}

const SERVER_PATH = fileURLToPath(new URL('./fake-upstream.ts', import.meta.url));
// `--import tsx` is resolved from the child's cwd, so run it from the project root.
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START_TIMEOUT_MS = 15_000;
const STDERR_LIMIT = 8_000;

export async function startFakeUpstream(opts: { apiKey?: string } = {}): Promise<FakeUpstream> {
  const args = ['--import', 'tsx', SERVER_PATH, '--port', '0', '--exit-on-stdin-close'];
  if (opts.apiKey !== undefined) args.push('--api-key', opts.apiKey);
  // stdin stays an open pipe: if this process dies, the child sees EOF and exits instead of lingering.
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });

  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_LIMIT);
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let url: string;
  try {
    url = await waitForListening(child);
  } catch (err) {
    process.off('exit', killOnExit);
    child.kill('SIGKILL');
    throw new Error(
      `fake upstream failed to start: ${(err as Error).message}\n--- child stderr ---\n${stderr}`,
    );
  }
  if (child.pid === undefined) throw new Error('fake upstream has no pid');

  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(url + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`fake upstream ${method} ${path} -> ${res.status}: ${text}`);
    return JSON.parse(text);
  };

  return {
    url,
    v1: `${url}/v1`,
    pid: child.pid,
    control: async (behavior, times) => void (await call('POST', '/__control', { behavior, times })),
    reset: async () => void (await call('POST', '/__control/reset')),
    stats: async () => (await call('GET', '/__stats')) as FakeStats,
    resetStats: async () => void (await call('POST', '/__stats/reset')),
    stop: async () => {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(force);
    },
  };
}

/** Resolves with the URL from the child's `{"listening": URL}` line. */
function waitForListening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!child.stdout) return reject(new Error('child has no stdout'));
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(
      () => fail(`no listening line within ${START_TIMEOUT_MS / 1000} s`),
      START_TIMEOUT_MS,
    );
    const onClose = (code: number | null, signal: string | null) =>
      fail(`process exited early (code ${code}, signal ${signal})`);
    const done = () => {
      clearTimeout(timer);
      child.off('close', onClose);
      child.off('error', onError);
      lines.close();
      // Keep draining stdout so the child can never block on a full pipe.
      child.stdout?.resume();
    };
    const fail = (message: string) => {
      done();
      reject(new Error(message));
    };
    const onError = (err: Error) => fail(err.message);
    child.once('close', onClose);
    child.once('error', onError);
    lines.on('line', (line) => {
      const url = parseListening(line);
      if (url === undefined) return;
      done();
      resolve(url);
    });
  });
}

function parseListening(line: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed === 'object' && parsed !== null && 'listening' in parsed) {
      return typeof parsed.listening === 'string' ? parsed.listening : undefined;
    }
  } catch {
    // Not our line (e.g. a tsx warning); ignore it.
  }
  return undefined;
}
