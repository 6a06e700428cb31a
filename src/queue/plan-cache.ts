import type { MappingPlan } from '../mapping/mapping-plan.js';
import type { SyncDeps } from '../app/sync-deps.js';
import { createCustomFields, prepareMappings } from '../pipeline/prepare-mappings.js';
import { ConnectorError } from '../shared/errors.js';

/**
 * The checked mapping plan, shared by all workers: prepared once, refreshed now and then so definition
 * changes in iPaaS.com are noticed; a failure is remembered briefly, not per record. Missing custom
 * fields the connector may create are planned, and created only when a record is about to be written
 * (`ensureCustomFields`): a run that writes nothing (customers not found, an empty PromptText) leaves
 * iPaaS.com as it was.
 */
export class PlanCache {
  private plan: MappingPlan | undefined;
  private error: unknown;
  private at = 0;
  private pending: Promise<MappingPlan> | undefined;
  private toCreate: string[] = [];
  private creating: Promise<void> | undefined;
  /** Custom fields this cache created in iPaaS.com. */
  readonly created: string[] = [];

  constructor(
    private readonly deps: SyncDeps,
    private readonly ttlMs = 60_000,
    private readonly errorTtlMs = 5_000,
  ) {}

  get(): Promise<MappingPlan> {
    const age = Date.now() - this.at;
    if (this.plan && age < this.ttlMs) return Promise.resolve(this.plan);
    if (this.error !== undefined && age < this.errorTtlMs) return Promise.reject(this.error);
    this.pending ??= this.load().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** The last known problem, for readiness checks. */
  lastError(): unknown {
    return this.error;
  }

  invalidate(): void {
    this.at = 0;
  }

  /** Creates the custom fields the current plan counts on (once, however many workers ask). */
  ensureCustomFields(): Promise<void> {
    if (this.toCreate.length === 0) return Promise.resolve();
    const names = this.toCreate;
    this.creating ??= createCustomFields(this.deps.config, this.deps.ipaas, names)
      .then(({ created }) => {
        if (this.toCreate === names) this.toCreate = [];
        this.created.push(...created);
        if (created.length) this.deps.logger.info({ created }, 'created custom fields in iPaaS.com');
      })
      .finally(() => (this.creating = undefined));
    return this.creating;
  }

  private async load(): Promise<MappingPlan> {
    try {
      const prepared = await prepareMappings(this.deps.config, this.deps.ipaas, { dryRun: true });
      if ('disabled' in prepared) {
        throw new ConnectorError('CONFIG_INVALID', prepared.disabled, { fix: 'Set status: Enabled on the mapping collections to process records.' });
      }
      this.toCreate = prepared.wouldCreate;
      // Attempts name the PromptText by its version; the text is kept once.
      await this.deps.store.prompts.remember(prepared.plan.promptVersion);
      this.plan = prepared.plan;
      this.error = undefined;
      this.at = Date.now();
      return this.plan;
    } catch (err) {
      this.error = err;
      this.plan = undefined;
      this.at = Date.now();
      throw err;
    }
  }
}
