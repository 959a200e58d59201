import type { KeyService } from './key-service.js';
import { type ApiKeyList, apiKeyView } from './routes/key-schemas.js';

/** What reading a tenant's keys needs. */
export interface KeyReaderDeps {
  keys: Pick<KeyService, 'list'>;
}

/**
 * The tenant's keys, newest first, as `GET /admin/keys` answers and the keys page lists them; with
 * `createdBy` (a member who manages only their own keys), that member's keys only.
 */
export async function listApiKeys(
  deps: KeyReaderDeps,
  tenantId: string,
  createdBy?: string | null,
): Promise<ApiKeyList> {
  return { object: 'list', data: (await deps.keys.list(tenantId, createdBy)).map(apiKeyView) };
}
