import type { FastifyInstance } from 'fastify';
import { findTenant } from '../../accounts/tenant-store.js';
import type { Container } from '../../container.js';
import { defineRoute } from '../../http/define-route.js';
import { type TenantAuthDeps, tenantGuard } from '../../http/tenant-auth.js';
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
  usageRecordListSchema,
  usageRecordQuerySchema,
  usageReportSchema,
} from './billing-schemas.js';

/** The tenant guard, the billing service, and config and the tenant row for printed invoices. */
export type TenantBillingRouteDeps = Pick<Container, 'config' | 'database' | 'billing'> & TenantAuthDeps;

const INVOICE_PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
};

const TAGS = ['Billing'];

/** `/admin/balance`, `/admin/usage`, `/admin/invoices*`: a tenant's own money. */
export function registerTenantBillingRoutes(app: FastifyInstance, deps: TenantBillingRouteDeps): void {
  const tenant = tenantGuard(deps);

  defineRoute(app, {
    method: 'GET',
    url: '/admin/balance',
    guard: tenant,
    doc: {
      summary: 'Credit balance (USD)',
      description:
        'Granted, consumed and reserved (held by requests in flight) credit, and what is available for new requests.',
      tags: TAGS,
    },
    schema: { response: { 200: balanceSchema } },
    handler: async (request) => readBalance(deps, request.auth.tenant.id),
  });

  defineRoute(app, {
    method: 'GET',
    url: '/admin/usage',
    guard: tenant,
    doc: {
      summary: 'Usage per model (or per day and model): requests, tokens and cost',
      description:
        'Settled usage between `from` and `to` (this month by default), grouped by model or by day and model, with a total.',
      tags: TAGS,
    },
    schema: { querystring: usageQuerySchema, response: { 200: usageReportSchema } },
    handler: async (request) => usageReport(deps, request.auth.tenant.id, request.query),
  });

  defineRoute(app, {
    method: 'GET',
    url: '/admin/usage/records',
    guard: tenant,
    doc: {
      summary:
        'Usage records, newest first: one per metered request, with its route, attempts and cache outcome',
      description:
        'Each request the account was metered for (within `usageRetentionDays`): model, surface, the provider and upstream model that answered, how many routes were tried, whether the response cache answered, tokens, cost, status and latency. Page with `before`.',
      tags: TAGS,
    },
    schema: { querystring: usageRecordQuerySchema, response: { 200: usageRecordListSchema } },
    handler: async (request) => deps.billing.usageRecords(request.auth.tenant.id, request.query),
  });

  defineRoute(app, {
    method: 'GET',
    url: '/admin/invoices',
    guard: tenant,
    doc: {
      summary: 'Closed monthly invoices, newest first',
      description: 'Every invoice of the tenant; a month gets its invoice once it is over and closed.',
      tags: TAGS,
    },
    schema: { response: { 200: invoiceListSchema } },
    handler: async (request) => listInvoices(deps, request.auth.tenant.id),
  });

  defineRoute(app, {
    method: 'GET',
    url: '/admin/invoices/:id',
    guard: tenant,
    doc: {
      summary:
        'One invoice as JSON, or as a printable HTML page (`?format=html` or `/admin/invoices/{id}.html`)',
      description:
        'The invoice with its lines per model. The HTML page is self-contained and may not be framed by other sites.',
      tags: TAGS,
    },
    schema: {
      params: invoiceParams,
      querystring: invoiceQuerySchema,
      response: { 200: invoiceSchema },
    },
    handler: async (request, reply) => {
      const rawId = request.params.id;
      const html = request.query.format === 'html' || rawId.endsWith('.html');
      const id = rawId.replace(/\.html$/, '');
      const tenantId = request.auth.tenant.id;
      const invoice = await deps.billing.invoices.get(tenantId, id);
      if (!invoice) throw notFound('The invoice');
      if (!html) return invoice;
      const tenant = await findTenant(deps.database.db, tenantId);
      const page = renderInvoiceHtml(
        invoice,
        deps.config.brand,
        { name: tenant?.name ?? tenantId, email: tenant?.email ?? '' },
        deps.config.legal,
      );
      // No other site may frame the invoice (clickjacking); it loads nothing but its inline styles.
      // The page is a string sent as is (no serializer): the 200 schema describes the JSON form.
      return reply
        .type('text/html; charset=utf-8')
        .headers(INVOICE_PAGE_HEADERS)
        .send(page as never);
    },
  });
}
