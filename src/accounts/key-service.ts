import { enqueueEvent } from '../events/outbox.js';
import type { Db } from '../shared/db.js';
import { notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { generateApiKey } from './api-key-format.js';
import { type ApiKeyRecord, type ApiKeyScope, apiKeyFromRow, insertApiKey } from './api-key-store.js';
import { recordAudit } from './audit-log.js';
import type { RevocationBus } from './revocation-bus.js';

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

  /** Every key of the tenant, newest first, revoked ones included (with their status). */
  async list(tenantId: string): Promise<ApiKeyRecord[]> {
    const rows = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return rows.map(apiKeyFromRow);
  }

  async create(
    tenantId: string,
    input: { name: string; scopes: ApiKeyScope[] },
    by: KeyActor,
  ): Promise<IssuedKey> {
    const issued = newKey(tenantId, input.name, input.scopes);
    await this.db.transaction().execute(async (trx) => {
      await insertApiKey(trx, issued.record);
      await recordAudit(trx, {
        tenantId,
        actor: by.actor,
        action: 'key.created',
        target: issued.record.id,
        ip: by.ip,
        detail: { name: input.name, scopes: input.scopes, prefix: issued.record.prefix },
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
      const next = newKey(tenantId, old.name, old.scopes, now);
      // The revoked_at guard makes two concurrent rotations of one key produce one winner.
      const revoked = await trx
        .updateTable('api_keys')
        .set({ revoked_at: now })
        .where('id', '=', old.id)
        .where('tenant_id', '=', tenantId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(revoked.numUpdatedRows) !== 1) throw keyNotFound();
      await insertApiKey(trx, next.record);
      const detail = {
        old_key_id: old.id,
        new_key_id: next.record.id,
        name: old.name,
        prefix: next.record.prefix,
        last4: next.record.last4,
      };
      await recordAudit(trx, {
        tenantId,
        actor: by.actor,
        action: 'key.rotated',
        target: old.id,
        ip: by.ip,
        detail,
      });
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

  /** Revokes a key for good; it answers 401 from the moment this returns. */
  async revoke(tenantId: string, keyId: string, by: KeyActor): Promise<void> {
    const now = Date.now();
    await this.db.transaction().execute(async (trx) => {
      const key = await this.activeKey(trx, tenantId, keyId);
      await trx
        .updateTable('api_keys')
        .set({ revoked_at: now })
        .where('id', '=', key.id)
        .where('tenant_id', '=', tenantId)
        .execute();
      await recordAudit(trx, {
        tenantId,
        actor: by.actor,
        action: 'key.revoked',
        target: key.id,
        ip: by.ip,
        detail: { name: key.name, prefix: key.prefix },
      });
    });
    await this.revocations.publish({ kind: 'key', keyId });
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

function newKey(tenantId: string, name: string, scopes: ApiKeyScope[], now = Date.now()): IssuedKey {
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
    },
  };
}
