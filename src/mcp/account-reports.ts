import { formatMicros } from '../billing/money.js';
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
    data: lines.map((l) => ({
      model: l.model,
      requests: l.requests,
      prompt_tokens: l.promptTokens,
      completion_tokens: l.completionTokens,
      cost: formatMicros(l.costMicros),
    })),
  };
}

/** The tenant's credit balance, as `GET /admin/balance` shows it. */
export function balanceReport(c: Container, tenantId: string) {
  return c.billing.balance(tenantId);
}
