import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Container } from '../container.js';
import { assertAddressAllowed } from '../http/address-guard.js';
import { bearerTokenCheck } from '../http/bearer-token.js';
import { defineRoute, guard } from '../http/define-route.js';
import { ApiError } from '../shared/errors.js';

/** The metrics registry, the token (config), the limiter for wrong tokens and the database pool's figures. */
export type MetricsRouteDeps = Pick<Container, 'config' | 'metrics' | 'database' | 'limiter'>;

/**
 * Request counters and latency for every route, and `GET /metrics` in Prometheus text format on the
 * API port unless `metrics.port` gives it a listener of its own (see `startMetricsServer`).
 */
export function registerMetrics(app: FastifyInstance, deps: MetricsRouteDeps): void {
  const { metrics } = deps;
  // A callback hook, not an async one: no promise per request for a hook that never waits.
  app.addHook('onRequest', (request, reply, done) => {
    // 'close' fires for normal replies and for hijacked streams alike, when the last byte is gone.
    reply.raw.once('close', () => {
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.httpRequests.inc({ route, method: request.method, status: String(reply.raw.statusCode) });
      metrics.httpDuration.observe(
        { route, method: request.method },
        (performance.now() - request.startedAt) / 1000,
      );
    });
    done();
  });
  if (deps.config.metrics.port === undefined) registerMetricsRoute(app, deps);
}

/** `GET /metrics`, behind `metrics.token` when one is configured. */
export function registerMetricsRoute(app: FastifyInstance, deps: MetricsRouteDeps): void {
  const { metrics } = deps;
  const token = deps.config.metrics.token;
  const check = token ? bearerTokenCheck(token) : undefined;
  // A wrong token counts against the caller's address like any failed authentication.
  const metricsToken = async (request: FastifyRequest) => {
    if (!check) return;
    assertAddressAllowed(deps.limiter, request.addressKey);
    const outcome = check(request.headers.authorization);
    if (outcome === 'ok') return;
    if (outcome === 'wrong') await deps.limiter.recordAuthFailure(request.addressKey);
    throw new ApiError(
      'invalid_metrics_token',
      'The metrics need "Authorization: Bearer <SIMO_METRICS_TOKEN>".',
    );
  };
  defineRoute(app, {
    method: 'GET',
    url: '/metrics',
    // Documented as public: the token is optional and set by whoever runs the platform.
    guard: guard('none', metricsToken),
    doc: {
      summary: 'Prometheus metrics (bearer SIMO_METRICS_TOKEN when configured)',
      description:
        'Request counts and latencies per route, upstream calls, rate-limit decisions, credits, webhook deliveries and the database pool, in the Prometheus text format.',
      tags: ['Operations'],
      responseContentType: 'text/plain',
    },
    handler: async (_request, reply) => {
      const pool = deps.database.poolStats?.();
      if (pool) {
        metrics.dbPoolConnections.set({ state: 'total' }, pool.total);
        metrics.dbPoolConnections.set({ state: 'idle' }, pool.idle);
        metrics.dbPoolConnections.set({ state: 'waiting' }, pool.waiting);
      }
      return reply.type(metrics.registry.contentType).send(await metrics.text());
    },
  });
}
