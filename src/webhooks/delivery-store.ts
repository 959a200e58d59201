import type { Selectable } from 'kysely';
import type { Db } from '../shared/db.js';
import { newId } from '../shared/ids.js';
import type { DatabaseHandle } from '../storage/database.js';
import type { WebhookDeliveriesTable, WebhookDeliveryAttemptsTable } from '../storage/tables.js';
import { activeWebhooksOf, subscribesTo } from './webhook-store.js';

export type DeliveryRow = Selectable<WebhookDeliveriesTable>;
export type AttemptRow = Selectable<WebhookDeliveryAttemptsTable>;

/** A new pending delivery of one event to one endpoint, due now. */
export function newDelivery(
  e: { webhookId: string; tenantId: string; eventId: string; eventType: string },
  now: number,
): WebhookDeliveriesTable {
  return {
    id: newId('dlv'),
    webhook_id: e.webhookId,
    tenant_id: e.tenantId,
    event_id: e.eventId,
    event_type: e.eventType,
    status: 'pending',
    attempts: 0,
    round_started_at: now,
    round_attempts: 0,
    next_attempt_at: now,
    lease_until: null,
    locked_by: null,
    last_status_code: null,
    last_error: null,
    created_at: now,
    updated_at: now,
  };
}

/**
 * Turns outbox events not yet fanned out into one delivery per subscribed, enabled endpoint of the
 * event's tenant. Idempotent: the unique (event_id, webhook_id) constraint plus insert-or-ignore make
 * several replicas fanning out the same events at once harmless. Returns the number of events handled.
 */
export async function fanOutEvents(db: Db, now: number, batch = 200): Promise<number> {
  const events = await db
    .selectFrom('outbox_events')
    .select(['id', 'tenant_id', 'type'])
    .where('fanned_out_at', 'is', null)
    .orderBy('created_at')
    .limit(batch)
    .execute();
  if (events.length === 0) return 0;
  const endpoints = await activeWebhooksOf(db, [...new Set(events.map((e) => e.tenant_id))]);
  const rows: WebhookDeliveriesTable[] = [];
  for (const event of events) {
    // webhook.test goes only to the endpoint it was sent to, which its route sets up directly.
    if (event.type === 'webhook.test') continue;
    for (const w of endpoints) {
      if (w.tenantId === event.tenant_id && subscribesTo(w, event.type))
        rows.push(
          newDelivery(
            { webhookId: w.id, tenantId: w.tenantId, eventId: event.id, eventType: event.type },
            now,
          ),
        );
    }
  }
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += 100) {
      await trx
        .insertInto('webhook_deliveries')
        .values(rows.slice(i, i + 100))
        .onConflict((oc) => oc.columns(['event_id', 'webhook_id']).doNothing())
        .execute();
    }
    await trx
      .updateTable('outbox_events')
      .set({ fanned_out_at: now })
      .where(
        'id',
        'in',
        events.map((e) => e.id),
      )
      .execute();
  });
  return events.length;
}

/**
 * Leases up to `limit` due deliveries of enabled endpoints for this replica, counting the attempt it
 * is about to make. One atomic statement: `UPDATE … WHERE id IN (SELECT … [FOR UPDATE SKIP LOCKED])
 * RETURNING`, so two replicas never lease the same delivery while its lease runs. A replica that
 * dies mid-attempt loses its lease after `leaseMs` and another replica makes the next attempt.
 */
export async function leaseDueDeliveries(
  database: Pick<DatabaseHandle, 'db' | 'dialect'>,
  replica: string,
  now: number,
  leaseMs: number,
  limit: number,
): Promise<DeliveryRow[]> {
  const { db, dialect } = database;
  const due = db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
    .select('d.id')
    .where('d.status', '=', 'pending')
    .where('d.next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('d.lease_until', 'is', null), eb('d.lease_until', '<', now)]))
    .where('w.enabled', '=', 1)
    .where('w.deleted_at', 'is', null)
    .orderBy('d.next_attempt_at')
    .limit(limit)
    .$if(dialect === 'postgres', (qb) => qb.forUpdate('d').skipLocked());
  return db
    .updateTable('webhook_deliveries')
    .set((eb) => ({
      lease_until: now + leaseMs,
      locked_by: replica,
      attempts: eb('attempts', '+', 1),
      round_attempts: eb('round_attempts', '+', 1),
      updated_at: now,
    }))
    .where('id', 'in', due)
    .where('status', '=', 'pending')
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
    .returningAll()
    .execute();
}

/** What one attempt produced. */
export interface AttemptOutcome {
  succeeded: boolean;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseExcerpt: string | null;
  attemptedAt: number;
}

/**
 * Logs the attempt and settles the delivery: succeeded, scheduled for `nextAttemptAt`, or failed when
 * that is null. Only the replica that holds the lease settles; returns false when the lease was lost
 * (the attempt was still logged, unless another replica already logged that attempt number).
 */
export async function settleAttempt(
  db: Db,
  delivery: DeliveryRow,
  replica: string,
  outcome: AttemptOutcome,
  nextAttemptAt: number | null,
  now: number,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('webhook_delivery_attempts')
      .values({
        delivery_id: delivery.id,
        webhook_id: delivery.webhook_id,
        tenant_id: delivery.tenant_id,
        event_id: delivery.event_id,
        event_type: delivery.event_type,
        attempt: delivery.attempts,
        attempted_at: outcome.attemptedAt,
        succeeded: outcome.succeeded ? 1 : 0,
        status_code: outcome.statusCode,
        latency_ms: outcome.latencyMs,
        error: outcome.error,
        response_excerpt: outcome.responseExcerpt,
        next_attempt_at: outcome.succeeded ? null : nextAttemptAt,
        replica,
      })
      .onConflict((oc) => oc.columns(['delivery_id', 'attempt']).doNothing())
      .execute();
    const status = outcome.succeeded ? 'succeeded' : nextAttemptAt === null ? 'failed' : 'pending';
    const res = await trx
      .updateTable('webhook_deliveries')
      .set({
        status,
        next_attempt_at: nextAttemptAt ?? now,
        lease_until: null,
        locked_by: null,
        last_status_code: outcome.statusCode,
        last_error: outcome.error,
        updated_at: now,
      })
      .where('id', '=', delivery.id)
      .where('locked_by', '=', replica)
      .where('attempts', '=', delivery.attempts)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  });
}

