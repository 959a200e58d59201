import { Command } from 'commander';
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
    .option(
      '--workers <n>',
      'serving processes sharing the port (default: SIMO_WORKERS, else the cores available)',
      (v) => Number(v),
    )
    .action(async (options: { workers?: number }) => {
      const { main } = await import('../main.js');
      await main(env, options.workers === undefined ? {} : { workers: options.workers });
    });
  registerDatabaseCommands(program, env);
  registerTenantCommands(program, env);
  registerKeyCommands(program, env);
  registerConfigCommands(program, env);
  registerBillingCommands(program, env);
  return program;
}

export async function runCli(argv = process.argv): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    process.stderr.write(`simosphere: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
