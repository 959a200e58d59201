import type { Db } from '../shared/db.js';

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

/** An audit entry as `GET /admin/audit` shows it. */
export interface AuditView {
  id: string;
  object: 'audit_entry';
  action: string;
  actor: string;
  target: string | null;
  ip: string | null;
  detail: Record<string, unknown> | null;
  /** Unix seconds. */
  created: number;
}

export interface AuditPage {
  data: AuditView[];
  has_more: boolean;
  /** Pass as `after` to get the next (older) page; null on the last page. */
  next_cursor: string | null;
}

/** One page of the audit log as `GET /admin/audit` answers and the audit page shows it. */
export type AuditLogList = { object: 'list' } & AuditPage;

/** Which page of the audit log: `after` is a `next_cursor` from the previous page. */
export interface AuditLogQuery {
  limit: number;
  after?: string | undefined;
}

/** The tenant's audit log, newest first, one page at a time. */
export async function readAuditLog(
  deps: { db: Db },
  tenantId: string,
  query: AuditLogQuery,
): Promise<AuditLogList> {
  const after = query.after === undefined ? undefined : Number(query.after);
  return { object: 'list', ...(await listAudit(deps.db, tenantId, { limit: query.limit, after })) };
}

/** A tenant's own entries, newest first; `after` is the id of the last entry already seen. */
export async function listAudit(
  db: Db,
  tenantId: string,
  page: { limit: number; after?: number | undefined },
): Promise<AuditPage> {
  let query = db
    .selectFrom('audit_log')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('id', 'desc')
    .limit(page.limit + 1);
  if (page.after !== undefined) query = query.where('id', '<', page.after);
  const rows = await query.execute();
  const hasMore = rows.length > page.limit;
  const data = rows.slice(0, page.limit).map(
    (r): AuditView => ({
      id: String(r.id),
      object: 'audit_entry',
      action: r.action,
      actor: r.actor,
      target: r.target,
      // Tenants see the addresses their own people and keys acted from, never the operator's.
      ip: r.actor === 'operator' ? null : r.ip,
      detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
      created: Math.floor(Number(r.created_at) / 1000),
    }),
  );
  return { data, has_more: hasMore, next_cursor: hasMore ? (data.at(-1)?.id ?? null) : null };
}
