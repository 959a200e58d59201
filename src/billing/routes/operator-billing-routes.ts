import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { findTenant } from '../../accounts/tenant-store.js';
import type { Container } from '../../container.js';
import { defineRoute } from '../../http/define-route.js';
import { type OperatorAuthDeps, operatorGuard } from '../../operator/operator-auth.js';
import { ApiError, notFound } from '../../shared/errors.js';
import { formatMicros, parseUsdToMicros } from '../../shared/money.js';
import {
  closeRequestSchema,
  closeResponseSchema,
  grantRequestSchema,
  grantResponseSchema,
  usageRecordListSchema,
  usageRecordQuerySchema,
} from './billing-schemas.js';

/** The operator guard, the billing service and the tenants table. */
export type OperatorBillingRouteDeps = Pick<Container, 'billing' | 'database'> & OperatorAuthDeps;

const TAGS = ['Operator'];

const tenantParams = z.object({ id: z.string().describe('The tenant id') });

/**
 * `POST /operator/tenants/{id}/credits`, `GET /operator/tenants/{id}/usage/records` and
 * `POST /operator/invoices/close` (Bearer SIMO_ADMIN_TOKEN).
 */
export function registerOperatorBillingRoutes(app: FastifyInstance, deps: OperatorBillingRouteDeps): void {
  const operator = operatorGuard(deps);

  defineRoute(app, {
    method: 'POST',
    url: '/operator/tenants/:id/credits',
    guard: operator,
    doc: {
      summary:
        'Grant credits to a tenant (a negative amount records an adjustment); `Idempotency-Key` honoured',
      description:
        "Adds `amount` USD to the tenant's credit ledger. Sent again with the same `Idempotency-Key` header, the grant is applied once and the answer says so (`applied: false`).",
      tags: TAGS,
    },
    schema: { params: tenantParams, body: grantRequestSchema, response: { 200: grantResponseSchema } },
    handler: async (request) => {
      const { body } = request;
      const amountMicros = parseUsdToMicros(body.amount);
      if (amountMicros === null || amountMicros === 0)
        throw new ApiError(
          'invalid_parameter',
          "'amount' must be a non-zero USD amount with at most six decimals.",
          'amount',
        );
      const key = request.headers['idempotency-key'];
      const tenantId = request.params.id;
      const result = await deps.billing.grant({
        tenantId,
        amountMicros,
        note: body.note ?? null,
        actor: 'operator',
        ip: request.ip,
        ...(typeof key === 'string' ? { idempotencyKey: key } : {}),
      });
      return {
        object: 'credit_grant' as const,
        tenant_id: tenantId,
        kind: result.kind,
        amount: formatMicros(amountMicros),
        applied: result.applied,
        balance: result.balance,
      };
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/operator/tenants/:id/usage/records',
    guard: operator,
    doc: {
      summary:
        "A tenant's usage records, newest first, with each request's route, attempts and cache outcome",
      description:
        'What the tenant sees at `GET /admin/usage/records`: one record per metered request. Page with `before`.',
      tags: TAGS,
    },
    schema: {
      params: tenantParams,
      querystring: usageRecordQuerySchema,
      response: { 200: usageRecordListSchema },
    },
    handler: async (request) => {
      // A mistyped id is a 404, not an empty listing that reads as "no usage".
      if (!(await findTenant(deps.database.db, request.params.id))) throw notFound('The tenant');
      return deps.billing.usageRecords(request.params.id, request.query);
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/operator/invoices/close',
    guard: operator,
    doc: {
      summary: 'Close a month: one invoice per tenant with usage in it (closing again is a no-op)',
      description:
        'Writes the invoices of `period` (YYYY-MM, a month that is over) for every tenant that used the API in it. The hourly job does the same; this is for operators who do not wait.',
      tags: TAGS,
    },
    schema: { body: closeRequestSchema, response: { 200: closeResponseSchema } },
    handler: async (request) => {
      const result = await deps.billing.invoices.close(request.body.period);
      return {
        object: 'invoice_close' as const,
        period: result.period,
        created: result.created.length,
        data: result.created,
      };
    },
  });
}
