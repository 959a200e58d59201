import type { FastifyInstance } from 'fastify';
import type { Container } from '../../container.js';
import { tenantGuard } from '../../http/tenant-auth.js';
import { registerAccountFlowRoutes } from './account-flows.js';
import { registerAuditRoute } from './audit.js';
import { registerKeyRoutes } from './keys.js';
import { registerLoginRoutes } from './login.js';
import { registerMemberRoutes } from './members.js';
import { registerSignUpRoute } from './register.js';
import { registerSsoRoutes } from './sso.js';

export function registerAccountRoutes(app: FastifyInstance, container: Container): void {
  app.decorateRequest('session', null);
  const tenant = tenantGuard(container);
  registerSignUpRoute(app, container);
  registerLoginRoutes(app, container);
  registerKeyRoutes(app, { keys: container.keys, tenant });
  registerAuditRoute(app, container, tenant);
  registerMemberRoutes(app, {
    members: container.members,
    invitations: container.invitations,
    tenant,
    connectedApps: container.oauth.grants,
  });
  registerAccountFlowRoutes(app, container);
  registerSsoRoutes(app, container);
}
