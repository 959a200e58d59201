import type { FastifyInstance, preHandlerHookHandler } from 'fastify';
import type { ModelCatalog } from '../catalog.js';
import { modelListSchema, modelObjectSchema } from '../response-schemas.js';

/** `GET /v1/models` and `GET /v1/models/{id}`: only the models the tenant may use. */
export function registerModelRoutes(
  app: FastifyInstance,
  deps: { catalog: ModelCatalog },
  preHandler: preHandlerHookHandler[],
): void {
  const tags = ['Inference'];
  const listDoc = {
    summary: 'List the models this tenant may use',
    description:
      "The catalog models the tenant's plan allows, with context window and USD prices per million tokens.",
    tags,
    security: 'apiKey' as const,
  };
  const getDoc = {
    summary: 'Describe one model (ids contain slashes)',
    description: 'One model of the catalog; a model the tenant may not use answers 404 `model_not_found`.',
    tags,
    security: 'apiKey' as const,
  };
  app.get(
    '/v1/models',
    { preHandler, config: { openapi: { ...listDoc, response: modelListSchema } } },
    async (request) => ({
      object: 'list',
      data: deps.catalog.forTenant(request.auth!.tenant).map((m) => deps.catalog.describe(m)),
    }),
  );
  // Model ids contain slashes (`qwen/qwen3-8b`), so the id is the rest of the path.
  app.get<{ Params: { '*': string } }>(
    '/v1/models/*',
    { preHandler, config: { openapi: { ...getDoc, response: modelObjectSchema } } },
    async (request) => {
      // The router has already percent-decoded the wildcard.
      const id = request.params['*'];
      return deps.catalog.describe(deps.catalog.resolve(request.auth!.tenant, id));
    },
  );
}
