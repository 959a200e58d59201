import type { FastifyInstance } from 'fastify';
import type { Container } from '../../container.js';
import { tenantGuard } from '../../http/tenant-auth.js';
import { registerAccountFlowRoutes } from './account-flows.js';
import { registerAuditRoute } from './audit.js';
import { registerKeyRoutes } from './keys.js';
import { registerLoginRoutes } from './login.js';
import { registerMemberRoutes } from './members.js';
import { registerSignUpRoute } from './register.js';

export function registerAccountRoutes(app: FastifyInstance, c: Container): void {
  app.decorateRequest('session', null);
  const tenant = tenantGuard(c);
  registerSignUpRoute(app, c);
  registerLoginRoutes(app, c);
  registerKeyRoutes(app, { keys: c.keys, tenant });
  registerAuditRoute(app, c, tenant);
  registerMemberRoutes(app, { members: c.members, tenant });
  registerAccountFlowRoutes(app, c);
}
