import { usageRowView } from '../billing/billing-queries.js';
import type { BillingService } from '../billing/billing-service.js';

/** What the account reports read. */
export interface ReportDeps {
  billing: Pick<BillingService, 'usage' | 'balance'>;
}

/**
 * Per-model usage of a tenant in [from, to) (epoch ms), shaped like `GET /admin/usage` so agents and
 * dashboards read the same numbers.
 */
export async function usageReport(deps: ReportDeps, tenantId: string, from: number, to: number) {
  const lines = await deps.billing.usage(tenantId, from, to, 'model');
  return {
    object: 'list' as const,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    data: lines.map(usageRowView),
  };
}

/** The tenant's credit balance, as `GET /admin/balance` shows it. */
export function balanceReport(deps: ReportDeps, tenantId: string) {
  return deps.billing.balance(tenantId);
}
