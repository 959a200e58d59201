import type { FastifyInstance } from 'fastify';
import { type OperatorBillingRouteDeps, registerOperatorBillingRoutes } from './operator-billing-routes.js';
import { registerTenantBillingRoutes, type TenantBillingRouteDeps } from './tenant-billing-routes.js';

export type BillingRouteDeps = TenantBillingRouteDeps & OperatorBillingRouteDeps;

/** Every billing route: the tenant's balance, usage and invoices, and the operator's credits and closing. */
export function registerBillingRoutes(app: FastifyInstance, deps: BillingRouteDeps): void {
  registerTenantBillingRoutes(app, deps);
  registerOperatorBillingRoutes(app, deps);
}
