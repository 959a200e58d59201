/**
 * Runs `simosphere start` in a child process, for tests that kill servers the way a crash
 * does. Optionally inside its own pid namespace (`unshare`), as in a container: the server is then pid 1,
 * or pid 2 behind a shell that holds pid 1 — so a dead server's pid can belong to another live process.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { simosphereCommand } from './simosphere-command.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START_TIMEOUT_MS = 30_000;

/** Where the server runs: this pid namespace, or a new one as pid 1, or a new one as pid 2 behind a shell. */
export type PidNamespace = 'host' | 'pid1' | 'pid2';

export interface KillableServer {
  url: string;
  child: ChildProcess;
  /** Everything the server printed (the tail), for diagnosing failures. */
  output(): string;
  /** SIGKILL: no cleanup at all, as in a crash (the whole pid namespace goes with it). */
  kill(): Promise<void>;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<void>;
}

export interface KillableServerOptions {
  /** Environment of the server (PATH is added; PORT=0 and HOST default to an ephemeral local port). */
  env: Record<string, string>;
  namespace?: PidNamespace;
}

let namespacesUsable: boolean | undefined;

/** Whether this machine lets an ordinary process create user + pid namespaces (`unshare -Urpf`). */
export function pidNamespacesAvailable(): boolean {
  namespacesUsable ??=
    spawnSync('unshare', ['--map-root-user', '--pid', '--fork', 'true'], { stdio: 'ignore' }).status === 0;
  return namespacesUsable;
}

function command(namespace: PidNamespace): [string, string[]] {
  const node = [...simosphereCommand(), 'start'];
  if (namespace === 'host') return [node[0]!, node.slice(1)];
  // --kill-child: the server dies with `unshare`, so SIGKILL to the child we hold is a crash of the server.
  const unshare = ['--map-root-user', '--pid', '--fork', '--kill-child'];
  if (namespace === 'pid1') return ['unshare', [...unshare, ...node]];
  const quoted = node.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  return ['unshare', [...unshare, 'sh', '-c', `${quoted} & wait`]];
}

/**
 * The first server process below `pid` (its host pid), found through /proc by the program it runs: the
 * thread name (`comm`) is "node" on Node 20 but "MainThread" from Node 22 on.
 */
function nodeDescendant(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  let children: number[];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return undefined;
  }
  for (const c of children) {
    if (readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0')[0] === process.execPath) return c;
    const below = nodeDescendant(c);
    if (below !== undefined) return below;
  }
  return undefined;
}

export async function startKillableServer(opts: KillableServerOptions): Promise<KillableServer> {
  const [cmd, args] = command(opts.namespace ?? 'host');
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      SIMO_WORKERS: '1',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const append = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const lines = createInterface({ input: child.stdout! });
  const exited = () =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : once(child, 'exit').then(() => {});
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start:\n${log}`));
    }, START_TIMEOUT_MS);
    lines.on('line', (line) => {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}):\n${log}`));
    });
  });
  // In a namespace the signal must reach the server itself (then the wrapper exits with it): SIGTERM
  // would only kill `unshare`, and after a SIGKILL to `unshare` the server would outlive it for a moment.
  const signalServer = (signal: NodeJS.Signals) => {
    const server = opts.namespace && opts.namespace !== 'host' ? nodeDescendant(child.pid) : child.pid;
    if (server === undefined) child.kill('SIGKILL');
    else process.kill(server, signal);
  };
  return {
    url,
    child,
    output: () => log,
    async kill() {
      signalServer('SIGKILL');
      await exited();
    },
    async stop() {
      signalServer('SIGTERM');
      await exited();
    },
  };
}
