import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type Authenticated, defineRoute, type Guard } from '../../http/define-route.js';
import { callerRole, callerUserId, callingKeyId, tenantActor } from '../../http/tenant-auth.js';
import { ApiError, notFound } from '../../shared/errors.js';
import { ALL_SCOPES, keyRole, NO_KEY_LIMITS } from '../api-key-store.js';
import { listApiKeys } from '../key-queries.js';
import type { KeyActor, KeyService } from '../key-service.js';
import { can, mayHoldKeyOf } from '../roles.js';
import {
  apiKeyListSchema,
  apiKeySchema,
  apiKeyView,
  createKeyRequestSchema,
  deletedKeySchema,
  issuedKeySchema,
  limitsFrom,
  rotatedKeySchema,
  rotateKeyRequestSchema,
  updateKeyRequestSchema,
} from './key-schemas.js';

const keyIdParams = z.object({ id: z.string().max(64).describe('The key id (`key_…`)') });
const TAGS = ['API keys'];

const actorOf = (request: FastifyRequest): KeyActor => ({ actor: tenantActor(request), ip: request.ip });

/**
 * Whose keys the caller may see and change: every key for owners and admins (undefined), only their
 * own for developers (their user id; null matches nothing).
 */
const keyOwnerFilter = (request: FastifyRequest): string | null | undefined =>
  can(callerRole(request), 'keys.manage') ? undefined : callerUserId(request);

/** What the key routes use. */
export interface KeyRouteDeps {
  keys: KeyService;
  /** An `admin` key or a dashboard session. */
  tenant: Guard<Authenticated>;
}

/** Tenant self-service key management: `/admin/keys*` (API key with `admin` scope, or session). */
export function registerKeyRoutes(app: FastifyInstance, { keys, tenant }: KeyRouteDeps): void {
  defineRoute(app, {
    method: 'GET',
    url: '/admin/keys',
    guard: tenant,
    doc: {
      summary: "List the tenant's API keys (never the keys themselves)",
      description:
        'Every key of the tenant, newest first, active and revoked, with its prefix, last four characters and scopes.',
      tags: TAGS,
    },
    schema: { response: { 200: apiKeyListSchema } },
    handler: async (request) => listApiKeys({ keys }, request.auth.tenant.id, keyOwnerFilter(request)),
  });

  defineRoute(app, {
    method: 'POST',
    url: '/admin/keys',
    guard: tenant,
    doc: {
      summary: 'Create an API key (shown once)',
      description:
        'Issues a new key with the given name and scopes (both scopes by default). The key is in this response only; the platform keeps its hash.',
      tags: TAGS,
    },
    // A POST without a body means "all defaults".
    bodyOptional: true,
    schema: { body: createKeyRequestSchema, response: { 201: issuedKeySchema } },
    handler: async (request, reply) => {
      const { body } = request;
      const scopes = body.scopes ? [...new Set(body.scopes)] : ALL_SCOPES;
      const limits = limitsFrom(body, NO_KEY_LIMITS);
      if (hasLimits(body) && !can(callerRole(request), 'keys.manage'))
        throw new ApiError('permission_denied', 'Only owners and admins set key limits.', 'spend_limit');
      const issued = await keys.create(
        request.auth.tenant.id,
        {
          name: body.name ?? 'API key',
          scopes,
          // The key belongs to the organization; who created it and with which role is recorded.
          createdBy: callerUserId(request),
          role: callerRole(request),
          limits,
        },
        actorOf(request),
      );
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ ...apiKeyView(issued.record), api_key: issued.apiKey });
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/admin/keys/rotate',
    guard: tenant,
    doc: {
      summary: 'Rotate a key: the new key is shown once, the old one is refused at once',
      description:
        'Replaces `key_id` (by default the key making the call) with a new key of the same name and scopes. The old key is refused on every replica before this answers.',
      tags: TAGS,
    },
    bodyOptional: true,
    schema: { body: rotateKeyRequestSchema, response: { 200: rotatedKeySchema } },
    handler: async (request, reply) => {
      const keyId = request.body.key_id ?? callingKeyId(request);
      if (!keyId)
        throw new ApiError(
          'missing_required_parameter',
          "Missing required parameter: 'key_id' (a dashboard session has no calling key to rotate).",
          'key_id',
        );
      await assertMayChange(keys, request, keyId);
      await assertMayHold(keys, request, keyId);
      // rotate() revokes the old key and tells every replica before it returns, so the old key is
      // already refused when this response leaves.
      const rotated = await keys.rotate(request.auth.tenant.id, keyId, actorOf(request));
      return reply
        .header('cache-control', 'no-store')
        .send({ ...apiKeyView(rotated.record), api_key: rotated.apiKey, rotated_key_id: rotated.oldKeyId });
    },
  });

  defineRoute(app, {
    method: 'DELETE',
    url: '/admin/keys/:id',
    guard: tenant,
    doc: {
      summary: 'Revoke an API key',
      description: 'The key is refused on every replica from the moment this answers. Revoking is final.',
      tags: TAGS,
    },
    schema: { params: keyIdParams, response: { 200: deletedKeySchema } },
    handler: async (request) => {
      const { id } = request.params;
      await assertMayChange(keys, request, id);
      await keys.revoke(request.auth.tenant.id, id, actorOf(request));
      return { id, object: 'api_key' as const, deleted: true as const };
    },
  });

  defineRoute(app, {
    method: 'PATCH',
    url: '/admin/keys/:id',
    guard: tenant,
    doc: {
      summary: "Change a key's name or limits (spend budget, rpm, tpm)",
      description:
        "Sets or removes (`null`) the spend budget of the key per UTC day or month and its own requests and tokens per minute, below the plan's. Owners and admins only.",
      tags: TAGS,
    },
    schema: { params: keyIdParams, body: updateKeyRequestSchema, response: { 200: apiKeySchema } },
    handler: async (request) => {
      const { body } = request;
      const updated = await keys.update(
        request.auth.tenant.id,
        request.params.id,
        { name: body.name, limits: (current) => limitsFrom(body, current) },
        actorOf(request),
      );
      return apiKeyView(updated);
    },
  });
}

const hasLimits = (body: { spend_limit?: unknown; rpm?: unknown; tpm?: unknown }) =>
  (body.spend_limit ?? body.rpm ?? body.tpm ?? null) !== null;

/**
 * Rotating hands out a working key with the old key's role: refused when that role is above the
 * caller's (an admin rotating an owner's key would become an owner).
 */
async function assertMayHold(keys: KeyService, request: FastifyRequest & Authenticated, keyId: string) {
  const role = callerRole(request);
  const key = await keys.get(request.auth.tenant.id, keyId);
  if (!mayHoldKeyOf(role, keyRole(key)))
    throw new ApiError(
      'permission_denied',
      `Your role (${role}) cannot rotate a key that acts as ${keyRole(key)}; you may revoke it.`,
      'key_id',
    );
}

/** A developer changes only keys they created; anyone else's key looks unknown to them (404). */
async function assertMayChange(
  keys: KeyService,
  request: FastifyRequest & Authenticated,
  keyId: string,
): Promise<void> {
  const owner = keyOwnerFilter(request);
  if (owner === undefined) return;
  const key = await keys.get(request.auth.tenant.id, keyId);
  if (owner === null || key.createdBy !== owner) throw notFound('No active API key with this id');
}
