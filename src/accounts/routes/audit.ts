import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { type Authenticated, defineRoute, type Guard } from '../../http/define-route.js';
import { readAuditLog } from '../audit-log.js';

/** The audit log table. */
export type AuditRouteDeps = Pick<Container, 'database'>;

export const auditQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z
    .string()
    .regex(/^\d{1,15}$/, 'must be a cursor from next_cursor')
    .optional()
    .describe('next_cursor of the previous page'),
});

const auditEntrySchema = z.object({
  id: z.string(),
  object: z.literal('audit_entry'),
  action: z.string(),
  actor: z.string(),
  target: z.string().nullable(),
  ip: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()).nullable(),
  created: z.number().int(),
});

export const auditPageSchema = z.object({
  object: z.literal('list'),
  data: z.array(auditEntrySchema),
  has_more: z.boolean(),
  next_cursor: z.string().nullable(),
});

/** `GET /admin/audit`: the tenant's own audit entries, newest first, cursor-paginated. */
export function registerAuditRoute(
  app: FastifyInstance,
  deps: AuditRouteDeps,
  tenant: Guard<Authenticated>,
): void {
  defineRoute(app, {
    method: 'GET',
    url: '/admin/audit',
    guard: tenant,
    doc: {
      summary: "The tenant's audit log, newest first",
      description:
        'Sign-ins, key and webhook changes and operator actions on the tenant, a page at a time (pass `next_cursor` as `after`).',
      tags: ['Audit'],
    },
    schema: { querystring: auditQuerySchema, response: { 200: auditPageSchema } },
    handler: async (request) => readAuditLog(deps.database, request.auth.tenant.id, request.query),
  });
}