/** Gives back a lease without an attempt being made; the delivery is due again at `dueAt`. */
export async function releaseLease(
  db: Db,
  delivery: DeliveryRow,
  replica: string,
  now: number,
  dueAt = now,
): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set((eb) => ({
      lease_until: null,
      locked_by: null,
      next_attempt_at: dueAt,
      attempts: eb('attempts', '-', 1),
      round_attempts: eb('round_attempts', '-', 1),
      updated_at: now,
    }))
    .where('id', '=', delivery.id)
    .where('locked_by', '=', replica)
    .where('attempts', '=', delivery.attempts)
    .execute();
}

/** Ends one delivery that can no longer be made (its event is gone). */
export async function cancelDelivery(db: Db, deliveryId: string, reason: string, now: number): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({ status: 'cancelled', last_error: reason, lease_until: null, locked_by: null, updated_at: now })
    .where('id', '=', deliveryId)
    .execute();
}

/** Marks an endpoint's pending deliveries cancelled (it was disabled or deleted). */
export async function cancelPendingDeliveries(
  db: Db,
  webhookId: string,
  reason: string,
  now: number,
): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({ status: 'cancelled', last_error: reason, updated_at: now })
    .where('webhook_id', '=', webhookId)
    .where('status', '=', 'pending')
    .execute();
}

/**
 * Queues an event again for one endpoint: re-arms its delivery (a fresh retry round, due now) or
 * creates one when the endpoint never had it. `idOrEvent` is a delivery id or an event id.
 * Returns null when no such delivery/event belongs to the tenant.
 */
export async function redeliver(
  db: Db,
  tenantId: string,
  webhookId: string,
  idOrEvent: string,
  now: number,
): Promise<DeliveryRow | null> {
  return db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .where('tenant_id', '=', tenantId)
      .where((eb) => eb.or([eb('id', '=', idOrEvent), eb('event_id', '=', idOrEvent)]))
      .executeTakeFirst();
    if (existing) {
      await trx
        .updateTable('webhook_deliveries')
        .set({
          status: 'pending',
          next_attempt_at: now,
          round_started_at: now,
          round_attempts: 0,
          updated_at: now,
        })
        .where('id', '=', existing.id)
        .execute();
      return { ...existing, status: 'pending', next_attempt_at: now };
    }
    const event = await trx
      .selectFrom('outbox_events')
      .select(['id', 'type'])
      .where('id', '=', idOrEvent)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    if (!event) return null;
    const row = newDelivery({ webhookId, tenantId, eventId: event.id, eventType: event.type }, now);
    await trx.insertInto('webhook_deliveries').values(row).execute();
    return row;
  });
}

/** The attempt log of one endpoint, newest first. */
export async function listAttempts(
  db: Db,
  webhookId: string,
  opts: { limit: number; eventId?: string | undefined; beforeId?: number | undefined },
): Promise<Array<AttemptRow & { delivery_status: string }>> {
  return db
    .selectFrom('webhook_delivery_attempts as a')
    .innerJoin('webhook_deliveries as d', 'd.id', 'a.delivery_id')
    .selectAll('a')
    .select('d.status as delivery_status')
    .where('a.webhook_id', '=', webhookId)
    .$if(opts.eventId !== undefined, (qb) => qb.where('a.event_id', '=', opts.eventId!))
    .$if(opts.beforeId !== undefined, (qb) => qb.where('a.id', '<', opts.beforeId!))
    .orderBy('a.id', 'desc')
    .limit(opts.limit)
    .execute();
}

/** Deliveries of one endpoint not attempted yet (shown alongside the attempt log). */
export async function listWaitingDeliveries(
  db: Db,
  webhookId: string,
  limit: number,
): Promise<DeliveryRow[]> {
  return db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('webhook_id', '=', webhookId)
    .where('status', '=', 'pending')
    .orderBy('next_attempt_at')
    .limit(limit)
    .execute();
}

/** The stored event body, exactly as it will be delivered. */
export async function eventPayload(db: Db, eventId: string): Promise<string | null> {
  const row = await db
    .selectFrom('outbox_events')
    .select('payload')
    .where('id', '=', eventId)
    .executeTakeFirst();
  return row?.payload ?? null;
}
