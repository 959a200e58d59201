import { ConfigError, loadConfig } from '../config/load.js';

/** Loads the config for a command, printing a one-line error instead of a stack trace. */
export function configOrExit(env: Record<string, string | undefined>) {
  try {
    return loadConfig({ env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`simosphere: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
