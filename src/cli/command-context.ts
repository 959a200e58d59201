import { type Container, createContainer } from '../container.js';
import { createLogger } from '../observability/logger.js';
import { configOrExit } from './load-config.js';

/** Runs a CLI action with a container (database migrated), closing it afterwards. */
export async function withContainer<T>(
  env: Record<string, string | undefined>,
  action: (container: Container) => Promise<T>,
): Promise<T> {
  const config = configOrExit(env);
  // No background jobs: a one-shot command must not start (and then cut short) webhook deliveries.
  const container = await createContainer(config, createLogger('warn', process.stderr));
  try {
    return await action(container);
  } finally {
    await container.close();
  }
}
