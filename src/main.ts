import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Pipe } from './cluster/channel.js';
import { runPrimary } from './cluster/primary.js';
import { WorkerLink } from './cluster/worker-link.js';
import { ConfigError, loadConfig } from './config/load.js';
import { createLogger } from './observability/logger.js';
import { describeMail, describeUpstreams, type RunningServer, startServer } from './server.js';

export interface StartOptions {
  /** Serving processes; default SIMO_WORKERS, else the number of cores available to the process. */
  workers?: number;
}

/** Node ≥ 22.12 binds several sockets to one port with SO_REUSEPORT (Linux spreads connections over them). */
export function reusePortSupported(version = process.versions.node, platform = process.platform): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return platform === 'linux' && (major > 22 || (major === 22 && minor >= 12));
}

/** How many serving processes to run: the flag, else SIMO_WORKERS, else every core available. */
export function workerCount(flag: number | undefined, env: Record<string, string | undefined>): number {
  const raw = flag ?? (env.SIMO_WORKERS ? Number(env.SIMO_WORKERS) : availableParallelism());
  if (!Number.isInteger(raw) || raw < 1)
    throw new ConfigError(
      `workers must be a whole number of at least 1 (got ${String(flag ?? env.SIMO_WORKERS)})`,
    );
  return raw;
}

/** `simosphere start`: the only place that reads the real environment and binds a port. */
export async function main(
  env: Record<string, string | undefined> = process.env,
  opts: StartOptions = {},
): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  let workers: number;
  try {
    config = loadConfig({ env });
    workers = cluster.isWorker ? 1 : workerCount(opts.workers, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`simosphere: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  if (workers > 1) {
    // Round-robin by default: SO_REUSEPORT measured no faster here (keep-alive clients rarely connect).
    // It needs a fixed port: with port 0 every worker would get a port of its own.
    const reusePort = reusePortSupported() && config.port !== 0 && env.SIMO_REUSE_PORT === '1';
    await runPrimary(config, logger, { workers, reusePort });
    logger.info(describeUpstreams(config));
    logger.info(describeMail(config));
    return;
  }
  const link = cluster.isWorker ? new WorkerLink(process as unknown as Pipe) : undefined;
  let server: RunningServer | undefined;
  let stopping: string | null = null;
  const shutdown = (running: RunningServer, signal: string) => {
    if (!link) logger.info({ signal }, 'shutting down: draining in-flight requests');
    running
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      });
  };
  // Listened for before starting: a stop asked for meanwhile is carried out once the server is up.
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = signal;
    if (server) shutdown(server, signal);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // A worker whose primary is gone (killed) stops serving: nothing shares limits and credits any more.
  if (link) process.once('disconnect', () => stop('disconnect'));
  server = await startServer(
    config,
    // A worker's lines say which worker wrote them; the primary logs the start-up lines once.
    link ? logger.child({ worker: cluster.worker?.id }) : logger,
    link ? { cluster: link } : {},
    { reusePort: env.SIMO_WORKER_REUSE_PORT === '1' },
  );
  if (stopping) return shutdown(server, stopping);
  if (!link) {
    logger.info(
      {
        url: server.url,
        ...(server.metricsUrl ? { metricsUrl: server.metricsUrl } : {}),
        publicUrl: config.publicUrl,
        database: server.container.database.dialect,
        config: config.source,
      },
      `SIMOSphere listening on ${server.url}`,
    );
    logger.info(describeUpstreams(config));
    logger.info(describeMail(config));
  }
}
