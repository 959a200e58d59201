/**
 * Where cached answers live. Keys are hashes that already include the tenant; the tenant is passed
 * as well so a store can refuse to hand one tenant's entry to another, whatever the key.
 */
export interface ResponseCacheStore {
  /** The entry, if present, unexpired and stored for this tenant. */
  get(key: string, tenantId: string): Promise<string | undefined>;
  /** Stores (or replaces) an entry for `ttlMs`. */
  set(key: string, tenantId: string, entry: string, ttlMs: number): Promise<void>;
}
