import type { FastifyInstance } from 'fastify';
import { createApp } from './app.js';
import { type BackgroundJobs, startBackgroundJobs } from './background-jobs.js';
import type { ResolvedConfig } from './config/load.js';
import { type Container, type ContainerOptions, createContainer } from './container.js';
import { createHealthChecks } from './gateway/routing/health-checks.js';
import { createLogger, type Logger } from './observability/logger.js';
import { startMetricsServer } from './observability/metrics-server.js';

/** A running platform: the app listening, and how to stop it. */
export interface RunningServer {
  app: FastifyInstance;
  container: Container;
  /** The address actually bound, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Where `/metrics` is served when `metrics.port` gives it a listener of its own. */
  metricsUrl?: string;
  /** Stops accepting, lets in-flight requests and streams finish (bounded), then releases everything. */
  stop(): Promise<void>;
}

/** How the API port is bound. */
export interface ListenOptions {
  /**
   * Bind a socket of this process's own with SO_REUSEPORT (Node ≥ 22.12, Linux), so the kernel spreads
   * connections over the serving workers; otherwise a cluster worker shares the primary's socket.
   */
  reusePort?: boolean;
}

export async function startServer(
  config: ResolvedConfig,
  logger: Logger = createLogger(config.logLevel),
  containerOptions: ContainerOptions = {},
  listen: ListenOptions = {},
): Promise<RunningServer> {
  const container = await createContainer(config, logger, containerOptions);
  const jobs = startJobs(container);
  const app = await createApp(container);
  // `exclusive` keeps a cluster worker from handing the bind to its primary: each binds its own socket.
  const reuse = listen.reusePort ? { reusePort: true, exclusive: true } : {};
  try {
    await app.listen({ port: config.port, host: config.host, ...reuse });
  } catch (err) {
    // A port already taken fails the start as a whole, leaving nothing behind (jobs, connections, threads).
    await app.close();
    await jobs.stop();
    await container.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  try {
    if (config.metrics.port !== undefined) metricsServer = await startMetricsServer(container);
  } catch (err) {
    // A metrics port that cannot be bound fails the start as a whole, leaving nothing behind.
    await app.close();
    await jobs.stop();
    await container.close();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const force = setTimeout(() => app.server.closeAllConnections(), config.limits.shutdownGraceMs);
      force.unref();
      // close() only drops the connections idle at that moment; a keep-alive connection whose stream
      // finishes later would hold shutdown until the client lets go, so keep sweeping idle ones.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
      sweep.unref();
      await Promise.all([app.close(), metricsServer?.app.close()]);
      clearInterval(sweep);
      clearTimeout(force);
      await jobs.stop();
      await container.close();
    })();
    return stopping;
  };
  return { app, container, url, ...(metricsServer ? { metricsUrl: metricsServer.url } : {}), stop };
}

/** This replica's background work, fed from the container's services. */
function startJobs(container: Container): BackgroundJobs {
  return startBackgroundJobs({
    db: container.database.db,
    logger: container.logger,
    usageRetentionDays: container.config.usageRetentionDays,
    usageRecovery: container.billing.meter,
    invoices: container.billing.invoices,
    responses: container.responses,
    webhookDispatcher: container.webhooks.dispatcher,
    healthChecks: createHealthChecks(container.config.providers, container.router.table),
  });
}

/** One line telling a newcomer what serves the catalog and how to change it. */
export function describeUpstreams(config: ResolvedConfig): string {
  if (config.simulatorOnly)
    return 'No upstream configured: the built-in simulator serves the catalog. Set SIMO_UPSTREAM_URL (e.g. http://127.0.0.1:8000/v1 for vLLM, http://127.0.0.1:11434/v1 for Ollama) to use a real model server.';
  const upstreams = config.providers.filter((p) => p.type === 'openai-compatible').map((p) => p.id);
  return `Serving ${config.models.length} model(s) through provider(s): ${upstreams.join(', ')}.`;
}

/** One line saying where mail goes (invites, verification, password resets). */
export function describeMail(config: ResolvedConfig): string {
  if (config.smtp.url) return `Mail is sent over SMTP (${new URL(config.smtp.url).host}).`;
  return 'No SMTP configured (SIMO_SMTP_URL): mails go to the server log and to the operator outbox (GET /operator/outbox).';
}
