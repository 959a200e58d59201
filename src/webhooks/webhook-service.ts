import { recordAudit } from '../accounts/audit-log.js';
import { EVENT_TYPES, enqueueEvent } from '../events/outbox.js';
import type { Db } from '../shared/db.js';
import { ApiError, notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { checkWebhookTarget, type Resolver, systemResolver, TargetRefusedError } from './address-policy.js';
import {
  cancelPendingDeliveries,
  type DeliveryRow,
  listAttempts,
  listWaitingDeliveries,
  newDelivery,
  redeliver,
} from './delivery-store.js';
import type { SecretBox } from './secret-box.js';
import { generateWebhookSecret } from './signing.js';
import {
  enableWebhook,
  findWebhook,
  insertWebhook,
  listWebhooks,
  updateWebhook,
  type WebhookEndpoint,
} from './webhook-store.js';

/** Most endpoints one tenant may register. */
export const MAX_WEBHOOKS_PER_TENANT = 20;

/** Who asked, for the audit log. */
export interface Caller {
  tenantId: string;
  actor: string;
  ip: string | null;
}

export interface CreateWebhookInput {
  url: string;
  events: string[];
  description?: string | undefined;
}

/**
 * Tenant self-service over webhook endpoints. Every lookup is scoped to the caller's tenant, so
 * another tenant's ids behave exactly like ids that do not exist.
 */
export class WebhookService {
  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox,
    private readonly opts: {
      allowPrivate: boolean;
      /** Called after a change made a delivery due, to skip the poll wait. */
      onDue?: () => void;
      resolve?: Resolver;
    },
  ) {}

  /** Registers an endpoint; the secret is returned this once and stored only encrypted. */
  async create(
    caller: Caller,
    input: CreateWebhookInput,
  ): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    let url: URL;
    try {
      url = await checkWebhookTarget(input.url, this.opts.allowPrivate, this.opts.resolve ?? systemResolver);
    } catch (err) {
      if (err instanceof TargetRefusedError)
        throw new ApiError('invalid_parameter', `Invalid value for 'url': ${err.message}.`, 'url');
      throw err;
    }
    const events = normaliseEvents(input.events);
    const existing = await listWebhooks(this.db, caller.tenantId);
    if (existing.length >= MAX_WEBHOOKS_PER_TENANT)
      throw new ApiError(
        'conflict',
        `A tenant can register at most ${MAX_WEBHOOKS_PER_TENANT} webhook endpoints.`,
      );
    const secret = generateWebhookSecret();
    const now = Date.now();
    const id = newId('whk');
    await this.db.transaction().execute(async (trx) => {
      await insertWebhook(
        trx,
        {
          id,
          tenantId: caller.tenantId,
          url: url.toString(),
          description: input.description ?? null,
          events,
          secretCiphertext: this.secrets.seal(secret),
        },
        now,
      );
      await recordAudit(trx, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: 'webhook.created',
        target: id,
        ip: caller.ip,
        // Only the origin: some receivers put their own secret token in the path or query.
        detail: { origin: url.origin, events },
      });
    });
    return { endpoint: await this.get(caller.tenantId, id), secret };
  }

  list(tenantId: string): Promise<WebhookEndpoint[]> {
    return listWebhooks(this.db, tenantId);
  }

  async get(tenantId: string, id: string): Promise<WebhookEndpoint> {
    const w = await findWebhook(this.db, tenantId, id);
    if (!w) throw notFound('Webhook endpoint');
    return w;
  }

  /** Deletes an endpoint; its pending deliveries are cancelled, its log kept for the audit trail. */
  async remove(caller: Caller, id: string): Promise<void> {
    const w = await this.get(caller.tenantId, id);
    const now = Date.now();
    await this.db.transaction().execute(async (trx) => {
      await updateWebhook(trx, w.id, { deleted_at: now }, now);
      await cancelPendingDeliveries(trx, w.id, 'endpoint deleted', now);
      await recordAudit(trx, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: 'webhook.deleted',
        target: w.id,
        ip: caller.ip,
        detail: { origin: new URL(w.url).origin },
      });
    });
  }

  /** Replaces the signing secret at once; the new one is returned this once. */
  async rotateSecret(caller: Caller, id: string): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const w = await this.get(caller.tenantId, id);
    const secret = generateWebhookSecret();
    const now = Date.now();
    await this.db.transaction().execute(async (trx) => {
      await updateWebhook(trx, w.id, { secret_ciphertext: this.secrets.seal(secret) }, now);
      await recordAudit(trx, {
        tenantId: caller.tenantId,
        actor: caller.actor,
        action: 'webhook.secret_rotated',
        target: w.id,
        ip: caller.ip,
      });
    });
    return { endpoint: await this.get(caller.tenantId, id), secret };
  }

  /** Re-enables an endpoint that was disabled after sustained failure; its failure streak restarts. */
  async enable(caller: Caller, id: string): Promise<WebhookEndpoint> {
    const w = await this.get(caller.tenantId, id);
    if (!w.enabled) {
      const now = Date.now();
      await this.db.transaction().execute(async (trx) => {
        await enableWebhook(trx, w.id, now);
        await recordAudit(trx, {
          tenantId: caller.tenantId,
          actor: caller.actor,
          action: 'webhook.enabled',
          target: w.id,
          ip: caller.ip,
        });
      });
    }
    return this.get(caller.tenantId, id);
  }

  /** Sends a `webhook.test` event to this endpoint only. */
  async sendTest(caller: Caller, id: string): Promise<{ eventId: string; deliveryId: string }> {
    const w = await this.get(caller.tenantId, id);
    if (!w.enabled)
      throw new ApiError(
        'conflict',
        'This webhook endpoint is disabled. Enable it before sending a test event.',
      );
    const now = Date.now();
    const result = await this.db.transaction().execute(async (trx) => {
      const event = await enqueueEvent(
        trx,
        caller.tenantId,
        'webhook.test',
        { webhook_id: w.id, message: 'This is a test event from SIMOSphere.' },
        now,
      );
      // Delivered to this endpoint alone, not fanned out to every endpoint of the tenant.
      await trx.updateTable('outbox_events').set({ fanned_out_at: now }).where('id', '=', event.id).execute();
      const delivery = newDelivery(
        { webhookId: w.id, tenantId: caller.tenantId, eventId: event.id, eventType: event.type },
        now,
      );
      await trx.insertInto('webhook_deliveries').values(delivery).execute();
      return { eventId: event.id, deliveryId: delivery.id };
    });
    this.opts.onDue?.();
    return result;
  }

  /** Queues a past event again for this endpoint (by delivery id or event id). */
  async redeliver(caller: Caller, id: string, deliveryOrEventId: string): Promise<DeliveryRow> {
    const w = await this.get(caller.tenantId, id);
    if (!w.enabled)
      throw new ApiError(
        'conflict',
        'This webhook endpoint is disabled. Enable it before redelivering events.',
      );
    const row = await redeliver(this.db, caller.tenantId, w.id, deliveryOrEventId, Date.now());
    if (!row) throw notFound('Delivery or event');
    this.opts.onDue?.();
    return row;
  }

  /** The endpoint's attempt log (newest first) and the deliveries still waiting. */
  async deliveries(
    tenantId: string,
    id: string,
    opts: { limit: number; eventId?: string | undefined; beforeId?: number | undefined },
  ) {
    const w = await this.get(tenantId, id);
    const [page, waiting] = await Promise.all([
      // One extra row tells whether an older page exists.
      listAttempts(this.db, w.id, { ...opts, limit: opts.limit + 1 }),
      listWaitingDeliveries(this.db, w.id, opts.limit),
    ]);
    const attempts = page.slice(0, opts.limit);
    const last = attempts.at(-1);
    const hasMore = page.length > opts.limit;
    return { attempts, waiting, hasMore, nextCursor: hasMore && last ? `att_${last.id}` : null };
  }
}

/** Validates subscribed event types: known types or `*`, without duplicates. */
function normaliseEvents(events: string[]): string[] {
  const allowed = new Set<string>([...EVENT_TYPES, '*']);
  events.forEach((e, i) => {
    if (!allowed.has(e))
      throw new ApiError(
        'invalid_parameter',
        `Invalid value for 'events[${i}]': unknown event type '${e}'. Known types: ${EVENT_TYPES.join(', ')}, or '*' for all.`,
        `events[${i}]`,
      );
  });
  return [...new Set(events)];
}
