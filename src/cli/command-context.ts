import { type Container, createContainer } from '../container.js';
import { createLogger } from '../observability/logger.js';
import { configOrExit } from './main.js';

/** Runs a CLI action with a container (database migrated), closing it afterwards. */
export async function withContainer<T>(
  env: Record<string, string | undefined>,
  action: (c: Container) => Promise<T>,
): Promise<T> {
  const config = configOrExit(env);
  const container = await createContainer(config, createLogger('warn', process.stderr));
  try {
    return await action(container);
  } finally {
    await container.close();
  }
}
