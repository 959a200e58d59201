import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Container } from '../container.js';
import { defineRoute } from '../http/define-route.js';
import { type OperatorAuthDeps, operatorGuard } from '../operator/operator-auth.js';
import { readOutbox } from './outbox-mailer.js';

/** The operator guard and the outbox table. */
export type OutboxRouteDeps = Pick<Container, 'database'> & OperatorAuthDeps;

const mailSchema = z.object({
  id: z.string(),
  object: z.literal('mail'),
  to: z.string(),
  subject: z.string(),
  text: z.string(),
  created: z.number().int(),
});

/** `GET /operator/outbox`: the mails of a deployment without SMTP, for the operator to pass on. */
export function registerOutboxRoute(app: FastifyInstance, deps: OutboxRouteDeps): void {
  defineRoute(app, {
    method: 'GET',
    url: '/operator/outbox',
    guard: operatorGuard(deps),
    doc: {
      summary: 'Mails kept while no SMTP server is configured, newest first',
      description:
        'Invitations, verification and password reset mails go here (and to the server log) when SIMO_SMTP_URL is unset. Empty when mail goes out over SMTP.',
      tags: ['Operator'],
    },
    schema: {
      querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
      response: { 200: z.object({ object: z.literal('list'), data: z.array(mailSchema) }) },
    },
    handler: async (request) => ({
      object: 'list' as const,
      data: await readOutbox(deps.database.db, request.query.limit),
    }),
  });
}
