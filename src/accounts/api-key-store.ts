import type { Db } from '../shared/db.js';
import type { ApiKeyRow } from '../storage/tables.js';

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
}

export const apiKeyFromRow = (row: ApiKeyRow): ApiKeyRecord => ({
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
});

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
