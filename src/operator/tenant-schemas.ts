import { z } from 'zod';
import type { Tenant } from '../accounts/tenant-store.js';

export const tenantSchema = z.object({
  id: z.string(),
  object: z.literal('tenant'),
  name: z.string(),
  email: z.string(),
  plan: z.string(),
  rpm: z.number().int().nullable().describe("Negotiated requests per minute; null means the plan's"),
  effective_rpm: z.number().int(),
  models: z.array(z.string()).nullable().describe('Allowed model ids; null means the whole catalog'),
  suspended: z.boolean(),
  created: z.number().int().describe('Unix seconds'),
});
export type TenantView = z.infer<typeof tenantSchema>;

export const tenantListSchema = z.object({
  object: z.literal('list'),
  data: z.array(tenantSchema),
  has_more: z.boolean(),
  next_cursor: z.string().nullable(),
});

export const tenantListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  after: z.string().max(64).optional().describe('next_cursor of the previous page'),
});

export const createTenantRequestSchema = z.object({
  email: z.string().max(320),
  plan: z.string().max(64).optional(),
  name: z.string().max(200).optional(),
});

export const createdTenantSchema = z.object({
  tenant: tenantSchema,
  key_id: z.string(),
  api_key: z.string().describe('Shown once; only its hash is stored'),
});

export const updateTenantRequestSchema = z
  .object({
    plan: z.string().max(64).optional(),
    rpm: z.number().int().min(1).max(10_000_000).nullable().optional(),
    models: z.array(z.string().max(200)).max(1000).nullable().optional(),
    suspended: z.boolean().optional(),
    name: z.string().trim().min(1).max(200).optional(),
  })
  .strict();

export const tenantIdParams = z.object({ id: z.string().max(64) });

export function tenantView(t: Tenant, plans: Record<string, { rpm: number }>): TenantView {
  return {
    id: t.id,
    object: 'tenant',
    name: t.name,
    email: t.email,
    plan: t.plan,
    rpm: t.rpmOverride,
    effective_rpm: t.rpmOverride ?? plans[t.plan]?.rpm ?? 0,
    models: t.allowedModels,
    suspended: t.suspended,
    created: Math.floor(t.createdAt / 1000),
  };
}
