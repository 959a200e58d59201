import type { Db } from '../shared/db.js';
import { ApiError } from '../shared/errors.js';
import { API_KEY_PREFIX, hashApiKey, isWellFormedApiKey, sameHash } from './api-key-format.js';
import { type ApiKeyRecord, findApiKeyByHash, touchApiKey } from './api-key-store.js';
import { findTenant, type Tenant } from './tenant-store.js';

/** Who is calling: the tenant and the key used. */
export interface AuthContext {
  tenant: Tenant;
  /** The key; for an OAuth access token a stand-in for the authorized app, with the grant's id. */
  key: ApiKeyRecord;
  /** Set when the caller presented an OAuth access token instead of a key. */
  oauth?: OAuthAccess;
}

/** What an OAuth access token allows: the app's grant and the scopes approved for it. */
export interface OAuthAccess {
  grantId: string;
  clientId: string;
  scopes: readonly string[];
}

/** Resolves OAuth access tokens (the authorization server's store), for the same cache as keys. */
export interface AccessTokenResolver {
  /** The caller of a live token, or undefined when it is unknown, expired or revoked. */
  resolve(token: string): Promise<{ auth: AuthContext; expiresAt: number } | undefined>;
  /** Records that the app was used (informational, at most once a minute per grant). */
  touch(grantId: string, at: number): Promise<void>;
}

interface CacheEntry {
  auth: AuthContext;
  expiresAt: number;
  /** An OAuth access token (its use is recorded by the token store), not a key. */
  token: boolean;
}

// last_used_at is informational; writing it at most once a minute keeps the hot path off the database.
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Verifies API keys. Verified keys are cached in process for `ttlMs`; rotation, revocation and tenant
 * changes call `invalidate*` so the cache never outlives a revocation in this process.
 */
export class ApiKeyAuthenticator {
  /**
   * Verified credentials keyed by the string presented, so a hit is one map lookup: no shape check,
   * checksum or hash. Only credentials that verified are kept, each for at most `ttlMs`; a hash-table
   * lookup leaks nothing byte by byte, so it needs no constant-time comparison.
   */
  private readonly cache = new Map<string, CacheEntry>();
  private readonly lastTouched = new Map<string, number>();
  private tokens: AccessTokenResolver | undefined;

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
    private readonly onBackgroundError: (err: unknown) => void = () => {},
  ) {}

  /** From now on, bearer values that are not keys are checked as OAuth access tokens. */
  acceptAccessTokens(resolver: AccessTokenResolver): void {
    this.tokens = resolver;
  }

  /** Resolves a raw key (or OAuth access token) to its tenant; throws 401/403 ApiErrors. */
  async authenticate(rawKey: string | undefined): Promise<AuthContext> {
    if (!rawKey)
      throw new ApiError(
        'missing_api_key',
        'You did not provide an API key. Send it as "Authorization: Bearer sk-simo-…" or "X-API-Key: sk-simo-…".',
      );
    const now = Date.now();
    const cached = this.cache.get(rawKey);
    if (cached !== undefined) {
      if (cached.expiresAt > now) return this.admit(cached.auth, cached.token, now);
      this.cache.delete(rawKey);
    }
    if (!isWellFormedApiKey(rawKey)) {
      if (rawKey.startsWith(API_KEY_PREFIX)) throw invalidKey();
      return this.authenticateToken(rawKey, now);
    }
    const hash = hashApiKey(rawKey);
    const key = await findApiKeyByHash(this.db, hash);
    if (!key || key.revokedAt !== null || !sameHash(key.hash, hash)) throw invalidKey();
    const tenant = await findTenant(this.db, key.tenantId);
    if (!tenant) throw invalidKey();
    const auth = { tenant, key };
    if (this.ttlMs > 0) this.cache.set(rawKey, { auth, expiresAt: now + this.ttlMs, token: false });
    return this.admit(auth, false, now);
  }

  /**
   * An OAuth access token: cached like a key (never past its expiry) and dropped from the cache by the
   * same revocation events, keyed by the grant id its stand-in key carries.
   */
  private async authenticateToken(token: string, now: number): Promise<AuthContext> {
    if (!this.tokens || token.length > 512) throw invalidKey();
    const found = await this.tokens.resolve(token);
    if (!found) throw invalidToken();
    if (this.ttlMs > 0)
      this.cache.set(token, {
        auth: found.auth,
        expiresAt: Math.min(now + this.ttlMs, found.expiresAt),
        token: true,
      });
    return this.admit(found.auth, true, now);
  }

  /** Refuses a suspended tenant; records the credential's use at most once a minute. */
  private admit(auth: AuthContext, token: boolean, now: number): AuthContext {
    if (auth.tenant.suspended)
      throw new ApiError('tenant_suspended', 'This account is suspended. Contact support.');
    const keyId = auth.key.id;
    const last = this.lastTouched.get(keyId) ?? 0;
    if (now - last >= TOUCH_INTERVAL_MS) {
      this.lastTouched.set(keyId, now);
      const touched = token ? this.tokens?.touch(keyId, now) : touchApiKey(this.db, keyId, now);
      touched?.catch(this.onBackgroundError);
    }
    return auth;
  }

  /** Drops a key from the cache at once (rotation, revocation). */
  invalidateKey(keyId: string): void {
    for (const [presented, entry] of this.cache)
      if (entry.auth.key.id === keyId) this.cache.delete(presented);
  }

  /** Drops every cached key of a tenant (plan, entitlement or suspension changes). */
  invalidateTenant(tenantId: string): void {
    for (const [presented, entry] of this.cache)
      if (entry.auth.tenant.id === tenantId) this.cache.delete(presented);
  }

  clear(): void {
    this.cache.clear();
  }
}

const invalidKey = () =>
  new ApiError('invalid_api_key', 'Incorrect API key provided. You can find your API keys in the dashboard.');

const invalidToken = () =>
  new ApiError(
    'invalid_api_key',
    'The access token is invalid, expired or revoked. Authorize again, or use an API key from the dashboard.',
  );

/** Reads the key from `Authorization: Bearer …` or `X-API-Key`. */
export function extractApiKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    // The usual `Bearer <token>`, nothing around it to trim, needs no regex.
    if (
      auth.startsWith('Bearer ') &&
      visible(auth.charCodeAt(7)) &&
      visible(auth.charCodeAt(auth.length - 1))
    )
      return auth.slice(7);
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match) return match[1]!.trim();
  }
  const xKey = headers['x-api-key'];
  return typeof xKey === 'string' && xKey.trim() !== '' ? xKey.trim() : undefined;
}

/** A printable ASCII character: never whitespace to `trim` or `\s`. */
const visible = (code: number): boolean => code > 32 && code < 127;
