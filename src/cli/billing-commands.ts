import type { Command } from 'commander';
import { formatMicros, parseUsdToMicros } from '../shared/money.js';
import { withContainer } from './command-context.js';

/** `simosphere credits grant …` and `simosphere invoices close …`. */
export function registerBillingCommands(program: Command, env: Record<string, string | undefined>): void {
  const credits = program.command('credits').description('manage tenant credits');
  credits
    .command('grant')
    .description('grant credits to a tenant (a negative amount records an adjustment)')
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--amount <usd>', 'USD amount, up to six decimals, e.g. 10 or 2.50')
    .option('--note <text>', 'note kept in the ledger and the audit log')
    .option('--idempotency-key <key>', 'makes a retried grant a no-op')
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        tenant: string;
        amount: string;
        note?: string;
        idempotencyKey?: string;
        json?: boolean;
      }) => {
        const amountMicros = parseUsdToMicros(opts.amount);
        if (amountMicros === null || amountMicros === 0)
          throw new Error(
            `--amount: expected a non-zero USD amount with at most six decimals, got '${opts.amount}'`,
          );
        const result = await withContainer(env, (container) =>
          container.billing.grant({
            tenantId: opts.tenant,
            amountMicros,
            note: opts.note ?? null,
            actor: 'cli',
            ...(opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {}),
          }),
        );
        const out = {
          tenant_id: opts.tenant,
          kind: result.kind,
          amount: formatMicros(amountMicros),
          applied: result.applied,
          balance: result.balance.balance,
        };
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(out)}\n`
            : `${out.applied ? `${out.kind === 'grant' ? 'granted' : 'adjusted'} ${out.amount} USD` : 'already applied (same idempotency key)'} · tenant ${out.tenant_id} · balance ${out.balance} USD\n`,
        );
      },
    );

  const invoices = program.command('invoices').description('monthly invoices');
  invoices
    .command('close')
    .description('close a month: one invoice per tenant with usage in it (closing again is a no-op)')
    .requiredOption('--period <YYYY-MM>', 'the month (UTC)')
    .option('--json', 'print JSON')
    .action(async (opts: { period: string; json?: boolean }) => {
      const result = await withContainer(env, (container) => container.billing.invoices.close(opts.period));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ period: result.period, created: result.created })}\n`);
        return;
      }
      process.stdout.write(`period ${result.period}: ${result.created.length} invoice(s) created\n`);
      for (const inv of result.created)
        process.stdout.write(`  ${inv.id}  ${inv.tenant_id}  ${inv.total} ${inv.currency}\n`);
    });
}
