import type { Db } from '../shared/db.js';
import type { TenantRow } from '../storage/tables.js';

/** A tenant as the app sees it. */
export interface Tenant {
  id: string;
  name: string;
  email: string;
  plan: string;
  /** Negotiated requests per minute, overriding the plan's. */
  rpmOverride: number | null;
  /** Public model ids the tenant may use; null means the whole catalog. */
  allowedModels: string[] | null;
  suspended: boolean;
  createdAt: number;
}

export const tenantFromRow = (row: TenantRow): Tenant => ({
  id: row.id,
  name: row.name,
  email: row.email,
  plan: row.plan,
  rpmOverride: row.rpm_override,
  allowedModels: row.allowed_models ? (JSON.parse(row.allowed_models) as string[]) : null,
  suspended: row.suspended === 1,
  createdAt: Number(row.created_at),
});

export async function insertTenant(db: Db, t: Tenant): Promise<void> {
  await db
    .insertInto('tenants')
    .values({
      id: t.id,
      name: t.name,
      email: t.email,
      plan: t.plan,
      rpm_override: t.rpmOverride,
      allowed_models: t.allowedModels ? JSON.stringify(t.allowedModels) : null,
      suspended: t.suspended ? 1 : 0,
      created_at: t.createdAt,
      updated_at: t.createdAt,
    })
    .execute();
}

export async function findTenant(db: Db, id: string): Promise<Tenant | undefined> {
  const row = await db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? tenantFromRow(row) : undefined;
}

/** Whether a model is in the tenant's entitlements. */
export const tenantMayUse = (tenant: Tenant, modelId: string) =>
  tenant.allowedModels === null || tenant.allowedModels.includes(modelId);

/** Tenants ordered by id; `after` is the last id already seen. */
export async function listTenants(
  db: Db,
  page: { limit: number; after?: string | undefined },
): Promise<{ tenants: Tenant[]; hasMore: boolean }> {
  let query = db
    .selectFrom('tenants')
    .selectAll()
    .orderBy('id', 'asc')
    .limit(page.limit + 1);
  if (page.after !== undefined) query = query.where('id', '>', page.after);
  const rows = await query.execute();
  return { tenants: rows.slice(0, page.limit).map(tenantFromRow), hasMore: rows.length > page.limit };
}

/** The settings the operator can change on a tenant. */
export interface TenantSettings {
  plan?: string;
  rpmOverride?: number | null;
  allowedModels?: string[] | null;
  suspended?: boolean;
  name?: string;
}

export async function updateTenant(db: Db, id: string, s: TenantSettings, at = Date.now()): Promise<void> {
  await db
    .updateTable('tenants')
    .set({
      ...(s.plan !== undefined ? { plan: s.plan } : {}),
      ...(s.rpmOverride !== undefined ? { rpm_override: s.rpmOverride } : {}),
      ...(s.allowedModels !== undefined
        ? { allowed_models: s.allowedModels === null ? null : JSON.stringify(s.allowedModels) }
        : {}),
      ...(s.suspended !== undefined ? { suspended: s.suspended ? 1 : 0 } : {}),
      ...(s.name !== undefined ? { name: s.name } : {}),
      updated_at: at,
    })
    .where('id', '=', id)
    .execute();
}
