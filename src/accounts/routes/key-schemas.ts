import { z } from 'zod';
import { ALL_SCOPES, type ApiKeyRecord } from '../api-key-store.js';

const unixSeconds = (ms: number) => Math.floor(ms / 1000);

export const apiKeySchema = z.object({
  id: z.string(),
  object: z.literal('api_key'),
  name: z.string(),
  prefix: z.string().describe('First characters of the key, e.g. sk-simo-AbCd'),
  last4: z.string(),
  scopes: z.array(z.enum(['inference', 'admin'])),
  status: z.enum(['active', 'revoked']),
  created: z.number().int().describe('Unix seconds'),
  last_used: z.number().int().nullable().describe('Unix seconds; updated at most once a minute'),
  revoked: z.number().int().nullable(),
});
export type ApiKeyView = z.infer<typeof apiKeySchema>;

export const apiKeyListSchema = z.object({ object: z.literal('list'), data: z.array(apiKeySchema) });

export const createKeyRequestSchema = z.object({
  name: z.string().trim().min(1).max(100).optional(),
  scopes: z
    .array(z.enum(ALL_SCOPES as ['inference', 'admin']))
    .min(1)
    .max(2)
    .optional()
    .describe('Default: ["inference","admin"]'),
});

export const issuedKeySchema = apiKeySchema.extend({
  api_key: z.string().describe('The new key: shown once, only its hash is stored'),
});

export const rotateKeyRequestSchema = z.object({
  key_id: z.string().max(64).optional().describe('Default: the key making this call'),
});

export const rotatedKeySchema = issuedKeySchema.extend({ rotated_key_id: z.string() });

export const deletedKeySchema = z.object({
  id: z.string(),
  object: z.literal('api_key'),
  deleted: z.literal(true),
});

export function apiKeyView(k: ApiKeyRecord): ApiKeyView {
  return {
    id: k.id,
    object: 'api_key',
    name: k.name,
    prefix: k.prefix,
    last4: k.last4,
    scopes: k.scopes,
    status: k.revokedAt === null ? 'active' : 'revoked',
    created: unixSeconds(k.createdAt),
    last_used: k.lastUsedAt === null ? null : unixSeconds(k.lastUsedAt),
    revoked: k.revokedAt === null ? null : unixSeconds(k.revokedAt),
  };
}

/** `GET /admin/keys` as the API answers it and the dashboard lists it. */
export type ApiKeyList = z.infer<typeof apiKeyListSchema>;
