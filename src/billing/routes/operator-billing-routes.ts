import type { FastifyInstance } from 'fastify';
import type { Container } from '../../container.js';
import { parseBody } from '../../http/validation.js';
import { operatorAuth } from '../../operator/operator-auth.js';
import { ApiError } from '../../shared/errors.js';
import { formatMicros, parseUsdToMicros } from '../../shared/money.js';
import {
  closeRequestSchema,
  closeResponseSchema,
  grantRequestSchema,
  grantResponseSchema,
} from './billing-schemas.js';

const TAGS = ['Operator'];

/** `POST /operator/tenants/{id}/credits` and `POST /operator/invoices/close` (Bearer SIMO_ADMIN_TOKEN). */
export function registerOperatorBillingRoutes(app: FastifyInstance, c: Container): void {
  const preHandler = operatorAuth(c);

  app.post<{ Params: { id: string } }>(
    '/operator/tenants/:id/credits',
    {
      preHandler,
      config: {
        openapi: {
          summary:
            'Grant credits to a tenant (a negative amount records an adjustment); `Idempotency-Key` honoured',
          tags: TAGS,
          security: 'operator',
          body: grantRequestSchema,
          response: grantResponseSchema,
        },
      },
    },
    async (request) => {
      const body = parseBody(grantRequestSchema, request.body);
      const amountMicros = parseUsdToMicros(body.amount);
      if (amountMicros === null || amountMicros === 0)
        throw new ApiError(
          'invalid_parameter',
          "'amount' must be a non-zero USD amount with at most six decimals.",
          'amount',
        );
      const key = request.headers['idempotency-key'];
      const result = await c.billing.grant({
        tenantId: request.params.id,
        amountMicros,
        note: body.note ?? null,
        actor: 'operator',
        ip: request.ip,
        ...(typeof key === 'string' ? { idempotencyKey: key } : {}),
      });
      return {
        object: 'credit_grant' as const,
        tenant_id: request.params.id,
        kind: result.kind,
        amount: formatMicros(amountMicros),
        applied: result.applied,
        balance: result.balance,
      };
    },
  );

  app.post(
    '/operator/invoices/close',
    {
      preHandler,
      config: {
        openapi: {
          summary: 'Close a month: one invoice per tenant with usage in it (closing again is a no-op)',
          tags: TAGS,
          security: 'operator',
          body: closeRequestSchema,
          response: closeResponseSchema,
        },
      },
    },
    async (request) => {
      const body = parseBody(closeRequestSchema, request.body);
      const result = await c.billing.invoices.close(body.period);
      return {
        object: 'invoice_close' as const,
        period: result.period,
        created: result.created.length,
        data: result.created,
      };
    },
  );
}
