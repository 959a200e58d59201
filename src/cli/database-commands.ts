import type { Command } from 'commander';
import { openDatabase } from '../storage/database.js';
import { configOrExit } from './load-config.js';

export function registerDatabaseCommands(program: Command, env: Record<string, string | undefined>): void {
  program
    .command('migrate')
    .description('apply pending database migrations')
    .action(async () => {
      const config = configOrExit(env);
      const database = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      try {
        const applied = await database.migrate();
        process.stdout.write(
          applied.length > 0
            ? `applied: ${applied.join(', ')}\n`
            : `database is up to date (${database.dialect})\n`,
        );
      } finally {
        await database.close();
      }
    });
}
