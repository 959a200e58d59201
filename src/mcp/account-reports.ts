import type { Container } from '../container.js';

/** The part of the billing service the agent tools read, when billing is wired into the container. */
interface BillingReader {
  balance(tenantId: string): Promise<unknown>;
  usage(tenantId: string, from: number, to: number, groupBy: 'model' | 'day'): Promise<unknown[]>;
}

const billingOf = (c: Container) => (c as { billing?: BillingReader }).billing;

/** Per-model usage of a tenant in [from, to) (epoch ms), from the billing service or the usage records. */
export async function usageReport(c: Container, tenantId: string, from: number, to: number) {
  const billing = billingOf(c);
  if (billing) return { from, to, data: await billing.usage(tenantId, from, to, 'model') };
  await c.meter.flush();
  const rows = await c.database.db
    .selectFrom('usage_records')
    .select((eb) => [
      'model',
      eb.fn.countAll<number>().as('requests'),
      eb.fn.sum<number>('prompt_tokens').as('prompt_tokens'),
      eb.fn.sum<number>('completion_tokens').as('completion_tokens'),
      eb.fn.sum<number>('cost_micros').as('cost_micros'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('created_at', '>=', from)
    .where('created_at', '<', to)
    .groupBy('model')
    .orderBy('model')
    .execute();
  return {
    from,
    to,
    // PostgreSQL returns bigint sums as strings: normalise to numbers.
    data: rows.map((r) => ({
      model: r.model,
      requests: Number(r.requests),
      prompt_tokens: Number(r.prompt_tokens),
      completion_tokens: Number(r.completion_tokens),
      cost_micros: Number(r.cost_micros),
    })),
  };
}

/** The tenant's credit balance, or an honest "unavailable" when billing is not wired in. */
export async function balanceReport(c: Container, tenantId: string): Promise<unknown> {
  const billing = billingOf(c);
  if (billing) return billing.balance(tenantId);
  return { balance: 'unavailable', currency: 'USD' };
}
