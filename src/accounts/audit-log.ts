import type { Db } from './tenant-store.js';

/** One security-relevant action. `detail` must never hold a secret. */
export interface AuditEntry {
  tenantId: string | null;
  /** Who did it: `user:<id>`, `key:<id>`, `operator`, `cli`, `system`. */
  actor: string;
  action: string;
  target?: string | null;
  ip?: string | null;
  detail?: Record<string, unknown>;
}

export async function recordAudit(db: Db, entry: AuditEntry, at = Date.now()): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      tenant_id: entry.tenantId,
      actor: entry.actor,
      action: entry.action,
      target: entry.target ?? null,
      ip: entry.ip ?? null,
      detail: entry.detail ? JSON.stringify(entry.detail) : null,
      created_at: at,
    })
    .execute();
}
