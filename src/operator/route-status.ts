import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Container } from '../container.js';
import { defineRoute } from '../http/define-route.js';
import { type OperatorAuthDeps, operatorGuard } from './operator-auth.js';

const routeStatusSchema = z.object({
  object: z.literal('route'),
  /** `provider/upstream-model`. */
  id: z.string(),
  provider: z.string(),
  upstream_model: z.string(),
  /** Public models served by it. */
  models: z.array(z.string()),
  /** `closed`, `half-open`, `open`; null when its provider has no breaker. */
  breaker: z.enum(['closed', 'half-open', 'open']).nullable(),
  /** While open: when the next probe may go (Unix ms). */
  open_until: z.number().nullable(),
  outstanding: z.number().int(),
  /** Moving average of the time to first byte, ms; null before any answer. */
  latency_ms: z.number().nullable(),
  /** Moving average of failures per attempt (0–1). */
  error_rate: z.number(),
  attempts: z.number().int(),
  failures: z.number().int(),
});

/** Every route's health as this replica sees it, in catalog order. */
export function routeStatus(
  deps: Pick<Container, 'catalog' | 'router'>,
): z.infer<typeof routeStatusSchema>[] {
  const models = new Map<string, string[]>();
  for (const model of deps.catalog.models)
    for (const target of deps.router.table.routesOf(model).targets) {
      const served = models.get(target.health.key) ?? [];
      if (!served.includes(model.id)) served.push(model.id);
      models.set(target.health.key, served);
    }
  return deps.router.table.all().map((h) => ({
    object: 'route' as const,
    id: h.key,
    provider: h.provider,
    upstream_model: h.upstreamModel,
    models: models.get(h.key) ?? [],
    breaker: h.breaker ? h.state : null,
    open_until: h.breaker && h.state === 'open' ? h.openUntil : null,
    outstanding: h.outstanding,
    latency_ms: h.latencyMs === 0 ? null : Math.round(h.latencyMs * 10) / 10,
    error_rate: Math.round(h.errorRate * 1000) / 1000,
    attempts: h.attempts,
    failures: h.failures,
  }));
}

/** The operator guard, the catalog and the router's route table. */
export type RouteStatusRouteDeps = Pick<Container, 'catalog' | 'router'> & OperatorAuthDeps;

/** `GET /operator/routes`: the routes, their circuit breakers, latency and error rate on this replica. */
export function registerRouteStatusRoute(app: FastifyInstance, deps: RouteStatusRouteDeps): void {
  defineRoute(app, {
    method: 'GET',
    url: '/operator/routes',
    guard: operatorGuard(deps),
    doc: {
      summary: 'Routes to the model servers: circuit breaker, latency, error rate (this replica)',
      description:
        'One entry per provider and upstream model. Breaker state is shared by the replicas when Redis is configured; latency, requests in flight and error rate are this replica’s. The status page `/operator/status` shows the same.',
      tags: ['Operator'],
    },
    schema: {
      response: { 200: z.object({ object: z.literal('list'), data: z.array(routeStatusSchema) }) },
    },
    handler: async () => ({ object: 'list' as const, data: routeStatus(deps) }),
  });
}
