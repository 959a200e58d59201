import { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/load.js';
import { registerBillingCommands } from './billing-commands.js';
import { registerConfigCommands } from './config-commands.js';
import { registerDatabaseCommands } from './database-commands.js';
import { registerKeyCommands } from './key-commands.js';
import { registerTenantCommands } from './tenant-commands.js';

/** The `simosphere` command line. Each command group lives in its own file. */
export function buildCli(env: Record<string, string | undefined> = process.env): Command {
  const program = new Command('simosphere')
    .description('Self-hostable, multi-tenant, OpenAI-compatible AI API platform')
    .showHelpAfterError();
  program
    .command('start')
    .description('serve the API, portal, dashboard and discovery documents')
    .action(async () => {
      const { main } = await import('../main.js');
      await main(env);
    });
  registerDatabaseCommands(program, env);
  registerTenantCommands(program, env);
  registerKeyCommands(program, env);
  registerConfigCommands(program, env);
  registerBillingCommands(program, env);
  return program;
}

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

export async function runCli(argv = process.argv): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    process.stderr.write(`simosphere: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
