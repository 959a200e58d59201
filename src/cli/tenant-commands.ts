import type { Command } from 'commander';
import { withContainer } from './command-context.js';

export function registerTenantCommands(program: Command, env: Record<string, string | undefined>): void {
  const tenant = program.command('tenant').description('manage tenants');
  tenant
    .command('create')
    .description('create a tenant and print its id and a new API key (shown once)')
    .requiredOption('--email <email>', 'owner email')
    .option('--plan <plan>', 'plan (default: the sign-up plan)')
    .option('--name <name>', 'display name')
    .option('--json', 'print JSON')
    .action(async (opts: { email: string; plan?: string; name?: string; json?: boolean }) => {
      const account = await withContainer(env, (c) =>
        c.accounts.createAccount({
          email: opts.email,
          actor: 'cli',
          ...(opts.plan ? { plan: opts.plan } : {}),
          ...(opts.name ? { name: opts.name } : {}),
        }),
      );
      const out = {
        tenant_id: account.tenant.id,
        plan: account.tenant.plan,
        key_id: account.keyId,
        api_key: account.apiKey,
      };
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(out)}\n`
          : `tenant_id: ${out.tenant_id}\nplan:      ${out.plan}\nkey_id:    ${out.key_id}\napi_key:   ${out.api_key}\n(the API key is shown only once)\n`,
      );
    });
}
