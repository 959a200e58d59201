import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type Authenticated, defineRoute, type Guard } from '../../http/define-route.js';
import type { ModelCatalog } from '../catalog.js';
import { modelListSchema, modelObjectSchema } from '../response-schemas.js';

/** `GET /v1/models` and `GET /v1/models/{id}`: only the models the tenant may use. */
export function registerModelRoutes(
  app: FastifyInstance,
  deps: { catalog: ModelCatalog },
  inference: Guard<Authenticated>,
): void {
  const tags = ['Inference'];
  defineRoute(app, {
    method: 'GET',
    url: '/v1/models',
    guard: inference,
    doc: {
      summary: 'List the models this tenant may use',
      description:
        "The catalog models the tenant's plan allows, with context window and USD prices per million tokens.",
      tags,
    },
    schema: { response: { 200: modelListSchema } },
    handler: async (request) => ({
      object: 'list' as const,
      data: deps.catalog.forTenant(request.auth.tenant).map((m) => deps.catalog.describe(m)),
    }),
  });
  // Model ids contain slashes (`qwen/qwen3-8b`), so the id is the rest of the path.
  defineRoute(app, {
    method: 'GET',
    url: '/v1/models/*',
    guard: inference,
    doc: {
      summary: 'Describe one model (ids contain slashes)',
      description: 'One model of the catalog; a model the tenant may not use answers 404 `model_not_found`.',
      tags,
    },
    schema: { params: z.object({ '*': z.string() }), response: { 200: modelObjectSchema } },
    // The router has already percent-decoded the wildcard.
    handler: async (request) =>
      deps.catalog.describe(deps.catalog.resolve(request.auth.tenant, request.params['*'])),
  });
}
