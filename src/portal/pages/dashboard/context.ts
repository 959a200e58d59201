import type { FastifyRequest } from 'fastify';
import type { ResolvedSession } from '../../../accounts/sessions.js';
import type { AdminClient } from '../../admin-client.js';
import type { PortalContext, Viewer } from '../../layout.js';

/** Everything a dashboard page needs to render one view for one signed-in user. */
export interface DashboardView {
  ctx: PortalContext;
  admin: AdminClient;
  request: FastifyRequest;
  session: ResolvedSession;
  viewer: Viewer;
}

/** The requests per minute that apply to the tenant: its negotiated override, else its plan's. */
export function tenantRpm(view: DashboardView): number | undefined {
  const { tenant } = view.session;
  return tenant.rpmOverride ?? view.ctx.config.plans[tenant.plan]?.rpm;
}
