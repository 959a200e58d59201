import type { Tenant } from '../accounts/tenant-store.js';
import { tenantMayUse } from '../accounts/tenant-store.js';
import type { ModelConfig } from '../config/schema.js';
import { modelNotFound } from '../shared/errors.js';

/** The public model catalog, fixed at boot. */
export class ModelCatalog {
  private readonly byId: Map<string, ModelConfig>;
  /** Stable `created` timestamp for /v1/models: when this process loaded the catalog. */
  readonly createdAt = Math.floor(Date.now() / 1000);

  constructor(readonly models: ModelConfig[]) {
    this.byId = new Map(models.map((m) => [m.id, m]));
  }

  get(id: string): ModelConfig | undefined {
    return this.byId.get(id);
  }

  /** The models a tenant may use, in catalog order. */
  forTenant(tenant: Tenant): ModelConfig[] {
    return this.models.filter((m) => tenantMayUse(tenant, m.id));
  }

  /** The model if the tenant may use it with this endpoint; otherwise the OpenAI 404. */
  resolve(tenant: Tenant, id: string, kind?: ModelConfig['kind']): ModelConfig {
    const model = this.byId.get(id);
    if (!model || !tenantMayUse(tenant, id) || (kind && model.kind !== kind)) throw modelNotFound(id);
    return model;
  }

  /** The OpenAI `model` object. */
  describe(model: ModelConfig) {
    return {
      id: model.id,
      object: 'model' as const,
      created: this.createdAt,
      owned_by: model.ownedBy,
      context_window: model.contextWindow,
      pricing: {
        input_per_mtok: model.pricing.inputPerMTok,
        output_per_mtok: model.pricing.outputPerMTok,
        ...(model.pricing.cachedInputPerMTok === undefined
          ? {}
          : { cached_input_per_mtok: model.pricing.cachedInputPerMTok }),
        ...(model.pricing.cacheWritePerMTok === undefined
          ? {}
          : { cache_write_per_mtok: model.pricing.cacheWritePerMTok }),
        currency: 'USD' as const,
      },
    };
  }
}
