import type { ConnectorConfig, MappingCollection, TriggerEvent } from '../config/schema.js';
import { entityModel, type EntityModel, type EntityName } from '../ipaas/entities.js';
import { ConnectorError } from '../shared/errors.js';

export interface ActiveCollections {
  /** The data model both collections map (Customer, Product). */
  model: EntityModel;
  from: MappingCollection;
  to: MappingCollection;
}

/** Names in a TO collection's Field sources that come from the response, not from the model's answer. */
export const RESPONSE_METADATA = ['Id', 'ResponseId', 'ResponseDate', 'PromptText', 'Model'] as const;
export const isResponseMetadata = (name: string) => (RESPONSE_METADATA as readonly string[]).includes(name);

/**
 * Picks the enabled FROM/TO pair for a data model (Customer by default). Refuses ambiguous setups up
 * front, before anything is sent: two enabled collections in one direction, or two writing the same
 * target field.
 */
export function selectCollections(config: ConnectorConfig, trigger?: TriggerEvent, entity?: EntityName): ActiveCollections | { disabled: string } {
  const model = entityModel(entity);
  const enabled = config.mappingCollections.filter((c) => c.status === 'Enabled' && c.dataModel === model.label);
  const from = enabled.filter((c) => c.direction === 'FROM iPaaS');
  const to = enabled.filter((c) => c.direction === 'TO iPaaS');

  const seen = new Map<string, string>();
  for (const c of to) {
    for (const m of c.mappings) {
      const key = m.destination.toLowerCase();
      const other = seen.get(key);
      if (other && other !== c.name) {
        throw new ConnectorError('CONFIG_INVALID', `Conflicting mappings: "${other}" and "${c.name}" both write ${m.destination}.`, {
          fix: 'Disable one of the collections or remove the duplicate target, so no two mappings overwrite each other.',
        });
      }
      seen.set(key, c.name);
    }
  }
  if (from.length > 1 || to.length > 1) {
    const names = (from.length > 1 ? from : to).map((c) => `"${c.name}"`).join(', ');
    throw new ConnectorError('CONFIG_INVALID', `More than one enabled ${from.length > 1 ? 'FROM' : 'TO'} iPaaS collection for ${model.label}: ${names}.`, {
      fix: 'Keep one enabled collection per direction (set status: Disabled on the others), or give them filters that isolate their data source.',
    });
  }
  const f = from[0];
  const t = to[0];
  if (!f || !t) {
    const missing = !f ? 'FROM iPaaS' : 'TO iPaaS';
    const exists = config.mappingCollections.some((c) => c.direction === missing && c.dataModel === model.label);
    if (exists) return { disabled: `The ${missing} mapping collection for ${model.label} is Disabled.` };
    throw new ConnectorError('CONFIG_INVALID', `No ${missing} mapping collection for ${model.label} is configured.`, {
      fix: `Add a mapping collection with dataModel ${model.label} and direction "${missing}" (the default config has one).`,
    });
  }
  if (trigger && !(f.triggerEvents.includes(trigger) && t.triggerEvents.includes(trigger))) {
    return { disabled: `The mapping collections do not list the trigger event "${trigger}".` };
  }
  return { model, from: f, to: t };
}
