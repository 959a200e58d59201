import type { Db } from '../shared/db.js';
import { ApiError } from '../shared/errors.js';
import { hashApiKey, isWellFormedApiKey, sameHash } from './api-key-format.js';
import { type ApiKeyRecord, findApiKeyByHash, touchApiKey } from './api-key-store.js';
import { findTenant, type Tenant } from './tenant-store.js';

/** Who is calling: the tenant and the key used. */
export interface AuthContext {
  tenant: Tenant;
  key: ApiKeyRecord;
}

interface CacheEntry {
  auth: AuthContext;
  expiresAt: number;
}

// last_used_at is informational; writing it at most once a minute keeps the hot path off the database.
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Verifies API keys. Verified keys are cached in process for `ttlMs`; rotation, revocation and tenant
 * changes call `invalidate*` so the cache never outlives a revocation in this process.
 */
export class ApiKeyAuthenticator {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly lastTouched = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
    private readonly onBackgroundError: (err: unknown) => void = () => {},
  ) {}

  /** Resolves a raw key to its tenant; throws 401/403 ApiErrors. */
  async authenticate(rawKey: string | undefined): Promise<AuthContext> {
    if (!rawKey)
      throw new ApiError(
        'missing_api_key',
        'You did not provide an API key. Send it as "Authorization: Bearer sk-simo-…" or "X-API-Key: sk-simo-…".',
      );
    if (!isWellFormedApiKey(rawKey)) throw invalidKey();
    const hash = hashApiKey(rawKey);
    const now = Date.now();
    const cached = this.cache.get(hash);
    let auth: AuthContext;
    if (cached && cached.expiresAt > now && sameHash(cached.auth.key.hash, hash)) {
      auth = cached.auth;
    } else {
      const key = await findApiKeyByHash(this.db, hash);
      if (!key || key.revokedAt !== null || !sameHash(key.hash, hash)) {
        this.cache.delete(hash);
        throw invalidKey();
      }
      const tenant = await findTenant(this.db, key.tenantId);
      if (!tenant) throw invalidKey();
      auth = { tenant, key };
      if (this.ttlMs > 0) this.cache.set(hash, { auth, expiresAt: now + this.ttlMs });
    }
    if (auth.tenant.suspended)
      throw new ApiError('tenant_suspended', 'This account is suspended. Contact support.');
    this.touch(auth.key.id, now);
    return auth;
  }

  /** Drops a key from the cache at once (rotation, revocation). */
  invalidateKey(keyId: string): void {
    for (const [hash, entry] of this.cache) if (entry.auth.key.id === keyId) this.cache.delete(hash);
  }

  /** Drops every cached key of a tenant (plan, entitlement or suspension changes). */
  invalidateTenant(tenantId: string): void {
    for (const [hash, entry] of this.cache) if (entry.auth.tenant.id === tenantId) this.cache.delete(hash);
  }

  clear(): void {
    this.cache.clear();
  }

  private touch(keyId: string, now: number): void {
    const last = this.lastTouched.get(keyId) ?? 0;
    if (now - last < TOUCH_INTERVAL_MS) return;
    this.lastTouched.set(keyId, now);
    touchApiKey(this.db, keyId, now).catch(this.onBackgroundError);
  }
}

const invalidKey = () =>
  new ApiError('invalid_api_key', 'Incorrect API key provided. You can find your API keys in the dashboard.');

/** Reads the key from `Authorization: Bearer …` or `X-API-Key`. */
export function extractApiKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match) return match[1]!.trim();
  }
  const xKey = headers['x-api-key'];
  return typeof xKey === 'string' && xKey.trim() !== '' ? xKey.trim() : undefined;
}
