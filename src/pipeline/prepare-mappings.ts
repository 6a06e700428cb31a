import type { ConnectorConfig, TriggerEvent } from '../config/schema.js';
import type { IpaasClient } from '../ipaas/ipaas-client.js';
import { UpstreamError } from '../shared/errors.js';
import { CUSTOMER, type EntityModel, type EntityName } from '../ipaas/entities.js';
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
 * Checks the mappings of a data model (Customer by default) against iPaaS.com's field definitions of
 * its module before any record is sent. Missing custom fields that the config defines are created when
 * sync.autoCreateCustomFields is on (or only reported, in a dry run).
 */
export async function prepareMappings(
  config: ConnectorConfig,
  ipaas: IpaasClient,
  options: { dryRun?: boolean; trigger?: TriggerEvent; entity?: EntityName | undefined } = {},
): Promise<Preparation> {
  const active = selectCollections(config, options.trigger, options.entity);
  if ('disabled' in active) return active;
  // Before anything is created in iPaaS.com: a config that cannot run changes nothing there.
  const noPrompt = promptTextError(active);
  if (noPrompt) throw noPrompt;
  const { model } = active;
  const definitions = await ipaas.listCustomFields(model);
  let catalog = new FieldCatalog(definitions, model);
  const created: string[] = [];
  const wouldCreate: string[] = [];
  const madeElsewhere: string[] = [];

  const problems = checkFields(active, catalog, plannedTypes(config, model));
  if (problems.length && config.sync.autoCreateCustomFields) {
    const names = creatableFields(config, problems, catalog).map((name) => moduleFields(config, model).find((d) => d.name.toLowerCase() === name)!.name);
    if (options.dryRun) wouldCreate.push(...names);
    else {
      const made = await createCustomFields(config, ipaas, names, model);
      created.push(...made.created);
      madeElsewhere.push(...made.madeElsewhere);
    }
    const planned = [...definitions, ...moduleFields(config, model).filter((d) => [...created, ...wouldCreate, ...madeElsewhere].includes(d.name)).map((d) => ({ name: d.name, data_type: d.dataType }))];
    catalog = new FieldCatalog(planned, model);
  }
  return { plan: buildMappingPlan(active, catalog, plannedTypes(config, model), config.privacy.hashKey), created, wouldCreate };
}

/** The custom fields the config defines for a model's module. */
function moduleFields(config: ConnectorConfig, model: EntityModel) {
  return config.customFields.filter((d) => d.module === model.label);
}

/**
 * Creates these custom fields (defined in config.customFields for the model's module) in iPaaS.com. A
 * field that another instance (or a person) created a moment ago answers 409 and is taken as there.
 */
export async function createCustomFields(config: ConnectorConfig, ipaas: IpaasClient, names: string[], model: EntityModel = CUSTOMER): Promise<{ created: string[]; madeElsewhere: string[] }> {
  const created: string[] = [];
  const madeElsewhere: string[] = [];
  for (const name of names) {
    const def = moduleFields(config, model).find((d) => d.name.toLowerCase() === name.toLowerCase())!;
    try {
      await ipaas.createCustomField({ name: def.name, data_type: def.dataType, description: def.description }, model);
      created.push(def.name);
    } catch (err) {
      const exists = err instanceof UpstreamError && err.status === 409 && (await ipaas.listCustomFields(model)).some((d) => d.name.toLowerCase() === def.name.toLowerCase());
      if (!exists) throw err;
      madeElsewhere.push(def.name);
    }
  }
  return { created, madeElsewhere };
}

/** Data types the config gives custom fields, so a "create it" fix can name the type. */
function plannedTypes(config: ConnectorConfig, model: EntityModel): Record<string, string> {
  return Object.fromEntries(moduleFields(config, model).map((d) => [d.name.toLowerCase(), d.dataType]));
}

/** Missing fields the connector may create: defined in config.customFields for the module, not standard fields. */
function creatableFields(config: ConnectorConfig, problems: FieldProblem[], catalog: FieldCatalog): string[] {
  const names = new Set<string>();
  for (const p of problems) {
    if (catalog.isStandard(p.field)) continue;
    if (moduleFields(config, catalog.model).some((d) => d.name.toLowerCase() === p.field.toLowerCase())) names.add(p.field.toLowerCase());
  }
  return [...names];
}

/** The problems a validation run reports, without creating anything. */
export async function findFieldProblems(config: ConnectorConfig, ipaas: IpaasClient, active: ActiveCollections): Promise<{ problems: FieldProblem[]; creatable: string[] }> {
  const catalog = new FieldCatalog(await ipaas.listCustomFields(active.model), active.model);
  const problems = checkFields(active, catalog, plannedTypes(config, active.model));
  return { problems, creatable: config.sync.autoCreateCustomFields ? creatableFields(config, problems, catalog) : [] };
}
