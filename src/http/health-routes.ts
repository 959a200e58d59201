import type { FastifyInstance } from 'fastify';
import type { Container } from '../container.js';

/** `/healthz`: the process is up. `/readyz`: it can serve (database reachable). */
export function registerHealthRoutes(app: FastifyInstance, c: Container): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const checks: Record<string, string> = {};
    try {
      await c.database.ping();
      checks.database = 'ok';
    } catch {
      checks.database = 'unreachable';
    }
    // 'degraded' (Redis unreachable, per-process fallback) still serves, so it does not fail readiness.
    checks.rate_limiter = c.limiter.status();
    const ready = checks.database === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });
}
