import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Container } from '../container.js';
import { defineRoute, publicRoute } from './define-route.js';

const readiness = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z
    .record(z.string(), z.string())
    .describe('`database`: ok or unreachable; `rate_limiter` and `usage_journal`: their current mode'),
});

/** What the health routes read. */
export type HealthDeps = Pick<Container, 'database' | 'limiter' | 'usageJournal'>;

/** `/healthz`: the process is up. `/readyz`: it can serve (database reachable). */
export function registerHealthRoutes(app: FastifyInstance, deps: HealthDeps): void {
  defineRoute(app, {
    method: 'GET',
    url: '/healthz',
    guard: publicRoute,
    doc: {
      summary: 'Liveness: the process is up',
      description: 'Answers as long as the process serves HTTP; use it as a liveness probe.',
      tags: ['Operations'],
    },
    schema: { response: { 200: z.object({ status: z.literal('ok') }) } },
    handler: async () => ({ status: 'ok' as const }),
  });

  defineRoute(app, {
    method: 'GET',
    url: '/readyz',
    guard: publicRoute,
    doc: {
      summary: 'Readiness: the database is reachable (503 when not)',
      description:
        'Use it as a readiness probe: 200 while the database answers, 503 with the same body otherwise.',
      tags: ['Operations'],
    },
    schema: { response: { 200: readiness, 503: readiness } },
    handler: async (_request, reply) => {
      const checks: Record<string, string> = {};
      try {
        await deps.database.ping();
        checks.database = 'ok';
      } catch {
        checks.database = 'unreachable';
      }
      checks.rate_limiter = deps.limiter.status();
      checks.usage_journal = deps.usageJournal();
      const ready = checks.database === 'ok';
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    },
  });
}
