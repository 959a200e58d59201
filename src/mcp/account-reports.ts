import { usageRowView } from '../billing/billing-queries.js';
import type { Container } from '../container.js';

/**
 * Per-model usage of a tenant in [from, to) (epoch ms), shaped like `GET /admin/usage` so agents and
 * dashboards read the same numbers.
 */
export async function usageReport(c: Container, tenantId: string, from: number, to: number) {
  const lines = await c.billing.usage(tenantId, from, to, 'model');
  return {
    object: 'list' as const,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    data: lines.map(usageRowView),
  };
}

/** The tenant's credit balance, as `GET /admin/balance` shows it. */
export function balanceReport(c: Container, tenantId: string) {
  return c.billing.balance(tenantId);
}
