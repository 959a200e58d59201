import type { FastifyInstance } from 'fastify';
import type { Container } from '../../container.js';
import { registerAuditRoute } from './audit.js';
import { registerKeyRoutes } from './keys.js';
import { registerLoginRoutes } from './login.js';
import { registerSignUpRoute } from './register.js';

export function registerAccountRoutes(app: FastifyInstance, c: Container): void {
  app.decorateRequest('session', null);
  registerSignUpRoute(app, c);
  registerLoginRoutes(app, c);
  registerKeyRoutes(app, c);
  registerAuditRoute(app, c);
}
