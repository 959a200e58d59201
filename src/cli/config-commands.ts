import type { Command } from 'commander';
import { configOrExit } from './load-config.js';

export function registerConfigCommands(program: Command, env: Record<string, string | undefined>): void {
  const config = program.command('config').description('inspect the configuration');
  config
    .command('check')
    .description('validate the configuration and print the resolved routing table')
    .action(() => {
      const cfg = configOrExit(env);
      const lines = [
        `config: ${cfg.source}`,
        `listen: ${cfg.host}:${cfg.port}   public URL: ${cfg.publicUrl}`,
        `database: ${cfg.databaseUrl ? 'postgresql' : `sqlite (${cfg.dataDir})`}   rate limits: ${cfg.redisUrl ? 'redis' : 'in-process'}`,
        `plans: ${Object.entries(cfg.plans)
          .map(([name, p]) => `${name}=${p.rpm} rpm`)
          .join(', ')}`,
        'routing table:',
      ];
      const providers = new Map(cfg.providers.map((p) => [p.id, p]));
      for (const m of cfg.models) {
        lines.push(
          `  ${m.id} (${m.kind}, $${m.pricing.inputPerMTok}/$${m.pricing.outputPerMTok} per 1M tokens)` +
            (m.strategy === 'ordered' ? '' : `, strategy ${m.strategy}`),
        );
        m.routes.forEach((r, i) => {
          const p = providers.get(r.provider)!;
          const where =
            p.type === 'simulator' ? 'built-in simulator' : `${p.baseUrl} as '${r.model ?? m.id}'`;
          const weight = m.strategy === 'weighted' ? `, weight ${r.weight}` : '';
          const breaker = p.breaker
            ? `, breaker after ${p.breaker.failures} failures for ${p.breaker.cooldownMs} ms`
            : '';
          lines.push(`    ${i + 1}. ${r.provider}: ${where}${weight}${breaker}`);
        });
      }
      process.stdout.write(`${lines.join('\n')}\nconfiguration OK\n`);
    });
}
