import { z } from 'zod';
import type { AttemptRow, DeliveryRow } from '../delivery-store.js';
import type { WebhookEndpoint } from '../webhook-store.js';

export const webhookIdParams = z.object({ id: z.string().max(64) });
export const redeliverParams = z.object({ id: z.string().max(64), delivery: z.string().max(64) });

export const createWebhookRequestSchema = z.object({
  url: z.string().max(2048).describe('http(s) URL that receives the events'),
  events: z
    .array(z.string().max(64))
    .min(1)
    .max(16)
    .describe("Event types to receive, e.g. ['key.rotated'], or ['*'] for all"),
  description: z.string().max(500).optional(),
});

export const webhookSchema = z.object({
  id: z.string(),
  object: z.literal('webhook_endpoint'),
  url: z.string(),
  events: z.array(z.string()),
  description: z.string().nullable(),
  status: z.enum(['enabled', 'disabled']),
  disabled_reason: z.string().nullable().describe('Why the endpoint was disabled, when it is'),
  disabled_at: z.number().int().nullable(),
  consecutive_failures: z.number().int(),
  created: z.number().int(),
});

export const webhookWithSecretSchema = webhookSchema.extend({
  secret: z.string().describe('whsec_… signing secret; shown only in this response'),
});

export const webhookListSchema = z.object({ object: z.literal('list'), data: z.array(webhookSchema) });

export const deletedWebhookSchema = z.object({
  id: z.string(),
  object: z.literal('webhook_endpoint'),
  deleted: z.literal(true),
});

export const deliveryQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  event_id: z.string().max(64).optional(),
  before: z
    .string()
    .regex(/^att_\d{1,15}$/, 'must be a cursor from next_cursor')
    .optional()
    .describe('next_cursor of the previous page: attempts older than this one'),
});

const attemptSchema = z.object({
  id: z.string(),
  object: z.literal('webhook_delivery_attempt'),
  delivery_id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  attempt: z.number().int().describe('1 for the first attempt of the delivery'),
  attempted_at: z.number().int().describe('Unix seconds'),
  succeeded: z.boolean(),
  status_code: z.number().int().nullable(),
  latency_ms: z.number().int(),
  error: z.string().nullable(),
  response_excerpt: z.string().nullable().describe('First 1 KB of the response body'),
  next_attempt_at: z
    .number()
    .int()
    .nullable()
    .describe('Unix seconds when the retry after this failure is due; null when none follows'),
  delivery_status: z.enum(['pending', 'succeeded', 'failed', 'cancelled']),
});

const pendingDeliverySchema = z.object({
  id: z.string(),
  object: z.literal('webhook_delivery'),
  event_id: z.string(),
  event_type: z.string(),
  status: z.string(),
  attempts: z.number().int(),
  next_attempt_at: z.number().int().describe('Unix seconds when the next attempt is due'),
});

export const deliveryLogSchema = z.object({
  object: z.literal('list'),
  data: z.array(attemptSchema).describe('Every attempt, newest first'),
  pending: z.array(pendingDeliverySchema).describe('Deliveries waiting for their next attempt'),
  has_more: z.boolean(),
  next_cursor: z.string().nullable().describe('Pass as `before` for the next (older) page'),
});

export const testSentSchema = z.object({
  object: z.literal('webhook_test'),
  event_id: z.string(),
  delivery_id: z.string(),
});

export const redeliveredSchema = pendingDeliverySchema;

type DeliveryStatus = z.infer<typeof attemptSchema>['delivery_status'];

// Every time in the API is Unix seconds; the database keeps milliseconds.
const unixSeconds = (ms: number) => Math.floor(Number(ms) / 1000);
/** A due time rounded up, so a client that waits until then finds the attempt made. */
const dueSeconds = (ms: number) => Math.ceil(Number(ms) / 1000);

export const webhookView = (w: WebhookEndpoint): z.infer<typeof webhookSchema> => ({
  id: w.id,
  object: 'webhook_endpoint',
  url: w.url,
  events: w.events,
  description: w.description,
  status: w.enabled ? 'enabled' : 'disabled',
  disabled_reason: w.disabledReason,
  disabled_at: w.disabledAt === null ? null : unixSeconds(w.disabledAt),
  consecutive_failures: w.consecutiveFailures,
  created: unixSeconds(w.createdAt),
});

export const attemptView = (a: AttemptRow & { delivery_status: string }): z.infer<typeof attemptSchema> => ({
  id: `att_${a.id}`,
  object: 'webhook_delivery_attempt',
  delivery_id: a.delivery_id,
  event_id: a.event_id,
  event_type: a.event_type,
  attempt: a.attempt,
  attempted_at: unixSeconds(a.attempted_at),
  succeeded: a.succeeded === 1,
  status_code: a.status_code,
  latency_ms: a.latency_ms,
  error: a.error,
  response_excerpt: a.response_excerpt,
  next_attempt_at: a.next_attempt_at === null ? null : dueSeconds(a.next_attempt_at),
  delivery_status: a.delivery_status as DeliveryStatus,
});

export const deliveryView = (d: DeliveryRow): z.infer<typeof pendingDeliverySchema> => ({
  id: d.id,
  object: 'webhook_delivery',
  event_id: d.event_id,
  event_type: d.event_type,
  status: d.status,
  attempts: d.attempts,
  next_attempt_at: dueSeconds(d.next_attempt_at),
});

export type WebhookView = z.infer<typeof webhookSchema>;
export type WebhookList = z.infer<typeof webhookListSchema>;
export type DeliveryQuery = z.infer<typeof deliveryQuerySchema>;
/** `GET /admin/webhooks/{id}/deliveries` as the API answers it and the deliveries page shows it. */
export type DeliveryLog = z.infer<typeof deliveryLogSchema>;
