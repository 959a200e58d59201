import type { FastifyInstance } from 'fastify';
import type { Container } from '../container.js';

/** Request counters and latency for every route, and `GET /metrics` in Prometheus text format. */
export function registerMetrics(app: FastifyInstance, c: Container): void {
  const { metrics } = c;
  app.addHook('onRequest', async (request, reply) => {
    // 'close' fires for normal replies and for hijacked streams alike, when the last byte is gone.
    reply.raw.once('close', () => {
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.httpRequests.inc({ route, method: request.method, status: String(reply.raw.statusCode) });
      metrics.httpDuration.observe(
        { route, method: request.method },
        (performance.now() - request.startedAt) / 1000,
      );
    });
  });

  app.get(
    '/metrics',
    {
      config: {
        openapi: {
          summary: 'Prometheus metrics',
          tags: ['Operations'],
          security: 'none',
          responseContentType: 'text/plain',
        },
      },
    },
    async (_request, reply) => {
      const pool = c.database.poolStats?.();
      if (pool) {
        metrics.dbPoolConnections.set({ state: 'total' }, pool.total);
        metrics.dbPoolConnections.set({ state: 'idle' }, pool.idle);
        metrics.dbPoolConnections.set({ state: 'waiting' }, pool.waiting);
      }
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  );
}
