import type { FastifyInstance } from 'fastify';
import { findTenant } from '../../accounts/tenant-store.js';
import type { Container } from '../../container.js';
import { tenantAuth } from '../../http/tenant-auth.js';
import { parseBody } from '../../http/validation.js';
import { notFound } from '../../shared/errors.js';
import { listInvoices, readBalance, usageReport } from '../billing-queries.js';
import { renderInvoiceHtml } from '../invoice-html.js';
import {
  balanceSchema,
  invoiceListSchema,
  invoiceParams,
  invoiceQuerySchema,
  invoiceSchema,
  usageQuerySchema,
  usageReportSchema,
} from './billing-schemas.js';

const INVOICE_PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
};

const TAGS = ['Billing'];

/** `/admin/balance`, `/admin/usage`, `/admin/invoices*`: a tenant's own money. */
export function registerTenantBillingRoutes(app: FastifyInstance, c: Container): void {
  const preHandler = tenantAuth(c);

  app.get(
    '/admin/balance',
    {
      preHandler,
      config: {
        openapi: { summary: 'Credit balance (USD)', tags: TAGS, security: 'tenant', response: balanceSchema },
      },
    },
    async (request) => readBalance(c, request.auth!.tenant.id),
  );

  app.get(
    '/admin/usage',
    {
      preHandler,
      config: {
        openapi: {
          summary: 'Usage per model (or per day and model): requests, tokens and cost',
          tags: TAGS,
          security: 'tenant',
          query: usageQuerySchema,
          response: usageReportSchema,
        },
      },
    },
    async (request) => usageReport(c, request.auth!.tenant.id, parseBody(usageQuerySchema, request.query)),
  );

  app.get(
    '/admin/invoices',
    {
      preHandler,
      config: {
        openapi: {
          summary: 'Closed monthly invoices, newest first',
          tags: TAGS,
          security: 'tenant',
          response: invoiceListSchema,
        },
      },
    },
    async (request) => listInvoices(c, request.auth!.tenant.id),
  );

  app.get<{ Params: { id: string } }>(
    '/admin/invoices/:id',
    {
      preHandler,
      config: {
        openapi: {
          summary:
            'One invoice as JSON, or as a printable HTML page (`?format=html` or `/admin/invoices/{id}.html`)',
          tags: TAGS,
          security: 'tenant',
          query: invoiceQuerySchema,
          response: invoiceSchema,
        },
      },
    },
    async (request, reply) => {
      const { id: rawId } = parseBody(invoiceParams, request.params);
      const q = parseBody(invoiceQuerySchema, request.query ?? {});
      const html = q.format === 'html' || rawId.endsWith('.html');
      const id = rawId.replace(/\.html$/, '');
      const tenantId = request.auth!.tenant.id;
      const invoice = await c.billing.invoices.get(tenantId, id);
      if (!invoice) throw notFound('The invoice');
      if (!html) return invoice;
      const tenant = await findTenant(c.database.db, tenantId);
      // No other site may frame the invoice (clickjacking); it loads nothing but its inline styles.
      return reply
        .type('text/html; charset=utf-8')
        .headers(INVOICE_PAGE_HEADERS)
        .send(
          renderInvoiceHtml(invoice, c.config.brand, {
            name: tenant?.name ?? tenantId,
            email: tenant?.email ?? '',
          }),
        );
    },
  );
}
