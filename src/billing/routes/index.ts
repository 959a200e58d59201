import type { FastifyInstance } from 'fastify';
import type { Container } from '../../container.js';
import { registerOperatorBillingRoutes } from './operator-billing-routes.js';
import { registerTenantBillingRoutes } from './tenant-billing-routes.js';

/** Every billing route: the tenant's balance, usage and invoices, and the operator's credits and closing. */
export function registerBillingRoutes(app: FastifyInstance, container: Container): void {
  registerTenantBillingRoutes(app, container);
  registerOperatorBillingRoutes(app, container);
}
