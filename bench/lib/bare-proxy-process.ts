/** Starts bench/lib/bare-proxy.ts as its own process, so its CPU time can be read apart. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_TIMEOUT_MS = 30_000;

export interface BareProxy {
  v1: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startBareProxy(upstreamV1: string): Promise<BareProxy> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/lib/bare-proxy.ts', '--upstream', upstreamV1],
    {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bare proxy did not start')), READY_TIMEOUT_MS);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`bare proxy exited (${code})`)));
  });
  return {
    v1: `${url}${new URL(upstreamV1).pathname}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
