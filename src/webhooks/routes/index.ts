import type { FastifyInstance } from 'fastify';
import type { Container } from '../../container.js';
import { type Authenticated, defineRoute, type Guard, type TypedRequest } from '../../http/define-route.js';
import { type TenantAuthDeps, tenantActor, tenantGuard } from '../../http/tenant-auth.js';
import { deliveryLog, getWebhook, listWebhooks } from '../webhook-queries.js';
import type { Caller } from '../webhook-service.js';
import {
  createWebhookRequestSchema,
  deletedWebhookSchema,
  deliveryLogSchema,
  deliveryQuerySchema,
  deliveryView,
  redeliveredSchema,
  redeliverParams,
  testSentSchema,
  webhookIdParams,
  webhookListSchema,
  webhookSchema,
  webhookView,
  webhookWithSecretSchema,
} from './schemas.js';

/** The webhook service and the tenant guard. */
export type WebhookRouteDeps = Pick<Container, 'webhooks'> & TenantAuthDeps;

const TAGS = ['Webhooks'];

// biome-ignore lint/complexity/noBannedTypes: any route's request, whatever its schema
const callerOf = (request: TypedRequest<{}> & Authenticated): Caller => ({
  tenantId: request.auth.tenant.id,
  actor: tenantActor(request),
  ip: request.ip,
});

/** Tenant self-service webhook endpoints: `/admin/webhooks*` (API key with `admin` scope, or session). */
export function registerWebhookRoutes(
  app: FastifyInstance,
  deps: WebhookRouteDeps,
  tenant: Guard<Authenticated> = tenantGuard(deps),
): void {
  const service = deps.webhooks.service;
  const readers = { webhooks: service };

  defineRoute(app, {
    method: 'POST',
    url: '/admin/webhooks',
    guard: tenant,
    doc: {
      summary: 'Register a webhook endpoint (its signing secret is shown once)',
      description:
        'Events of the chosen types are POSTed to `url`, signed with the secret in this response (the only time it is shown). Private and loopback addresses are refused unless the operator allows them.',
      tags: TAGS,
    },
    schema: { body: createWebhookRequestSchema, response: { 201: webhookWithSecretSchema } },
    handler: async (request, reply) => {
      const { endpoint, secret } = await service.create(callerOf(request), request.body);
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ ...webhookView(endpoint), secret });
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/admin/webhooks',
    guard: tenant,
    doc: {
      summary: "List the tenant's webhook endpoints",
      description:
        'Every endpoint with its event types, whether it is enabled, and its recent failure streak.',
      tags: TAGS,
    },
    schema: { response: { 200: webhookListSchema } },
    handler: async (request) => listWebhooks(readers, request.auth.tenant.id),
  });

  defineRoute(app, {
    method: 'GET',
    url: '/admin/webhooks/:id',
    guard: tenant,
    doc: {
      summary: 'Get a webhook endpoint',
      description: 'One endpoint of the tenant; its signing secret is never shown again.',
      tags: TAGS,
    },
    schema: { params: webhookIdParams, response: { 200: webhookSchema } },
    handler: async (request) => getWebhook(readers, request.auth.tenant.id, request.params.id),
  });

  defineRoute(app, {
    method: 'DELETE',
    url: '/admin/webhooks/:id',
    guard: tenant,
    doc: {
      summary: 'Delete a webhook endpoint',
      description: 'No further events are sent to it, including retries still pending.',
      tags: TAGS,
    },
    schema: { params: webhookIdParams, response: { 200: deletedWebhookSchema } },
    handler: async (request) => {
      const { id } = request.params;
      await service.remove(callerOf(request), id);
      return { id, object: 'webhook_endpoint' as const, deleted: true as const };
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/admin/webhooks/:id/test',
    guard: tenant,
    doc: {
      summary: 'Send a webhook.test event to this endpoint',
      description:
        'Queues a `webhook.test` event for this endpoint only; its attempts appear in the delivery log like any other.',
      tags: TAGS,
    },
    schema: { params: webhookIdParams, response: { 202: testSentSchema } },
    handler: async (request, reply) => {
      const sent = await service.sendTest(callerOf(request), request.params.id);
      return reply
        .code(202)
        .send({ object: 'webhook_test' as const, event_id: sent.eventId, delivery_id: sent.deliveryId });
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/admin/webhooks/:id/deliveries',
    guard: tenant,
    doc: {
      summary: 'Delivery log: every attempt, newest first',
      description:
        'Each attempt with its status code, latency and the start of the response, and the deliveries waiting for a retry.',
      tags: TAGS,
    },
    schema: {
      params: webhookIdParams,
      querystring: deliveryQuerySchema,
      response: { 200: deliveryLogSchema },
    },
    handler: async (request) =>
      deliveryLog(readers, request.auth.tenant.id, request.params.id, request.query),
  });

  defineRoute(app, {
    method: 'POST',
    url: '/admin/webhooks/:id/deliveries/:delivery/redeliver',
    guard: tenant,
    doc: {
      summary: 'Deliver a past event again (by delivery id or event id)',
      description: 'Queues the same event, with the same id, for another delivery to this endpoint.',
      tags: TAGS,
    },
    schema: { params: redeliverParams, response: { 202: redeliveredSchema } },
    handler: async (request, reply) => {
      const { id, delivery } = request.params;
      const row = await service.redeliver(callerOf(request), id, delivery);
      return reply.code(202).send(deliveryView(row));
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/admin/webhooks/:id/rotate-secret',
    guard: tenant,
    doc: {
      summary: 'Replace the signing secret (the new one is shown once)',
      description: 'Deliveries from now on are signed with the new secret, which is in this response only.',
      tags: TAGS,
    },
    schema: { params: webhookIdParams, response: { 200: webhookWithSecretSchema } },
    handler: async (request, reply) => {
      const { endpoint, secret } = await service.rotateSecret(callerOf(request), request.params.id);
      return reply.header('cache-control', 'no-store').send({ ...webhookView(endpoint), secret });
    },
  });

  defineRoute(app, {
    method: 'POST',
    url: '/admin/webhooks/:id/enable',
    guard: tenant,
    doc: {
      summary: 'Re-enable an endpoint disabled after sustained failure',
      description: 'Deliveries resume and the failure streak starts again from zero.',
      tags: TAGS,
    },
    schema: { params: webhookIdParams, response: { 200: webhookSchema } },
    handler: async (request) => webhookView(await service.enable(callerOf(request), request.params.id)),
  });
}
