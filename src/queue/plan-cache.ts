import type { MappingPlan } from '../mapping/mapping-plan.js';
import type { SyncDeps } from '../app/sync-deps.js';
import { prepareMappings } from '../pipeline/prepare-mappings.js';
import { ConnectorError } from '../shared/errors.js';

/**
 * The checked mapping plan, shared by all workers: prepared once (creating
 * missing custom fields), refreshed now and then so definition changes in
 * iPaaS.com are noticed; a failure is remembered briefly, not per record.
 */
export class PlanCache {
  private plan: MappingPlan | undefined;
  private error: unknown;
  private at = 0;
  private pending: Promise<MappingPlan> | undefined;

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

  private async load(): Promise<MappingPlan> {
    try {
      const prepared = await prepareMappings(this.deps.config, this.deps.ipaas);
      if ('disabled' in prepared) {
        throw new ConnectorError('CONFIG_INVALID', prepared.disabled, { fix: 'Set status: Enabled on the mapping collections to process records.' });
      }
      if (prepared.created.length) this.deps.logger.info({ created: prepared.created }, 'created custom fields in iPaaS.com');
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
