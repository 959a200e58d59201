import type { FastifyInstance } from 'fastify';
import type { Container } from '../container.js';
import { parseBody } from '../http/validation.js';
import { operatorAuth } from './operator-auth.js';
import {
  createdTenantSchema,
  createTenantRequestSchema,
  tenantIdParams,
  tenantListQuerySchema,
  tenantListSchema,
  tenantSchema,
  tenantView,
  updateTenantRequestSchema,
} from './tenant-schemas.js';

const TAGS = ['Operator'];

/** `/operator/tenants*`: the platform operator's tenant management (Bearer SIMO_ADMIN_TOKEN). */
export function registerOperatorRoutes(app: FastifyInstance, c: Container): void {
  const preHandler = operatorAuth(c);
  const view = (t: Parameters<typeof tenantView>[0]) => tenantView(t, c.config.plans);

  app.get(
    '/operator/tenants',
    {
      preHandler,
      config: {
        openapi: {
          summary: 'List tenants',
          tags: TAGS,
          security: 'operator',
          query: tenantListQuerySchema,
          response: tenantListSchema,
        },
      },
    },
    async (request) => {
      const q = parseBody(tenantListQuerySchema, request.query);
      const { tenants, hasMore } = await c.tenantAdmin.list({ limit: q.limit, after: q.after });
      return {
        object: 'list' as const,
        data: tenants.map(view),
        has_more: hasMore,
        next_cursor: hasMore ? (tenants.at(-1)?.id ?? null) : null,
      };
    },
  );

  app.post(
    '/operator/tenants',
    {
      preHandler,
      config: {
        openapi: {
          summary: 'Create a tenant and its first API key (shown once)',
          tags: TAGS,
          security: 'operator',
          body: createTenantRequestSchema,
          response: createdTenantSchema,
          responseStatus: 201,
        },
      },
    },
    async (request, reply) => {
      const body = parseBody(createTenantRequestSchema, request.body);
      const account = await c.accounts.createAccount({
        email: body.email,
        ...(body.plan ? { plan: body.plan } : {}),
        ...(body.name ? { name: body.name } : {}),
        actor: 'operator',
        ip: request.ip,
      });
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ tenant: view(account.tenant), key_id: account.keyId, api_key: account.apiKey });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/operator/tenants/:id',
    {
      preHandler,
      config: {
        openapi: { summary: 'Get a tenant', tags: TAGS, security: 'operator', response: tenantSchema },
      },
    },
    async (request) => view(await c.tenantAdmin.get(parseBody(tenantIdParams, request.params).id)),
  );

  app.patch<{ Params: { id: string } }>(
    '/operator/tenants/:id',
    {
      preHandler,
      config: {
        openapi: {
          summary: 'Change plan, rpm override, allowed models or suspension',
          tags: TAGS,
          security: 'operator',
          body: updateTenantRequestSchema,
          response: tenantSchema,
        },
      },
    },
    async (request) => {
      const { id } = parseBody(tenantIdParams, request.params);
      const body = parseBody(updateTenantRequestSchema, request.body);
      const updated = await c.tenantAdmin.update(
        id,
        {
          ...(body.plan !== undefined ? { plan: body.plan } : {}),
          ...(body.rpm !== undefined ? { rpmOverride: body.rpm } : {}),
          ...(body.models !== undefined ? { allowedModels: body.models } : {}),
          ...(body.suspended !== undefined ? { suspended: body.suspended } : {}),
          ...(body.name !== undefined ? { name: body.name } : {}),
        },
        { actor: 'operator', ip: request.ip },
      );
      return view(updated);
    },
  );
}
