import { recordAudit } from '../accounts/audit-log.js';
import type { RevocationBus } from '../accounts/revocation-bus.js';
import {
  findTenant,
  listTenants,
  type Tenant,
  type TenantSettings,
  updateTenant,
} from '../accounts/tenant-store.js';
import type { Db } from '../shared/db.js';
import { ApiError, notFound } from '../shared/errors.js';

/** Who changes a tenant: `operator` (HTTP API) or `cli`, and from where. */
export interface OperatorActor {
  actor: string;
  ip: string | null;
}

/**
 * The operator's view of tenants, shared by `/operator/tenants*` and the `simosphere tenant` CLI:
 * validates settings against the config, records one audit entry per change and tells every
 * replica to drop cached keys and settings of the tenant.
 */
export class OperatorTenants {
  constructor(
    private readonly db: Db,
    private readonly revocations: RevocationBus,
    private readonly known: { plans: string[]; models: string[] },
  ) {}

  list(page: { limit: number; after?: string | undefined }) {
    return listTenants(this.db, page);
  }

  async get(id: string): Promise<Tenant> {
    const tenant = await findTenant(this.db, id);
    if (!tenant) throw notFound('Tenant');
    return tenant;
  }

  /** Applies the given settings (absent ones stay as they are) and returns the updated tenant. */
  async update(id: string, settings: TenantSettings, by: OperatorActor): Promise<Tenant> {
    this.validate(settings);
    const now = Date.now();
    await this.db.transaction().execute(async (trx) => {
      const before = await findTenant(trx, id);
      if (!before) throw notFound('Tenant');
      await updateTenant(trx, id, settings, now);
      for (const change of describeChanges(before, settings)) {
        await recordAudit(trx, { tenantId: id, actor: by.actor, target: id, ip: by.ip, ...change }, now);
      }
    });
    await this.revocations.publish({ kind: 'tenant', tenantId: id });
    return this.get(id);
  }

  private validate(s: TenantSettings): void {
    if (s.plan !== undefined && !this.known.plans.includes(s.plan))
      throw new ApiError(
        'invalid_parameter',
        `Unknown plan '${s.plan}'. Known plans: ${this.known.plans.join(', ')}.`,
        'plan',
      );
    if (s.allowedModels) {
      s.allowedModels.forEach((m, i) => {
        if (!this.known.models.includes(m))
          throw new ApiError(
            'invalid_parameter',
            `Unknown model '${m}': not in the catalog.`,
            `models[${i}]`,
          );
      });
    }
  }
}

/** One audit entry per setting that actually changes. */
function describeChanges(
  before: Tenant,
  s: TenantSettings,
): Array<{ action: string; detail: Record<string, unknown> }> {
  const out: Array<{ action: string; detail: Record<string, unknown> }> = [];
  if (s.plan !== undefined && s.plan !== before.plan)
    out.push({ action: 'tenant.plan_changed', detail: { from: before.plan, to: s.plan } });
  if (s.rpmOverride !== undefined && s.rpmOverride !== before.rpmOverride)
    out.push({ action: 'tenant.rpm_changed', detail: { from: before.rpmOverride, to: s.rpmOverride } });
  if (
    s.allowedModels !== undefined &&
    JSON.stringify(s.allowedModels) !== JSON.stringify(before.allowedModels)
  )
    out.push({
      action: 'tenant.models_changed',
      detail: { from: before.allowedModels, to: s.allowedModels },
    });
  if (s.suspended !== undefined && s.suspended !== before.suspended)
    out.push({ action: s.suspended ? 'tenant.suspended' : 'tenant.resumed', detail: {} });
  if (s.name !== undefined && s.name !== before.name)
    out.push({ action: 'tenant.renamed', detail: { from: before.name, to: s.name } });
  return out;
}
