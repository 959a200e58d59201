import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Container } from '../../container.js';
import { callingKeyId, tenantActor, tenantAuth } from '../../http/tenant-auth.js';
import { parseBody } from '../../http/validation.js';
import { ApiError } from '../../shared/errors.js';
import { ALL_SCOPES } from '../api-key-store.js';
import { listApiKeys } from '../key-queries.js';
import type { KeyActor } from '../key-service.js';
import {
  apiKeyListSchema,
  apiKeyView,
  createKeyRequestSchema,
  deletedKeySchema,
  issuedKeySchema,
  rotatedKeySchema,
  rotateKeyRequestSchema,
} from './key-schemas.js';

const keyIdParams = z.object({ id: z.string().max(64) });
const TAGS = ['API keys'];

const actorOf = (request: FastifyRequest): KeyActor => ({ actor: tenantActor(request), ip: request.ip });
// A POST without a body (no Content-Type) means "all defaults".
const bodyOrEmpty = (request: FastifyRequest) => request.body ?? {};

/** Tenant self-service key management: `/admin/keys*` (API key with `admin` scope, or session). */
export function registerKeyRoutes(app: FastifyInstance, c: Container): void {
  const preHandler = tenantAuth(c);

  app.get(
    '/admin/keys',
    {
      preHandler,
      config: {
        openapi: {
          summary: "List the tenant's API keys (never the keys themselves)",
          tags: TAGS,
          security: 'tenant',
          response: apiKeyListSchema,
        },
      },
    },
    async (request) => listApiKeys(c, request.auth!.tenant.id),
  );

  app.post(
    '/admin/keys',
    {
      preHandler,
      config: {
        openapi: {
          summary: 'Create an API key (shown once)',
          tags: TAGS,
          security: 'tenant',
          body: createKeyRequestSchema,
          response: issuedKeySchema,
          responseStatus: 201,
        },
      },
    },
    async (request, reply) => {
      const body = parseBody(createKeyRequestSchema, bodyOrEmpty(request));
      const scopes = body.scopes ? [...new Set(body.scopes)] : ALL_SCOPES;
      const issued = await c.keys.create(
        request.auth!.tenant.id,
        { name: body.name ?? 'API key', scopes },
        actorOf(request),
      );
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ ...apiKeyView(issued.record), api_key: issued.apiKey });
    },
  );

  app.post(
    '/admin/keys/rotate',
    {
      preHandler,
      config: {
        openapi: {
          summary: 'Rotate a key: the new key is shown once, the old one is refused at once',
          tags: TAGS,
          security: 'tenant',
          body: rotateKeyRequestSchema,
          response: rotatedKeySchema,
        },
      },
    },
    async (request, reply) => {
      const body = parseBody(rotateKeyRequestSchema, bodyOrEmpty(request));
      const keyId = body.key_id ?? callingKeyId(request);
      if (!keyId)
        throw new ApiError(
          'missing_required_parameter',
          "Missing required parameter: 'key_id' (a dashboard session has no calling key to rotate).",
          'key_id',
        );
      // rotate() revokes the old key and tells every replica before it returns, so the old key is
      // already refused when this response leaves.
      const rotated = await c.keys.rotate(request.auth!.tenant.id, keyId, actorOf(request));
      return reply
        .header('cache-control', 'no-store')
        .send({ ...apiKeyView(rotated.record), api_key: rotated.apiKey, rotated_key_id: rotated.oldKeyId });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/admin/keys/:id',
    {
      preHandler,
      config: {
        openapi: {
          summary: 'Revoke an API key',
          tags: TAGS,
          security: 'tenant',
          response: deletedKeySchema,
        },
      },
    },
    async (request) => {
      const { id } = parseBody(keyIdParams, request.params);
      await c.keys.revoke(request.auth!.tenant.id, id, actorOf(request));
      return { id, object: 'api_key' as const, deleted: true as const };
    },
  );
}
