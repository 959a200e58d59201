import type { Command } from 'commander';
import type { Tenant, TenantSettings } from '../accounts/tenant-store.js';
import { tenantView } from '../operator/tenant-schemas.js';
import { withContainer } from './command-context.js';

type Env = Record<string, string | undefined>;

/** `simosphere tenant create|list|set`: the operator's tenant management from a shell. */
export function registerTenantCommands(program: Command, env: Env): void {
  const tenant = program.command('tenant').description('manage tenants');
  tenant
    .command('create')
    .description('create a tenant and print its id and a new API key (shown once)')
    .requiredOption('--email <email>', 'owner email')
    .option('--plan <plan>', 'plan (default: the sign-up plan)')
    .option('--name <name>', 'display name')
    .option('--json', 'print JSON')
    .action(async (opts: { email: string; plan?: string; name?: string; json?: boolean }) => {
      const account = await withContainer(env, (container) =>
        container.accounts.createAccount({
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

  tenant
    .command('list')
    .description('list every tenant with its plan, rate limit, models and status')
    .option('--json', 'print JSON (one array)')
    .action(async (opts: { json?: boolean }) => {
      const rows = await withContainer(env, async (container) => {
        const all: ReturnType<typeof tenantView>[] = [];
        let after: string | undefined;
        // Bounded: a million tenants at 500 a page is 2000 pages.
        for (let page = 0; page < 2000; page++) {
          const { tenants, hasMore } = await container.operatorTenants.list({ limit: 500, after });
          all.push(...tenants.map((t) => tenantView(t, container.config.plans)));
          after = tenants.at(-1)?.id;
          if (!hasMore || !after) break;
        }
        return all;
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(rows)}\n`);
        return;
      }
      const table = [['TENANT', 'PLAN', 'RPM', 'MODELS', 'STATUS', 'EMAIL']];
      for (const t of rows)
        table.push([
          t.id,
          t.plan,
          `${t.effective_rpm}${t.rpm === null ? '' : '*'}`,
          t.models === null ? 'all' : t.models.join(','),
          t.suspended ? 'suspended' : 'active',
          t.email,
        ]);
      process.stdout.write(formatTable(table));
      if (rows.some((t) => t.rpm !== null)) process.stdout.write('* negotiated rpm override\n');
    });

  tenant
    .command('set')
    .description("change a tenant's plan, rpm override, allowed models or suspension")
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--plan <plan>', 'new plan')
    .option('--rpm <n>', "requests per minute override, or 'plan' to use the plan's")
    .option('--models <ids>', "comma-separated allowed model ids, or 'all'")
    .option('--suspend', 'suspend the tenant (its keys answer 403)')
    .option('--resume', 'lift a suspension')
    .option('--json', 'print JSON')
    .action(async (opts: SetOptions) => {
      const settings = settingsFrom(opts);
      const updated = await withContainer(env, async (container) => {
        const t: Tenant = await container.operatorTenants.update(opts.tenant, settings, {
          actor: 'cli',
          ip: null,
        });
        return tenantView(t, container.config.plans);
      });
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(updated)}\n`
          : `tenant_id: ${updated.id}\nplan:      ${updated.plan}\nrpm:       ${updated.effective_rpm}${updated.rpm === null ? " (plan's)" : ' (override)'}\nmodels:    ${updated.models === null ? 'all' : updated.models.join(', ')}\nstatus:    ${updated.suspended ? 'suspended' : 'active'}\n`,
      );
    });
}

interface SetOptions {
  tenant: string;
  plan?: string;
  rpm?: string;
  models?: string;
  suspend?: boolean;
  resume?: boolean;
  json?: boolean;
}

/** Turns command-line flags into tenant settings; throws a one-line message on bad flags. */
export function settingsFrom(opts: SetOptions): TenantSettings {
  if (opts.suspend && opts.resume) throw new Error('--suspend and --resume cannot be combined');
  const s: TenantSettings = {};
  if (opts.plan !== undefined) s.plan = opts.plan;
  if (opts.rpm !== undefined) {
    if (opts.rpm === 'plan') s.rpmOverride = null;
    else if (/^[1-9]\d{0,7}$/.test(opts.rpm)) s.rpmOverride = Number(opts.rpm);
    else throw new Error(`--rpm: expected a positive whole number or 'plan', got '${opts.rpm}'`);
  }
  if (opts.models !== undefined) {
    const ids = opts.models
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean);
    s.allowedModels = opts.models.trim() === 'all' ? null : ids;
  }
  if (opts.suspend) s.suspended = true;
  if (opts.resume) s.suspended = false;
  if (Object.keys(s).length === 0)
    throw new Error('nothing to change: give --plan, --rpm, --models, --suspend or --resume');
  return s;
}

function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map(
      (r) =>
        `${r
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}
