import type { Selectable } from 'kysely';
import type { Db } from '../shared/db.js';
import type { WebhooksTable } from '../storage/tables.js';

/** A tenant's webhook endpoint as the app sees it (the secret stays sealed). */
export interface WebhookEndpoint {
  id: string;
  tenantId: string;
  url: string;
  description: string | null;
  /** Subscribed event types; `*` means every type. */
  events: string[];
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: number | null;
  consecutiveFailures: number;
  failingSince: number | null;
  createdAt: number;
  deletedAt: number | null;
  secretCiphertext: string;
}

export const webhookFromRow = (row: Selectable<WebhooksTable>): WebhookEndpoint => ({
  id: row.id,
  tenantId: row.tenant_id,
  url: row.url,
  description: row.description,
  events: JSON.parse(row.events) as string[],
  enabled: row.enabled === 1,
  disabledReason: row.disabled_reason,
  disabledAt: row.disabled_at === null ? null : Number(row.disabled_at),
  consecutiveFailures: row.consecutive_failures,
  failingSince: row.failing_since === null ? null : Number(row.failing_since),
  createdAt: Number(row.created_at),
  deletedAt: row.deleted_at === null ? null : Number(row.deleted_at),
  secretCiphertext: row.secret_ciphertext,
});

/** Whether an endpoint wants events of this type. */
export const subscribesTo = (w: Pick<WebhookEndpoint, 'events'>, type: string) =>
  w.events.includes('*') || w.events.includes(type);

export async function insertWebhook(
  db: Db,
  w: Pick<WebhookEndpoint, 'id' | 'tenantId' | 'url' | 'description' | 'events' | 'secretCiphertext'>,
  now: number,
): Promise<void> {
  await db
    .insertInto('webhooks')
    .values({
      id: w.id,
      tenant_id: w.tenantId,
      url: w.url,
      description: w.description,
      events: JSON.stringify(w.events),
      secret_ciphertext: w.secretCiphertext,
      enabled: 1,
      consecutive_failures: 0,
      created_at: now,
      updated_at: now,
    })
    .execute();
}

/** The tenant's live endpoints, oldest first. */
export async function listWebhooks(db: Db, tenantId: string): Promise<WebhookEndpoint[]> {
  const rows = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('deleted_at', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(webhookFromRow);
}

/** One live endpoint of the tenant; another tenant's id is simply not found. */
export async function findWebhook(db: Db, tenantId: string, id: string): Promise<WebhookEndpoint | null> {
  const row = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('id', '=', id)
    .where('tenant_id', '=', tenantId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row ? webhookFromRow(row) : null;
}

export async function findWebhookById(db: Db, id: string): Promise<WebhookEndpoint | null> {
  const row = await db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? webhookFromRow(row) : null;
}

/** Enabled, live endpoints of these tenants (fan-out). */
export async function activeWebhooksOf(db: Db, tenantIds: string[]): Promise<WebhookEndpoint[]> {
  if (tenantIds.length === 0) return [];
  const rows = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('tenant_id', 'in', tenantIds)
    .where('deleted_at', 'is', null)
    .where('enabled', '=', 1)
    .execute();
  return rows.map(webhookFromRow);
}

export async function updateWebhook(
  db: Db,
  id: string,
  patch: Partial<Pick<WebhooksTable, 'secret_ciphertext' | 'deleted_at' | 'url' | 'events' | 'description'>>,
  now: number,
): Promise<void> {
  await db
    .updateTable('webhooks')
    .set({ ...patch, updated_at: now })
    .where('id', '=', id)
    .execute();
}

export async function enableWebhook(db: Db, id: string, now: number): Promise<void> {
  await db
    .updateTable('webhooks')
    .set({
      enabled: 1,
      disabled_reason: null,
      disabled_at: null,
      consecutive_failures: 0,
      failing_since: null,
      updated_at: now,
    })
    .where('id', '=', id)
    .execute();
}

/** A successful attempt ends any failure streak. */
export async function recordEndpointSuccess(db: Db, id: string, now: number): Promise<void> {
  await db
    .updateTable('webhooks')
    .set({ consecutive_failures: 0, failing_since: null, updated_at: now })
    .where('id', '=', id)
    .where('consecutive_failures', '>', 0)
    .execute();
}

/**
 * Counts a failed attempt and disables the endpoint when it has failed at least `maxFailures`
 * attempts in a row over at least `minFailingMs` (or, with `gaveUp`, when this failure exhausted a
 * delivery's retries: an endpoint that only sees rare events is disabled too). Both steps are single conditional UPDATEs, so
 * concurrent replicas count every failure and only one of them performs the disabling.
 * Returns true when this call disabled the endpoint.
 */
export async function recordEndpointFailure(
  db: Db,
  id: string,
  now: number,
  rule: { maxFailures: number; minFailingMs: number; gaveUp: boolean },
  /** Runs in the same transaction as the disabling (cancel deliveries, audit), so all show at once. */
  onDisabled: (trx: Db) => Promise<void>,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await trx
      .updateTable('webhooks')
      .set((eb) => ({
        consecutive_failures: eb('consecutive_failures', '+', 1),
        failing_since: eb.fn.coalesce('failing_since', eb.val(now)),
        updated_at: now,
      }))
      .where('id', '=', id)
      .execute();
    const res = await trx
      .updateTable('webhooks')
      .set({
        enabled: 0,
        disabled_at: now,
        disabled_reason: rule.gaveUp
          ? `Disabled automatically: ${rule.maxFailures} or more consecutive delivery attempts failed and an event's retries ran out.`
          : `Disabled automatically: ${rule.maxFailures} or more consecutive delivery attempts failed over ${Math.round(rule.minFailingMs / 60_000)} minutes or more.`,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('enabled', '=', 1)
      .where('consecutive_failures', '>=', rule.maxFailures)
      .$if(!rule.gaveUp, (qb) => qb.where('failing_since', '<=', now - rule.minFailingMs))
      .executeTakeFirst();
    const disabled = Number(res.numUpdatedRows) > 0;
    if (disabled) await onDisabled(trx);
    return disabled;
  });
}
