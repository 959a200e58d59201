import { ConfigError, loadConfig } from './config/load.js';
import { createLogger } from './observability/logger.js';
import { describeMail, describeUpstreams, startServer } from './server.js';

/** `simosphere start`: the only place that reads the real environment and binds a port. */
export async function main(env: Record<string, string | undefined> = process.env): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`simosphere: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const server = await startServer(config, logger);
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

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    server
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
