import type { Db } from '../shared/db.js';
import { newId } from '../shared/ids.js';

/** Every platform event type a webhook can subscribe to. */
export const EVENT_TYPES = [
  'usage.threshold_reached',
  'key.rotated',
  'key.budget_reached',
  'invoice.created',
  'audit.flagged',
  'payment.failed',
  'webhook.test',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The event body exactly as delivered to webhooks. Never holds a plaintext key or secret. */
export interface PlatformEvent<T = Record<string, unknown>> {
  id: string;
  type: EventType;
  /** Unix seconds. */
  created: number;
  tenant_id: string;
  data: T;
}

/**
 * Records an event in the durable outbox. Call it with the transaction that makes the change the
 * event describes, so the change and its event commit together or not at all.
 */
export async function enqueueEvent(
  trx: Db,
  tenantId: string,
  type: EventType,
  data: Record<string, unknown>,
  at = Date.now(),
): Promise<PlatformEvent> {
  const event: PlatformEvent = {
    id: newId('evt'),
    type,
    created: Math.floor(at / 1000),
    tenant_id: tenantId,
    data,
  };
  await trx
    .insertInto('outbox_events')
    .values({ id: event.id, tenant_id: tenantId, type, payload: JSON.stringify(event), created_at: at })
    .execute();
  return event;
}
