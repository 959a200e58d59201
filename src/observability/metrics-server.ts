import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Container } from '../container.js';
import { decorateAddressKey } from '../http/client-address.js';
import { installErrorHandling } from '../http/error-handler.js';
import { type MetricsRouteDeps, registerMetricsRoute } from './metrics-routes.js';

/** The `/metrics` route's dependencies and the logger of its listener. */
export type MetricsServerDeps = Pick<Container, 'logger'> & MetricsRouteDeps;

/**
 * `/metrics` on a listener of its own (`metrics.port`, `metrics.host`), so the API port never serves
 * it and the operator can bind it to an internal interface only.
 */
export async function startMetricsServer(
  deps: MetricsServerDeps,
): Promise<{ app: FastifyInstance; url: string }> {
  const { config } = deps;
  const port = config.metrics.port ?? 0;
  const host = config.metrics.host ?? config.host;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: config.trustProxy,
  });
  decorateAddressKey(app, config.limits.ipv6PrefixLength);
  installErrorHandling(app, config.publicUrl, () => []);
  registerMetricsRoute(app, deps);
  await app.listen({ port, host });
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return { app, url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}` };
}
