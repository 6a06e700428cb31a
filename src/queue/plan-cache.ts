import type { MappingPlan } from '../mapping/mapping-plan.js';
import type { SyncDeps } from '../app/sync-deps.js';
import { entityModel, type EntityName } from '../ipaas/entities.js';
import { createCustomFields, prepareMappings } from '../pipeline/prepare-mappings.js';
import { ConnectorError } from '../shared/errors.js';

/** One data model's checked plan, its last failure, and the custom fields it counts on creating. */
class ModelPlan {
  plan: MappingPlan | undefined;
  error: unknown;
  at = 0;
  pending: Promise<MappingPlan> | undefined;
  toCreate: string[] = [];
  creating: Promise<void> | undefined;
}

/**
 * The checked mapping plans (one per data model: Customer, Product), shared by all workers: prepared
 * once, refreshed now and then so definition changes in iPaaS.com are noticed; a failure is remembered
 * briefly, not per record. Missing custom fields the connector may create are planned, and created only
 * when a record is about to be written (`ensureCustomFields`): a run that writes nothing (records not
 * found, an empty PromptText) leaves iPaaS.com as it was.
 */
export class PlanCache {
  private readonly models = new Map<EntityName, ModelPlan>();
  /** Custom fields this cache created in iPaaS.com. */
  readonly created: string[] = [];

  constructor(
    private readonly deps: SyncDeps,
    private readonly ttlMs = 60_000,
    private readonly errorTtlMs = 5_000,
  ) {}

  private of(entity: EntityName | undefined): ModelPlan {
    const name = entityModel(entity).name;
    let m = this.models.get(name);
    if (!m) this.models.set(name, (m = new ModelPlan()));
    return m;
  }

  get(entity?: EntityName): Promise<MappingPlan> {
    const m = this.of(entity);
    const age = Date.now() - m.at;
    if (m.plan && age < this.ttlMs) return Promise.resolve(m.plan);
    if (m.error !== undefined && age < this.errorTtlMs) return Promise.reject(m.error);
    m.pending ??= this.load(m, entityModel(entity).name).finally(() => (m.pending = undefined));
    return m.pending;
  }

  /** The last known problem of the customer plan (the one every setup has), for readiness checks. */
  lastError(): unknown {
    return this.of('customer').error;
  }

  invalidate(entity?: EntityName): void {
    this.of(entity).at = 0;
  }

  /** Creates the custom fields a model's current plan counts on (once, however many workers ask). */
  ensureCustomFields(entity?: EntityName): Promise<void> {
    const m = this.of(entity);
    if (m.toCreate.length === 0) return Promise.resolve();
    const names = m.toCreate;
    m.creating ??= createCustomFields(this.deps.config, this.deps.ipaas, names, entityModel(entity))
      .then(({ created }) => {
        if (m.toCreate === names) m.toCreate = [];
        this.created.push(...created);
        if (created.length) this.deps.logger.info({ created, module: entityModel(entity).label }, 'created custom fields in iPaaS.com');
      })
      .finally(() => (m.creating = undefined));
    return m.creating;
  }

  private async load(m: ModelPlan, entity: EntityName): Promise<MappingPlan> {
    try {
      const prepared = await prepareMappings(this.deps.config, this.deps.ipaas, { dryRun: true, entity });
      if ('disabled' in prepared) {
        throw new ConnectorError('CONFIG_INVALID', prepared.disabled, { fix: 'Set status: Enabled on the mapping collections to process records.' });
      }
      m.toCreate = prepared.wouldCreate;
      // Attempts name the PromptText by its version; the text is kept once.
      await this.deps.store.prompts.remember(prepared.plan.promptVersion);
      m.plan = prepared.plan;
      m.error = undefined;
      m.at = Date.now();
      return m.plan;
    } catch (err) {
      m.error = err;
      m.plan = undefined;
      m.at = Date.now();
      throw err;
    }
  }
}
