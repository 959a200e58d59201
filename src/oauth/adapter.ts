import { createHash } from 'node:crypto';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Db } from '../shared/db.js';
import type { SecretBox } from '../webhooks/secret-box.js';

/** SHA-256 hex: ids, grant ids, uids and user codes are stored only this way (a token's id is the token). */
export const oauthHash = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

// Expired rows are deleted now and then by whichever process writes, not on every write.
const SWEEP_INTERVAL_MS = 10 * 60_000;

/**
 * oidc-provider's storage on our database: one table for every model, on SQLite and PostgreSQL
 * alike. Every id is stored as its hash, so a database read gives no usable token or code; a
 * client's secret (confidential clients) is sealed with the server secret, because the provider
 * must compare it in clear.
 */
/** What must happen, before the provider answers, when it ends a grant or deletes access tokens. */
export interface AdapterHooks {
  /** The provider deleted a grant (a reused code or refresh token, a revoked refresh token). */
  grantDestroyed(grantHash: string): Promise<void>;
  /** Access tokens of a grant were deleted: cached copies must go, on every replica. */
  tokensDeleted(grantHash: string): Promise<void>;
}

export function databaseAdapter(
  db: Db,
  secrets: SecretBox,
  hooks: AdapterHooks,
  /** The error for a code or refresh token another request consumed first (the provider's invalid_grant). */
  alreadyConsumed: (model: string) => Error,
  now: () => number = Date.now,
) {
  let lastSweep = 0;
  const sweep = async () => {
    const at = now();
    if (at - lastSweep < SWEEP_INTERVAL_MS) return;
    lastSweep = at;
    await db.deleteFrom('oauth_records').where('expires_at', '<', at).execute();
  };

  const seal = (model: string, payload: AdapterPayload): AdapterPayload =>
    model === 'Client' && typeof payload.client_secret === 'string'
      ? { ...payload, client_secret: secrets.seal(payload.client_secret) }
      : payload;
  const open = (model: string, payload: AdapterPayload): AdapterPayload =>
    model === 'Client' && typeof payload.client_secret === 'string'
      ? { ...payload, client_secret: secrets.open(payload.client_secret) }
      : payload;

  return class DatabaseAdapter implements Adapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void> {
      const row = {
        payload: JSON.stringify(seal(this.model, payload)),
        grant_hash: typeof payload.grantId === 'string' ? oauthHash(payload.grantId) : null,
        uid_hash: typeof payload.uid === 'string' ? oauthHash(payload.uid) : null,
        user_code_hash: typeof payload.userCode === 'string' ? oauthHash(payload.userCode) : null,
        expires_at: expiresIn ? now() + expiresIn * 1000 : null,
        consumed_at: null,
      };
      await db
        .insertInto('oauth_records')
        .values({ model: this.model, id_hash: oauthHash(id), ...row })
        // Saving again never clears a mark: a consumed code stays consumed, a decided consent decided.
        .onConflict((oc) => oc.columns(['model', 'id_hash']).doUpdateSet(withoutMark(row)))
        .execute();
      await sweep();
    }

    find(id: string): Promise<AdapterPayload | undefined> {
      return this.findBy('id_hash', oauthHash(id));
    }

    findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return this.findBy('uid_hash', oauthHash(uid));
    }

    findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return this.findBy('user_code_hash', oauthHash(userCode));
    }

    /**
     * The provider checks `consumed` and then calls this before it issues tokens: only the request
     * that marks the row wins, so parallel requests with one code or refresh token get tokens once.
     */
    async consume(id: string): Promise<void> {
      const res = await db
        .updateTable('oauth_records')
        .set({ consumed_at: now() })
        .where('model', '=', this.model)
        .where('id_hash', '=', oauthHash(id))
        .where('consumed_at', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) throw alreadyConsumed(this.model);
    }

    async destroy(id: string): Promise<void> {
      const idHash = oauthHash(id);
      const row =
        this.model === 'AccessToken'
          ? await db
              .selectFrom('oauth_records')
              .select('grant_hash')
              .where('model', '=', this.model)
              .where('id_hash', '=', idHash)
              .executeTakeFirst()
          : undefined;
      await db
        .deleteFrom('oauth_records')
        .where('model', '=', this.model)
        .where('id_hash', '=', idHash)
        .execute();
      if (this.model === 'Grant') await hooks.grantDestroyed(idHash);
      if (row?.grant_hash) await hooks.tokensDeleted(row.grant_hash);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      const grantHash = oauthHash(grantId);
      await db
        .deleteFrom('oauth_records')
        .where('model', '=', this.model)
        .where('grant_hash', '=', grantHash)
        .execute();
      if (this.model === 'AccessToken') await hooks.tokensDeleted(grantHash);
    }

    private async findBy(
      column: 'id_hash' | 'uid_hash' | 'user_code_hash',
      hash: string,
    ): Promise<AdapterPayload | undefined> {
      const row = await db
        .selectFrom('oauth_records')
        .select(['payload', 'expires_at', 'consumed_at'])
        .where('model', '=', this.model)
        .where(column, '=', hash)
        .executeTakeFirst();
      if (!row) return undefined;
      if (row.expires_at !== null && Number(row.expires_at) <= now()) return undefined;
      const payload = open(this.model, JSON.parse(row.payload) as AdapterPayload);
      // The provider reads `consumed` to detect a reused code or refresh token; on an interaction the
      // mark only says its consent was decided (claimInteraction).
      return row.consumed_at === null || this.model === 'Interaction'
        ? payload
        : { ...payload, consumed: Math.floor(Number(row.consumed_at) / 1000) };
    }
  };
}

const withoutMark = <T extends { consumed_at: unknown }>({ consumed_at: _, ...rest }: T) => rest;

/**
 * Marks an authorization interaction decided; false when another request decided it first (a
 * double-submitted consent form), however long after the first it comes.
 */
export async function claimInteraction(db: Db, uid: string, at: number): Promise<boolean> {
  const res = await db
    .updateTable('oauth_records')
    .set({ consumed_at: at })
    .where('model', '=', 'Interaction')
    .where('id_hash', '=', oauthHash(uid))
    .where('consumed_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** Deletes every record of a grant, of every model, and the grant itself. */
export async function deleteGrantRecords(db: Db, grantHash: string): Promise<void> {
  await db.deleteFrom('oauth_records').where('grant_hash', '=', grantHash).execute();
  await db
    .deleteFrom('oauth_records')
    .where('model', '=', 'Grant')
    .where('id_hash', '=', grantHash)
    .execute();
}
