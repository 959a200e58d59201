import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Container } from '../container.js';
import { decorateAddressKey } from '../http/client-address.js';
import { installErrorHandling } from '../http/error-handler.js';
import { registerMetricsRoute } from './metrics-routes.js';

/**
 * `/metrics` on a listener of its own (`metrics.port`, `metrics.host`), so the API port never serves
 * it and the operator can bind it to an internal interface only.
 */
export async function startMetricsServer(
  container: Container,
): Promise<{ app: FastifyInstance; url: string }> {
  const { config } = container;
  const port = config.metrics.port ?? 0;
  const host = config.metrics.host ?? config.host;
  const app = Fastify({
    loggerInstance: container.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: config.trustProxy,
  });
  decorateAddressKey(app, config.limits.ipv6PrefixLength);
  installErrorHandling(app, config.publicUrl, () => []);
  registerMetricsRoute(app, container);
  await app.listen({ port, host });
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return { app, url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}` };
}
