/** Starts and stops bench/lib/variant-server.ts processes, each on a fresh SQLite data dir. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface VariantServer {
  url: string;
  apiKey: string;
  child: ChildProcess;
  dataDir: string;
}

/** `flags` are variant-server's own; `readyTimeoutMs` allows for what it does before serving (e.g. seeding). */
export async function startVariantServer(
  upstreamV1: string,
  flags: string[],
  readyTimeoutMs = 30_000,
): Promise<VariantServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'simo-bench-variant-'));
  const args = [
    '--import',
    'tsx',
    'bench/lib/variant-server.ts',
    '--upstream',
    upstreamV1,
    '--data-dir',
    dataDir,
  ];
  const child = spawn(process.execPath, [...args, ...flags], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<{ url: string; apiKey: string }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`bench server (${flags.join(' ')}) did not start`)),
      readyTimeoutMs,
    );
    // The server's own log lines share stdout; the ready line is the one with url and apiKey.
    lines.on('line', (line) => {
      let parsed: { url?: unknown; apiKey?: unknown };
      try {
        parsed = JSON.parse(line) as { url?: unknown; apiKey?: unknown };
      } catch {
        return;
      }
      if (typeof parsed.url !== 'string' || typeof parsed.apiKey !== 'string') return;
      clearTimeout(timer);
      resolve({ url: parsed.url, apiKey: parsed.apiKey });
    });
    child.once('exit', (code) => reject(new Error(`bench server (${flags.join(' ')}) exited (${code})`)));
  });
  return { ...ready, child, dataDir };
}

export async function stopVariantServer(s: VariantServer): Promise<void> {
  if (s.child.exitCode === null) {
    const exited = once(s.child, 'exit');
    s.child.kill('SIGTERM');
    await exited;
  }
  rmSync(s.dataDir, { recursive: true, force: true });
}
