import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Container } from '../../container.js';
import { tenantActor, tenantAuth } from '../../http/tenant-auth.js';
import { parseBody } from '../../http/validation.js';
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

const TAGS = ['Webhooks'];

const callerOf = (request: FastifyRequest): Caller => ({
  tenantId: request.auth!.tenant.id,
  actor: tenantActor(request),
  ip: request.ip,
});

/** Tenant self-service webhook endpoints: `/admin/webhooks*` (API key with `admin` scope, or session). */
export function registerWebhookRoutes(app: FastifyInstance, c: Container): void {
  const preHandler = tenantAuth(c);
  const service = c.webhooks.service;
  const readers = { webhooks: service };
  const doc = (summary: string, extra: Record<string, unknown> = {}) => ({
    openapi: { summary, tags: TAGS, security: 'tenant' as const, ...extra },
  });

  app.post(
    '/admin/webhooks',
    {
      preHandler,
      config: doc('Register a webhook endpoint (its signing secret is shown once)', {
        body: createWebhookRequestSchema,
        response: webhookWithSecretSchema,
        responseStatus: 201,
      }),
    },
    async (request, reply) => {
      const body = parseBody(createWebhookRequestSchema, request.body);
      const { endpoint, secret } = await service.create(callerOf(request), body);
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ ...webhookView(endpoint), secret });
    },
  );

  app.get(
    '/admin/webhooks',
    { preHandler, config: doc("List the tenant's webhook endpoints", { response: webhookListSchema }) },
    async (request) => listWebhooks(readers, request.auth!.tenant.id),
  );

  app.get(
    '/admin/webhooks/:id',
    { preHandler, config: doc('Get a webhook endpoint', { response: webhookSchema }) },
    async (request) => {
      const { id } = parseBody(webhookIdParams, request.params);
      return getWebhook(readers, request.auth!.tenant.id, id);
    },
  );

  app.delete(
    '/admin/webhooks/:id',
    { preHandler, config: doc('Delete a webhook endpoint', { response: deletedWebhookSchema }) },
    async (request) => {
      const { id } = parseBody(webhookIdParams, request.params);
      await service.remove(callerOf(request), id);
      return { id, object: 'webhook_endpoint' as const, deleted: true as const };
    },
  );

  app.post(
    '/admin/webhooks/:id/test',
    {
      preHandler,
      config: doc('Send a webhook.test event to this endpoint', {
        response: testSentSchema,
        responseStatus: 202,
      }),
    },
    async (request, reply) => {
      const { id } = parseBody(webhookIdParams, request.params);
      const sent = await service.sendTest(callerOf(request), id);
      return reply
        .code(202)
        .send({ object: 'webhook_test' as const, event_id: sent.eventId, delivery_id: sent.deliveryId });
    },
  );

  app.get(
    '/admin/webhooks/:id/deliveries',
    {
      preHandler,
      config: doc('Delivery log: every attempt, newest first', {
        query: deliveryQuerySchema,
        response: deliveryLogSchema,
      }),
    },
    async (request) => {
      const { id } = parseBody(webhookIdParams, request.params);
      return deliveryLog(readers, request.auth!.tenant.id, id, parseBody(deliveryQuerySchema, request.query));
    },
  );

  app.post(
    '/admin/webhooks/:id/deliveries/:delivery/redeliver',
    {
      preHandler,
      config: doc('Deliver a past event again (by delivery id or event id)', {
        response: redeliveredSchema,
        responseStatus: 202,
      }),
    },
    async (request, reply) => {
      const { id, delivery } = parseBody(redeliverParams, request.params);
      const row = await service.redeliver(callerOf(request), id, delivery);
      return reply.code(202).send(deliveryView(row));
    },
  );

  app.post(
    '/admin/webhooks/:id/rotate-secret',
    {
      preHandler,
      config: doc('Replace the signing secret (the new one is shown once)', {
        response: webhookWithSecretSchema,
      }),
    },
    async (request, reply) => {
      const { id } = parseBody(webhookIdParams, request.params);
      const { endpoint, secret } = await service.rotateSecret(callerOf(request), id);
      return reply.header('cache-control', 'no-store').send({ ...webhookView(endpoint), secret });
    },
  );

  app.post(
    '/admin/webhooks/:id/enable',
    {
      preHandler,
      config: doc('Re-enable an endpoint disabled after sustained failure', { response: webhookSchema }),
    },
    async (request) => {
      const { id } = parseBody(webhookIdParams, request.params);
      return webhookView(await service.enable(callerOf(request), id));
    },
  );
}
