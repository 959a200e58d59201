import type { FastifyBaseLogger } from 'fastify';
import type { KeyReaderDeps } from '../../../accounts/key-queries.js';
import type { ResolvedSession } from '../../../accounts/sessions.js';
import type { BillingReaderDeps } from '../../../billing/billing-queries.js';
import type { Payments } from '../../../payments/index.js';
import type { Db } from '../../../shared/db.js';
import { ApiError } from '../../../shared/errors.js';
import type { WebhookReaderDeps } from '../../../webhooks/webhook-queries.js';
import type { PortalContext, Viewer } from '../../layout.js';

/** The read side of the features the dashboard shows: the same query functions `/admin/*` answers with. */
export interface DashboardServices extends KeyReaderDeps, BillingReaderDeps, WebhookReaderDeps {
  db: Db;
  /** Card payments; `payments.stripe` is undefined when the operator sells no credits by card. */
  payments: Payments;
}

/** Everything a dashboard page needs to render one view for one signed-in user. */
export interface DashboardView {
  ctx: PortalContext;
  services: DashboardServices;
  /** Resolved once per page view, by the route's pre-handler. */
  session: ResolvedSession;
  viewer: Viewer;
  /** The request's logger, for sections that fail unexpectedly. */
  log: FastifyBaseLogger;
  requestId: string;
}

/** The requests per minute that apply to the tenant: its negotiated override, else its plan's. */
export function tenantRpm(view: DashboardView): number | undefined {
  const { tenant } = view.session;
  return tenant.rpmOverride ?? view.ctx.config.plans[tenant.plan]?.rpm;
}

/** A part of a page: its data, or why it could not be read (the rest of the page still renders). */
export type Section<T> = { ok: true; data: T } | { ok: false; message: string };

/**
 * Reads one section of a page. A refusal (`ApiError`, e.g. an unknown webhook id) is shown in its
 * own words; anything else is logged and shown with the request id, as the API would answer it.
 */
export async function loadSection<T>(view: DashboardView, read: () => Promise<T>): Promise<Section<T>> {
  try {
    return { ok: true, data: await read() };
  } catch (err) {
    if (err instanceof ApiError) return { ok: false, message: err.message };
    view.log.error({ err }, 'dashboard section failed');
    return { ok: false, message: `An internal error occurred (request ${view.requestId}).` };
  }
}
