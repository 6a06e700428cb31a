import type { ConnectorConfig, TriggerEvent } from '../config/schema.js';
import type { IpaasClient } from '../ipaas/ipaas-client.js';
import { UpstreamError } from '../shared/errors.js';
import { isStandardField } from '../ipaas/customer-model.js';
import { selectCollections, type ActiveCollections } from '../mapping/collections.js';
import { checkFields, promptTextError, type FieldProblem } from '../mapping/check-fields.js';
import { FieldCatalog } from '../mapping/field-catalog.js';
import { buildMappingPlan, type MappingPlan } from '../mapping/mapping-plan.js';

export interface PreparedMappings {
  plan: MappingPlan;
  /** Custom fields created in iPaaS.com during this preparation. */
  created: string[];
  /** Custom fields that would be created (dry run). */
  wouldCreate: string[];
}

export type Preparation = PreparedMappings | { disabled: string };

/**
 * Checks the mappings against iPaaS.com's field definitions before any record
 * is sent. Missing custom fields that the config defines are created when
 * sync.autoCreateCustomFields is on (or only reported, in a dry run).
 */
export async function prepareMappings(
  config: ConnectorConfig,
  ipaas: IpaasClient,
  options: { dryRun?: boolean; trigger?: TriggerEvent } = {},
): Promise<Preparation> {
  const active = selectCollections(config, options.trigger);
  if ('disabled' in active) return active;
  // Before anything is created in iPaaS.com: a config that cannot run changes nothing there.
  const noPrompt = promptTextError(active);
  if (noPrompt) throw noPrompt;
  const definitions = await ipaas.listCustomFields();
  let catalog = new FieldCatalog(definitions);
  const created: string[] = [];
  const wouldCreate: string[] = [];
  const madeElsewhere: string[] = [];

  const problems = checkFields(active, catalog, plannedTypes(config));
  if (problems.length && config.sync.autoCreateCustomFields) {
    const names = creatableFields(config, problems).map((name) => config.customFields.find((d) => d.name.toLowerCase() === name)!.name);
    if (options.dryRun) wouldCreate.push(...names);
    else {
      const made = await createCustomFields(config, ipaas, names);
      created.push(...made.created);
      madeElsewhere.push(...made.madeElsewhere);
    }
    const planned = [...definitions, ...config.customFields.filter((d) => [...created, ...wouldCreate, ...madeElsewhere].includes(d.name)).map((d) => ({ name: d.name, data_type: d.dataType }))];
    catalog = new FieldCatalog(planned);
  }
  return { plan: buildMappingPlan(active, catalog, plannedTypes(config), config.privacy.hashKey), created, wouldCreate };
}

/**
 * Creates these custom fields (defined in config.customFields) in iPaaS.com. A field that another
 * instance (or a person) created a moment ago answers 409 and is taken as there.
 */
export async function createCustomFields(config: ConnectorConfig, ipaas: IpaasClient, names: string[]): Promise<{ created: string[]; madeElsewhere: string[] }> {
  const created: string[] = [];
  const madeElsewhere: string[] = [];
  for (const name of names) {
    const def = config.customFields.find((d) => d.name.toLowerCase() === name.toLowerCase())!;
    try {
      await ipaas.createCustomField({ name: def.name, data_type: def.dataType, description: def.description });
      created.push(def.name);
    } catch (err) {
      const exists = err instanceof UpstreamError && err.status === 409 && (await ipaas.listCustomFields()).some((d) => d.name.toLowerCase() === def.name.toLowerCase());
      if (!exists) throw err;
      madeElsewhere.push(def.name);
    }
  }
  return { created, madeElsewhere };
}

/** Data types the config gives custom fields, so a "create it" fix can name the type. */
function plannedTypes(config: ConnectorConfig): Record<string, string> {
  return Object.fromEntries(config.customFields.map((d) => [d.name.toLowerCase(), d.dataType]));
}

/** Missing fields the connector may create: defined in config.customFields, not standard fields. */
function creatableFields(config: ConnectorConfig, problems: FieldProblem[]): string[] {
  const names = new Set<string>();
  for (const p of problems) {
    if (isStandardField(p.field)) continue;
    if (config.customFields.some((d) => d.name.toLowerCase() === p.field.toLowerCase())) names.add(p.field.toLowerCase());
  }
  return [...names];
}

/** The problems a validation run reports, without creating anything. */
export async function findFieldProblems(config: ConnectorConfig, ipaas: IpaasClient, active: ActiveCollections): Promise<{ problems: FieldProblem[]; creatable: string[] }> {
  const catalog = new FieldCatalog(await ipaas.listCustomFields());
  const problems = checkFields(active, catalog, plannedTypes(config));
  return { problems, creatable: config.sync.autoCreateCustomFields ? creatableFields(config, problems) : [] };
}

