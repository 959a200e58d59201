import type { FastifyInstance } from 'fastify';
import type { Container } from '../container.js';
import { defineRoute } from '../http/define-route.js';
import { type OperatorAuthDeps, operatorGuard } from './operator-auth.js';
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

/** The operator guard, the plans (config), account creation and tenant management. */
export type OperatorRouteDeps = Pick<Container, 'config' | 'accounts' | 'operatorTenants'> & OperatorAuthDeps;

const TAGS = ['Operator'];

/** `/operator/tenants*`: the platform operator's tenant management (Bearer SIMO_ADMIN_TOKEN). */
export function registerOperatorRoutes(app: FastifyInstance, deps: OperatorRouteDeps): void {
  const operator = operatorGuard(deps);
  const view = (t: Parameters<typeof tenantView>[0]) => tenantView(t, deps.config.plans);

  defineRoute(app, {
    method: 'GET',
    url: '/operator/tenants',
    guard: operator,
    doc: {
      summary: 'List tenants',
      description:
        'Every tenant of the platform in id order, a page at a time (pass `next_cursor` as `after`).',
      tags: TAGS,
    },
    schema: { querystring: tenantListQuerySchema, response: { 200: tenantListSchema } },
    handler: async (request) => {
      const q = request.query;
      const { tenants, hasMore } = await deps.operatorTenants.list({ limit: q.limit, after: q.after });
      return {
        object: 'list' as const,
        data: tenants.map(view),
        has_more: hasMore,
        next_cursor: hasMore ? (tenants.at(-1)?.id ?? null) : null,
      };
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/operator/tenants',
    guard: operator,
    doc: {
      summary: 'Create a tenant and its first API key (shown once)',
      description:
        'Creates a tenant on the given plan (the sign-up plan by default) with one API key, which is in this response only.',
      tags: TAGS,
    },
    schema: { body: createTenantRequestSchema, response: { 201: createdTenantSchema } },
    handler: async (request, reply) => {
      const { body } = request;
      const account = await deps.accounts.createAccount({
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
  });

  defineRoute(app, {
    method: 'GET',
    url: '/operator/tenants/:id',
    guard: operator,
    doc: {
      summary: 'Get a tenant',
      description: 'One tenant: plan, effective rate limit, allowed models and whether it is suspended.',
      tags: TAGS,
    },
    schema: { params: tenantIdParams, response: { 200: tenantSchema } },
    handler: async (request) => view(await deps.operatorTenants.get(request.params.id)),
  });

  defineRoute(app, {
    method: 'PATCH',
    url: '/operator/tenants/:id',
    guard: operator,
    doc: {
      summary: 'Change plan, rpm override, allowed models or suspension',
      description:
        'Only the fields sent change; `null` clears an override. A suspension or a new limit holds on every replica before this answers.',
      tags: TAGS,
    },
    schema: { params: tenantIdParams, body: updateTenantRequestSchema, response: { 200: tenantSchema } },
    handler: async (request) => {
      const { body } = request;
      const updated = await deps.operatorTenants.update(
        request.params.id,
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
  });
}
