import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Container } from '../container.js';
import type { RouteDoc } from './route-docs.js';

const healthDoc: RouteDoc = {
  summary: 'Liveness: the process is up',
  tags: ['Operations'],
  security: 'none',
  response: z.object({ status: z.literal('ok') }),
};
const readyDoc: RouteDoc = {
  summary: 'Readiness: the database is reachable (503 when not)',
  tags: ['Operations'],
  security: 'none',
  response: z.object({ status: z.enum(['ready', 'not_ready']), checks: z.record(z.string(), z.string()) }),
};

/** `/healthz`: the process is up. `/readyz`: it can serve (database reachable). */
export function registerHealthRoutes(app: FastifyInstance, c: Container): void {
  app.get('/healthz', { config: { openapi: healthDoc } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { openapi: readyDoc } }, async (_request, reply) => {
    const checks: Record<string, string> = {};
    try {
      await c.database.ping();
      checks.database = 'ok';
    } catch {
      checks.database = 'unreachable';
    }
    // 'degraded' (Redis unreachable, per-process fallback) still serves, so it does not fail readiness.
    checks.rate_limiter = c.limiter.status();
    // Likewise 'degraded' usage journal: records still reach the local write-ahead log.
    checks.usage_journal = c.usageJournal();
    const ready = checks.database === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });
}
