import type { Db } from '../shared/db.js';
import type { ApiKeyRow } from '../storage/tables.js';
import { isRole, type Role } from './roles.js';

export type ApiKeyScope = 'inference' | 'admin';
export const ALL_SCOPES: ApiKeyScope[] = ['inference', 'admin'];

/** What is known about a key, without the key itself. */
export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  name: string;
  hash: string;
  prefix: string;
  last4: string;
  scopes: ApiKeyScope[];
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
  /** The member who created the key (for a session's stand-in key: the signed-in user). */
  createdBy?: string | null;
  /** The role the key acts with on `/admin/*`; absent means `owner` (keys made with the organization). */
  role?: Role;
  /** The key's own limits, below the organization's. */
  limits?: KeyLimits;
}

export type SpendPeriod = 'day' | 'month';

/** Limits of one key: a spend budget per UTC day or month, requests and tokens per minute. */
export interface KeyLimits {
  spendLimitMicros: number | null;
  spendPeriod: SpendPeriod | null;
  rpm: number | null;
  tpm: number | null;
}

export const NO_KEY_LIMITS: KeyLimits = { spendLimitMicros: null, spendPeriod: null, rpm: null, tpm: null };

/** The role a key acts with. */
export const keyRole = (key: ApiKeyRecord): Role => key.role ?? 'owner';

export function apiKeyFromRow(row: ApiKeyRow): ApiKeyRecord {
  const record: ApiKeyRecord = {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    hash: row.key_hash,
    prefix: row.prefix,
    last4: row.last4,
    scopes: JSON.parse(row.scopes) as ApiKeyScope[],
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
  // Organization-made keys without limits read back exactly as they were written.
  if (row.created_by !== null) record.createdBy = row.created_by;
  if (isRole(row.role) && row.role !== 'owner') record.role = row.role;
  const limits: KeyLimits = {
    spendLimitMicros: row.spend_limit_micros === null ? null : Number(row.spend_limit_micros),
    spendPeriod: row.spend_period === 'day' || row.spend_period === 'month' ? row.spend_period : null,
    rpm: row.rpm_limit,
    tpm: row.tpm_limit,
  };
  if (Object.values(limits).some((v) => v !== null)) record.limits = limits;
  return record;
}

export async function insertApiKey(db: Db, k: ApiKeyRecord): Promise<void> {
  await db
    .insertInto('api_keys')
    .values({
      id: k.id,
      tenant_id: k.tenantId,
      name: k.name,
      key_hash: k.hash,
      prefix: k.prefix,
      last4: k.last4,
      scopes: JSON.stringify(k.scopes),
      created_at: k.createdAt,
      last_used_at: k.lastUsedAt,
      revoked_at: k.revokedAt,
      created_by: k.createdBy ?? null,
      role: k.role ?? 'owner',
      spend_limit_micros: k.limits?.spendLimitMicros ?? null,
      spend_period: k.limits?.spendPeriod ?? null,
      rpm_limit: k.limits?.rpm ?? null,
      tpm_limit: k.limits?.tpm ?? null,
    })
    .execute();
}

export async function findApiKeyByHash(db: Db, hash: string): Promise<ApiKeyRecord | undefined> {
  const row = await db.selectFrom('api_keys').selectAll().where('key_hash', '=', hash).executeTakeFirst();
  return row ? apiKeyFromRow(row) : undefined;
}

export async function touchApiKey(db: Db, id: string, at: number): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
}
