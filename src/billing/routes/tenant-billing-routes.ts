import type { FastifyInstance } from 'fastify';
import { findTenant } from '../../accounts/tenant-store.js';
import type { Container } from '../../container.js';
import { ApiError, notFound } from '../../http/errors.js';
import { tenantAuth } from '../../http/tenant-auth.js';
import { parseBody } from '../../http/validation.js';
import { renderInvoiceHtml } from '../invoice-html.js';
import { formatMicros } from '../money.js';
import { periodAt } from '../periods.js';
import { DAY_MS } from '../usage-daily.js';
import {
  balanceSchema,
  invoiceListSchema,
  invoiceParams,
  invoiceQuerySchema,
  invoiceSchema,
  usageQuerySchema,
  usageReportSchema,
} from './billing-schemas.js';

const TAGS = ['Billing'];

/**
 * A time bound of the usage report: `YYYY-MM-DD` (UTC; as an end bound the whole day counts), an ISO
 * 8601 time, or Unix seconds.
 */
export function parseTimeBound(value: string, param: 'from' | 'to'): number {
  const text = value.trim();
  let ms: number | null = null;
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const day = Date.parse(`${text}T00:00:00Z`);
    if (!Number.isNaN(day)) ms = param === 'to' ? day + DAY_MS : day;
  } else if (/^\d{1,12}$/.test(text)) ms = Number(text) * 1000;
  else if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const t = Date.parse(text);
    if (!Number.isNaN(t)) ms = t;
  }
  if (ms === null)
    throw new ApiError(
      'invalid_parameter',
      `Invalid value for '${param}': use YYYY-MM-DD, an ISO 8601 time or Unix seconds.`,
      param,
    );
  return ms;
}

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
    async (request) => c.billing.balance(request.auth!.tenant.id),
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
    async (request) => {
      const q = parseBody(usageQuerySchema, request.query);
      const now = Date.now();
      const from = q.from ? parseTimeBound(q.from, 'from') : periodAt(now).start;
      const to = q.to ? parseTimeBound(q.to, 'to') : now + 1;
      if (to <= from) throw new ApiError('invalid_parameter', "'to' must be after 'from'.", 'to');
      const lines = await c.billing.usage(request.auth!.tenant.id, from, to, q.group_by);
      const total = { requests: 0, prompt_tokens: 0, completion_tokens: 0, micros: 0 };
      for (const l of lines) {
        total.requests += l.requests;
        total.prompt_tokens += l.promptTokens;
        total.completion_tokens += l.completionTokens;
        total.micros += l.costMicros;
      }
      return {
        object: 'list' as const,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        group_by: q.group_by,
        data: lines.map((l) => ({
          ...(l.day ? { day: l.day } : {}),
          model: l.model,
          requests: l.requests,
          prompt_tokens: l.promptTokens,
          completion_tokens: l.completionTokens,
          cost: formatMicros(l.costMicros),
        })),
        total: {
          requests: total.requests,
          prompt_tokens: total.prompt_tokens,
          completion_tokens: total.completion_tokens,
          cost: formatMicros(total.micros),
        },
      };
    },
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
    async (request) => ({
      object: 'list' as const,
      data: await c.billing.invoices.list(request.auth!.tenant.id),
    }),
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
      return reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
        .send(
          renderInvoiceHtml(invoice, c.config.brand, {
            name: tenant?.name ?? tenantId,
            email: tenant?.email ?? '',
          }),
        );
    },
  );
}
