import { z } from 'zod';
import { formatMicros, parseUsdToMicros } from '../../shared/money.js';
import { ALL_SCOPES, type ApiKeyRecord, type KeyLimits } from '../api-key-store.js';
import { ROLES } from '../roles.js';

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
  created_by: z
    .string()
    .nullable()
    .describe('The member who created the key; null for keys made with the organization'),
  role: z.enum(ROLES).describe("The role the key acts with on /admin/*: its creator's when it was created"),
  spend_limit: z
    .object({ usd: z.string(), period: z.enum(['day', 'month']) })
    .nullable()
    .describe('Spend budget of this key per UTC day or month; over it the key gets 402 key_budget_exceeded'),
  rpm: z.number().int().nullable().describe("Requests per minute of this key, below the plan's"),
  tpm: z.number().int().nullable().describe("Tokens per minute of this key, below the plan's"),
});
export type ApiKeyView = z.infer<typeof apiKeySchema>;

export const apiKeyListSchema = z.object({ object: z.literal('list'), data: z.array(apiKeySchema) });

/** `{"usd": "0.01", "period": "day"}`: a key's spend budget; null removes it. */
export const spendLimitSchema = z
  .object({
    usd: z
      .union([z.string(), z.number()])
      .refine((v) => {
        const micros = parseUsdToMicros(v);
        return micros !== null && micros > 0;
      }, 'must be a positive USD amount with at most 6 decimals')
      .describe('USD, e.g. "0.01"'),
    period: z.enum(['day', 'month']).describe('Reset at 00:00 UTC each day, or on the 1st of each month'),
  })
  .nullable();

const keyLimitFields = {
  spend_limit: spendLimitSchema.optional(),
  rpm: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .nullable()
    .optional()
    .describe("Requests per minute, below the plan's"),
  tpm: z
    .number()
    .int()
    .min(1)
    .max(1_000_000_000)
    .nullable()
    .optional()
    .describe("Tokens per minute, below the plan's"),
};

export const createKeyRequestSchema = z.object({
  name: z.string().trim().min(1).max(100).optional(),
  ...keyLimitFields,
  scopes: z
    .array(z.enum(ALL_SCOPES as ['inference', 'admin']))
    .min(1)
    .max(2)
    .optional()
    .describe('Default: ["inference","admin"]'),
});

export const updateKeyRequestSchema = z.object({
  name: z.string().trim().min(1).max(100).optional(),
  ...keyLimitFields,
});

/** Limits from a create or update body, applied over `base`; absent fields keep their value. */
export function limitsFrom(
  body: {
    spend_limit?: z.infer<typeof spendLimitSchema> | undefined;
    rpm?: number | null | undefined;
    tpm?: number | null | undefined;
  },
  base: KeyLimits,
): KeyLimits {
  const limits = { ...base };
  if (body.spend_limit === null) {
    limits.spendLimitMicros = null;
    limits.spendPeriod = null;
  } else if (body.spend_limit !== undefined) {
    limits.spendLimitMicros = parseUsdToMicros(body.spend_limit.usd);
    limits.spendPeriod = body.spend_limit.period;
  }
  if (body.rpm !== undefined) limits.rpm = body.rpm;
  if (body.tpm !== undefined) limits.tpm = body.tpm;
  return limits;
}

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
    created_by: k.createdBy ?? null,
    role: k.role ?? 'owner',
    spend_limit:
      k.limits?.spendLimitMicros != null && k.limits.spendPeriod
        ? { usd: formatMicros(k.limits.spendLimitMicros), period: k.limits.spendPeriod }
        : null,
    rpm: k.limits?.rpm ?? null,
    tpm: k.limits?.tpm ?? null,
  };
}

/** `GET /admin/keys` as the API answers it and the dashboard lists it. */
export type ApiKeyList = z.infer<typeof apiKeyListSchema>;
