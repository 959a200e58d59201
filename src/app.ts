import { parse as parseQueryString } from 'node:querystring';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import FindMyWay from 'find-my-way';
import { registerBillingRoutes } from './billing/routes/index.js';
import type { Container } from './container.js';
import { registerGatewayRoutes } from './gateway/routes/index.js';
import { decorateAddressKey } from './http/client-address.js';
import { answerUnmetExpectation, clientErrorHandler, missingHost } from './http/client-errors.js';
import { ConnectionGuard } from './http/connection-guard.js';
import { registerCookies } from './http/cookies.js';
import { installErrorHandling, sendError } from './http/error-handler.js';
import { registerHealthRoutes } from './http/health-routes.js';
import { containsNul, nulInBody, nulInUrl } from './http/nul-guard.js';
import { trustedProxies } from './http/trusted-proxies.js';
import { installZodSchemas } from './http/zod-schemas.js';
import { ApiError } from './shared/errors.js';
import './http/request-context.js';
import { registerA2aRoutes } from './a2a/routes.js';
import { registerAccountRoutes } from './accounts/routes/index.js';
import { RouteRegistry } from './discovery/route-registry.js';
import { registerDiscoveryRoutes } from './discovery/routes.js';
import { registerOutboxRoute } from './mail/outbox-routes.js';
import { registerMcpRoutes } from './mcp/routes.js';
import { registerOAuthServerRoutes } from './oauth/routes.js';
import { registerMetrics } from './observability/metrics-routes.js';
import { lazyRequestLogger } from './observability/request-logger.js';
import { registerRouteStatusRoute } from './operator/route-status.js';
import { registerOperatorRoutes } from './operator/routes.js';
import { registerPaymentRoutes } from './payments/routes.js';
import { registerPortalRoutes } from './portal/routes.js';
import { newRequestId } from './shared/ids.js';
import { registerWebhookRoutes } from './webhooks/routes/index.js';

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * Builds the HTTP application from a container. No I/O happens here beyond what the container's
 * services do per request, so tests can build as many apps as they like.
 */
export async function createApp(container: Container): Promise<FastifyInstance> {
  const { config } = container;
  const trustProxy = trustedProxies(config.trustProxy);
  const app = Fastify({
    loggerInstance: container.logger as FastifyBaseLogger,
    // Per-request logs cost throughput on the hot path; errors are still logged with their request id.
    logController: new LogController({ disableRequestLogging: true }),
    // `request.log` is made on first use: a pino child per request costs even when nothing logs.
    childLoggerFactory: lazyRequestLogger,
    bodyLimit: config.limits.maxBodyBytes,
    // Always our own id: it keys usage records (metered exactly once), so a caller must not choose it.
    genReqId: () => newRequestId(),
    // Client addresses (per-address guards, audit log) come from X-Forwarded-For only behind trusted proxies.
    trustProxy,
    return503OnClosing: true,
    // Slow clients: a request's head, and the whole request, must arrive in time (Node answers 408);
    // the response is not bounded by these. Checked often enough that the timeouts hold to the second.
    requestTimeout: config.limits.requestTimeoutMs,
    http: {
      headersTimeout: config.limits.headersTimeoutMs,
      requestTimeout: config.limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(
        50,
        Math.min(1000, Math.floor(config.limits.headersTimeoutMs / 4)),
      ),
      // A request without Host is refused in onRequest below, in our envelope instead of Node's bare 400.
      requireHostHeader: false,
    },
    clientErrorHandler,
    // Errors the router raises before any route runs (over-long path parameters, malformed URLs)
    // get the same envelope and request id as everything else.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      const apiError =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new ApiError('not_found', 'The requested resource was not found.')
          : new ApiError('invalid_request', 'The request URL is malformed.');
      return sendError(apiError, request, reply, config.publicUrl);
    },
    forceCloseConnections: false,
  });

  // Route schemas are zod: they validate requests and, in development, check responses.
  installZodSchemas(app, { checkResponses: config.checkResponses });
  // Collects every route's OpenAPI metadata; must be attached before any route is registered.
  const routeRegistry = new RouteRegistry();
  routeRegistry.attach(app);

  // A second router that knows every route regardless of method, to answer 405 instead of 404.
  const methodsByPath = FindMyWay();
  const allowed = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    let set = allowed.get(route.url);
    if (!set) {
      set = new Set();
      allowed.set(route.url, set);
      methodsByPath.on('GET', route.url, () => {}, { pattern: route.url });
    }
    for (const m of methods) set.add(m);
  });
  const allowedMethods = (url: string) => {
    const found = methodsByPath.find('GET', url.split('?')[0] ?? url);
    const pattern = (found?.store as { pattern?: string } | undefined)?.pattern;
    return pattern ? HTTP_METHODS.filter((m) => allowed.get(pattern)?.has(m)) : [];
  };

  app.decorateRequest('auth', null);
  decorateAddressKey(app, config.limits.ipv6PrefixLength);
  app.decorateRequest('startedAt', 0);
  app.decorateRequest('counted', null);
  app.decorateRequest('sentBody', undefined);
  const connections = new ConnectionGuard(
    config.limits.maxConnectionsPerAddress,
    trustProxy,
    config.limits.ipv6PrefixLength,
  );
  connections.attach(app.server);
  app.server.on('checkExpectation', answerUnmetExpectation);
  // A callback hook, not an async one: no promise per request for a hook that never waits.
  app.addHook('onRequest', (request, reply, done) => {
    request.startedAt = performance.now();
    reply.header('x-request-id', request.id);
    try {
      connections.check(request, reply);
    } catch (err) {
      return done(err as Error);
    }
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') return done(missingHost());
    done(request.url.includes('%00') ? nulInUrl() : undefined);
  });
  installErrorHandling(app, config.publicUrl, allowedMethods);
  await app.register(formbody, {
    bodyLimit: config.limits.maxBodyBytes,
    parser: (text) => {
      if (text.includes('%00')) throw nulInBody();
      return parseQueryString(text);
    },
  });
  await registerCookies(app, config.publicUrl);
  // Many clients send `Content-Type: application/json` with no body on POSTs that take none
  // (e.g. …/test, …/rotate): treat that as "no body" instead of a parse error.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    // Only bodies that spell a NUL escape at all are scanned after parsing: the hot path pays one indexOf.
    if (!text.includes('\\u0000')) return parseJson(request, text, done);
    return parseJson(request, text, (err, parsed) =>
      err ? done(err) : containsNul(parsed) ? done(nulInBody()) : done(null, parsed),
    );
  });

  registerMetrics(app, container);
  registerHealthRoutes(app, container);
  registerAccountRoutes(app, container);
  registerWebhookRoutes(app, container);
  registerOperatorRoutes(app, container);
  registerOutboxRoute(app, container);
  registerRouteStatusRoute(app, container);
  registerBillingRoutes(app, container);
  registerPaymentRoutes(app, container);
  registerGatewayRoutes(app, container);
  registerDiscoveryRoutes(app, container, routeRegistry);
  registerMcpRoutes(app, container);
  registerA2aRoutes(app, container);
  registerOAuthServerRoutes(app, container);
  registerPortalRoutes(app, container);
  return app;
}
