import { sql } from 'kysely';
import { enqueueEvent } from '../events/outbox.js';
import type { Db } from '../shared/db.js';
import { notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { generateApiKey } from './api-key-format.js';
import {
  type ApiKeyRecord,
  type ApiKeyScope,
  apiKeyFromRow,
  insertApiKey,
  type KeyLimits,
  NO_KEY_LIMITS,
} from './api-key-store.js';
import { recordAudit } from './audit-log.js';
import type { RevocationBus } from './revocation-bus.js';
import type { Role } from './roles.js';

/** Who asks for a key change, for the audit log. */
export interface KeyActor {
  /** `user:<id>`, `key:<id>`, `operator`, `cli`. */
  actor: string;
  ip: string | null;
}

/** A key record plus the plaintext key, which is returned to the caller once and never stored. */
export interface IssuedKey {
  record: ApiKeyRecord;
  apiKey: string;
}

/**
 * Self-service key management for one tenant. Every method scopes its queries by tenant id, so a key
 * id of another tenant behaves exactly like an unknown one (404).
 */
export class KeyService {
  constructor(
    private readonly db: Db,
    private readonly revocations: RevocationBus,
  ) {}

  /**
   * Every key of the tenant, newest first, revoked ones included (with their status); with `createdBy`,
   * only the keys that member created.
   */
  async list(tenantId: string, createdBy?: string | null): Promise<ApiKeyRecord[]> {
    let query = this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc');
    if (createdBy !== undefined)
      query = createdBy === null ? query.where(sql.lit(false)) : query.where('created_by', '=', createdBy);
    const rows = await query.execute();
    return rows.map(apiKeyFromRow);
  }

  /** The key as stored, for ownership checks; 404 when unknown or of another tenant. */
  async get(tenantId: string, keyId: string): Promise<ApiKeyRecord> {
    const row = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', keyId)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    if (!row) throw keyNotFound();
    return apiKeyFromRow(row);
  }

  async create(
    tenantId: string,
    input: {
      name: string;
      scopes: ApiKeyScope[];
      /** The member creating it, and the role the key will act with. */
      createdBy?: string | null;
      role?: Role;
      limits?: KeyLimits;
    },
    by: KeyActor,
  ): Promise<IssuedKey> {
    const issued = newKey(tenantId, input.name, input.scopes, Date.now(), {
      createdBy: input.createdBy ?? null,
      role: input.role ?? 'owner',
      limits: input.limits ?? NO_KEY_LIMITS,
    });
    await this.db.transaction().execute(async (trx) => {
      await insertApiKey(trx, issued.record);
      await auditKeyChange(trx, tenantId, by, 'key.created', issued.record.id, {
        name: input.name,
        scopes: input.scopes,
        prefix: issued.record.prefix,
        role: issued.record.role,
        ...limitsDetail(issued.record.limits),
      });
    });
    return issued;
  }

  /**
   * Replaces a key by a new one with the same name and scopes. The old key is revoked in the same
   * transaction that creates the new one and records `key.rotated`; every replica is told before
   * this returns, so the old key is refused from the moment the caller sees the new one.
   */
  async rotate(tenantId: string, keyId: string, by: KeyActor): Promise<IssuedKey & { oldKeyId: string }> {
    const now = Date.now();
    const issued = await this.db.transaction().execute(async (trx) => {
      const old = await this.activeKey(trx, tenantId, keyId);
      // The new key keeps who created the old one, its role and its limits.
      const next = newKey(tenantId, old.name, old.scopes, now, {
        createdBy: old.createdBy ?? null,
        role: old.role ?? 'owner',
        limits: old.limits ?? NO_KEY_LIMITS,
      });
      // The revoked_at guard makes two concurrent rotations of one key produce one winner.
      const revoked = await trx
        .updateTable('api_keys')
        .set({ revoked_at: now, replaced_by: next.record.id })
        .where('id', '=', old.id)
        .where('tenant_id', '=', tenantId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(revoked.numUpdatedRows) !== 1) throw keyNotFound();
      await insertApiKey(trx, next.record);
      await carrySpendOver(trx, old.id, next.record.id, now);
      const detail = {
        old_key_id: old.id,
        new_key_id: next.record.id,
        name: old.name,
        prefix: next.record.prefix,
        last4: next.record.last4,
      };
      await auditKeyChange(trx, tenantId, by, 'key.rotated', old.id, detail);
      await enqueueEvent(
        trx,
        tenantId,
        'key.rotated',
        { ...detail, rotated_at: Math.floor(now / 1000) },
        now,
      );
      return next;
    });
    await this.revocations.publish({ kind: 'key', keyId });
    return { ...issued, oldKeyId: keyId };
  }

  /**
   * Changes a key's name or limits (spend budget, rpm, tpm). Every replica drops the cached key, so the
   * new limits apply from the next request.
   */
  async update(
    tenantId: string,
    keyId: string,
    change: { name?: string | undefined; limits: (current: KeyLimits) => KeyLimits },
    by: KeyActor,
  ): Promise<ApiKeyRecord> {
    return this.changeActiveKey(tenantId, keyId, async (trx, key) => {
      const before = key.limits ?? NO_KEY_LIMITS;
      const limits = change.limits(before);
      const name = change.name ?? key.name;
      await trx
        .updateTable('api_keys')
        .set({
          name,
          spend_limit_micros: limits.spendLimitMicros,
          spend_period: limits.spendPeriod,
          rpm_limit: limits.rpm,
          tpm_limit: limits.tpm,
        })
        .where('id', '=', key.id)
        .where('tenant_id', '=', tenantId)
        .execute();
      await auditKeyChange(trx, tenantId, by, 'key.updated', key.id, {
        name,
        before: limitsDetail(before),
        after: limitsDetail(limits),
      });
      return { ...key, name, limits };
    });
  }

  /** Revokes a key for good; it answers 401 from the moment this returns. */
  async revoke(tenantId: string, keyId: string, by: KeyActor): Promise<void> {
    const now = Date.now();
    await this.changeActiveKey(tenantId, keyId, async (trx, key) => {
      await trx
        .updateTable('api_keys')
        .set({ revoked_at: now })
        .where('id', '=', key.id)
        .where('tenant_id', '=', tenantId)
        .execute();
      await auditKeyChange(trx, tenantId, by, 'key.revoked', key.id, { name: key.name, prefix: key.prefix });
    });
  }

  /** Runs `change` on the active key in one transaction, then has every replica drop the cached key. */
  private async changeActiveKey<T>(
    tenantId: string,
    keyId: string,
    change: (trx: Db, key: ApiKeyRecord) => Promise<T>,
  ): Promise<T> {
    const result = await this.db
      .transaction()
      .execute(async (trx) => change(trx, await this.activeKey(trx, tenantId, keyId)));
    await this.revocations.publish({ kind: 'key', keyId });
    return result;
  }

  private async activeKey(db: Db, tenantId: string, keyId: string): Promise<ApiKeyRecord> {
    const row = await db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', keyId)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    if (!row || row.revoked_at !== null) throw keyNotFound();
    return apiKeyFromRow(row);
  }
}

const keyNotFound = () => notFound('No active API key with this id');

/**
 * The new key of a rotation starts with the old key's spend in each budget period: otherwise rotating
 * a key that reached its budget would give it a fresh one. Requests of the old key that settle later
 * add to both (`KeyBudgets` follows `replaced_by`, which the rotation set on the locked key row).
 */
async function carrySpendOver(trx: Db, oldKeyId: string, newKeyId: string, now: number): Promise<void> {
  const spent = await trx
    .selectFrom('key_spend')
    .select(['period_start', 'tenant_id', 'spent_micros'])
    .where('key_id', '=', oldKeyId)
    .execute();
  if (spent.length === 0) return;
  await trx
    .insertInto('key_spend')
    .values(spent.map((row) => ({ ...row, key_id: newKeyId, updated_at: now })))
    .execute();
}

/** The limits of a key for audit entries, only those set. */
export function limitsDetail(limits: KeyLimits | undefined): Record<string, unknown> {
  if (!limits) return {};
  const out: Record<string, unknown> = {};
  if (limits.spendLimitMicros !== null)
    out.spend_limit = { micros: limits.spendLimitMicros, period: limits.spendPeriod };
  if (limits.rpm !== null) out.rpm = limits.rpm;
  if (limits.tpm !== null) out.tpm = limits.tpm;
  return out;
}

function newKey(
  tenantId: string,
  name: string,
  scopes: ApiKeyScope[],
  now = Date.now(),
  owner: { createdBy: string | null; role: Role; limits: KeyLimits } = {
    createdBy: null,
    role: 'owner',
    limits: NO_KEY_LIMITS,
  },
): IssuedKey {
  const g = generateApiKey();
  return {
    apiKey: g.key,
    record: {
      id: newId('key'),
      tenantId,
      name,
      hash: g.hash,
      prefix: g.prefix,
      last4: g.last4,
      scopes,
      createdAt: now,
      lastUsedAt: null,
      revokedAt: null,
      ...owner,
    },
  };
}

/** Audits a change to a tenant's key made by `by`. */
async function auditKeyChange(
  trx: Db,
  tenantId: string,
  by: KeyActor,
  action: string,
  keyId: string,
  detail: Record<string, unknown>,
): Promise<void> {
  await recordAudit(trx, { tenantId, actor: by.actor, action, target: keyId, ip: by.ip, detail });
}
