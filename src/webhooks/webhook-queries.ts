import {
  attemptView,
  type DeliveryLog,
  type DeliveryQuery,
  deliveryView,
  type WebhookList,
  type WebhookView,
  webhookView,
} from './routes/schemas.js';
import type { WebhookService } from './webhook-service.js';

/** What reading a tenant's webhook endpoints and their delivery log needs. */
export interface WebhookReaderDeps {
  webhooks: Pick<WebhookService, 'list' | 'get' | 'deliveries'>;
}

/** The tenant's endpoints, as `GET /admin/webhooks` answers and the webhooks page lists them. */
export async function listWebhooks(deps: WebhookReaderDeps, tenantId: string): Promise<WebhookList> {
  return { object: 'list', data: (await deps.webhooks.list(tenantId)).map(webhookView) };
}

/** One endpoint of the tenant (404 `not_found` for another tenant's or an unknown id). */
export async function getWebhook(
  deps: WebhookReaderDeps,
  tenantId: string,
  id: string,
): Promise<WebhookView> {
  return webhookView(await deps.webhooks.get(tenantId, id));
}

/** Every delivery attempt of an endpoint, newest first, and the deliveries waiting for a retry. */
export async function deliveryLog(
  deps: WebhookReaderDeps,
  tenantId: string,
  id: string,
  query: DeliveryQuery,
): Promise<DeliveryLog> {
  const page = await deps.webhooks.deliveries(tenantId, id, {
    limit: query.limit,
    eventId: query.event_id,
    beforeId: query.before === undefined ? undefined : Number(query.before.slice('att_'.length)),
  });
  return {
    object: 'list',
    data: page.attempts.map(attemptView),
    pending: page.waiting.map(deliveryView),
    has_more: page.hasMore,
    next_cursor: page.nextCursor,
  };
}
