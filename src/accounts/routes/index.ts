import type { FastifyInstance } from 'fastify';
import type { Container } from '../../container.js';
import { type TenantAuthDeps, tenantGuard } from '../../http/tenant-auth.js';
import { type AccountFlowDeps, registerAccountFlowRoutes } from './account-flows.js';
import { type AuditRouteDeps, registerAuditRoute } from './audit.js';
import { registerKeyRoutes } from './keys.js';
import { type LoginDeps, registerLoginRoutes } from './login.js';
import { registerMemberRoutes } from './members.js';
import { registerSignUpRoute, type SignUpDeps } from './register.js';
import { registerSsoRoutes, type SsoRouteDeps } from './sso.js';

/** The tenant guard, keys, members and connected apps, and what each group of account routes uses. */
export type AccountRouteDeps = Pick<Container, 'keys' | 'members' | 'invitations' | 'oauth'> &
  TenantAuthDeps &
  SignUpDeps &
  LoginDeps &
  AuditRouteDeps &
  AccountFlowDeps &
  SsoRouteDeps;

export function registerAccountRoutes(app: FastifyInstance, deps: AccountRouteDeps): void {
  app.decorateRequest('session', null);
  const tenant = tenantGuard(deps);
  registerSignUpRoute(app, deps);
  registerLoginRoutes(app, deps);
  registerKeyRoutes(app, { keys: deps.keys, tenant });
  registerAuditRoute(app, deps, tenant);
  registerMemberRoutes(app, {
    members: deps.members,
    invitations: deps.invitations,
    tenant,
    connectedApps: deps.oauth.grants,
  });
  registerAccountFlowRoutes(app, deps);
  registerSsoRoutes(app, deps);
}
