import type { Command } from 'commander';
import { ALL_SCOPES, type ApiKeyScope } from '../accounts/api-key-store.js';
import { apiKeyView } from '../accounts/routes/key-schemas.js';
import { withContainer } from './command-context.js';

type Env = Record<string, string | undefined>;
const CLI = { actor: 'cli', ip: null };

/**
 * `simosphere key list|create|rotate|revoke --tenant T`: the operator's key management, e.g. for a
 * tenant that lost its only key. Running servers learn about revocations at once through Redis
 * (SIMO_REDIS_URL); without it, within their key cache TTL.
 */
export function registerKeyCommands(program: Command, env: Env): void {
  const key = program.command('key').description("manage a tenant's API keys");

  key
    .command('list')
    .description("list a tenant's keys (never the keys themselves)")
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; json?: boolean }) => {
      const keys = await withContainer(env, async (container) => {
        await container.operatorTenants.get(opts.tenant);
        return (await container.keys.list(opts.tenant)).map(apiKeyView);
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(keys)}\n`);
        return;
      }
      for (const k of keys)
        process.stdout.write(
          `${k.id}  ${k.prefix}…${k.last4}  ${k.status.padEnd(7)}  ${k.scopes.join(',').padEnd(15)}  ${k.name}\n`,
        );
    });

  key
    .command('create')
    .description('create a key for a tenant (shown once)')
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--name <name>', 'key name', 'API key')
    .option('--scopes <list>', 'comma-separated: inference,admin', ALL_SCOPES.join(','))
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; name: string; scopes: string; json?: boolean }) => {
      const scopes = parseScopes(opts.scopes);
      const issued = await withContainer(env, async (container) => {
        await container.operatorTenants.get(opts.tenant);
        return container.keys.create(opts.tenant, { name: opts.name, scopes }, CLI);
      });
      printIssued({ ...apiKeyView(issued.record), api_key: issued.apiKey }, opts.json);
    });

  key
    .command('rotate')
    .description('replace a key by a new one (shown once); the old key is refused from now on')
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--key <id>', 'key id')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; key: string; json?: boolean }) => {
      const rotated = await withContainer(env, (container) =>
        container.keys.rotate(opts.tenant, opts.key, CLI),
      );
      printIssued(
        { ...apiKeyView(rotated.record), api_key: rotated.apiKey, rotated_key_id: rotated.oldKeyId },
        opts.json,
      );
    });

  key
    .command('revoke')
    .description('revoke a key for good')
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--key <id>', 'key id')
    .action(async (opts: { tenant: string; key: string }) => {
      await withContainer(env, (container) => container.keys.revoke(opts.tenant, opts.key, CLI));
      process.stdout.write(`revoked ${opts.key}\n`);
    });
}

function parseScopes(list: string): ApiKeyScope[] {
  const scopes = [...new Set(list.split(',').map((s) => s.trim()))];
  for (const s of scopes)
    if (!ALL_SCOPES.includes(s as ApiKeyScope))
      throw new Error(`--scopes: unknown scope '${s}' (known: ${ALL_SCOPES.join(', ')})`);
  return scopes as ApiKeyScope[];
}

function printIssued(out: { id: string; api_key: string; rotated_key_id?: string }, json?: boolean): void {
  process.stdout.write(
    json
      ? `${JSON.stringify(out)}\n`
      : `key_id:  ${out.id}\napi_key: ${out.api_key}\n${out.rotated_key_id ? `revoked: ${out.rotated_key_id}\n` : ''}(the API key is shown only once)\n`,
  );
}
