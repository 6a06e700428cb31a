import type { MappingCollection } from '../config/schema.js';

const PLACEHOLDER = /\{\{\s*([^{}]+?)\s*\}\}/g;
/** The seed's phrasing: "Return TRUE or FALSE in custom field named Known To Film." */
const NAMED_CUSTOM_FIELD = /custom field (?:named|called)\s+["'“]?([A-Za-z0-9][A-Za-z0-9 _-]*?)["'”]?(?=[.,;:!?)]|\s*$|\s+(?:and|or|with)\b)/gi;

export function promptTextMapping(from: MappingCollection) {
  return from.mappings.find((m) => m.destination === 'PromptText');
}

/** `{{Field}}` placeholders in a PromptText. */
export function placeholders(promptText: string): string[] {
  return [...promptText.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/** Custom fields a PromptText names in words ("custom field named Known To Film"). */
export function namedCustomFields(promptText: string): string[] {
  return [...promptText.matchAll(NAMED_CUSTOM_FIELD)].map((m) => m[1]!.trim());
}

export function fillPlaceholders(promptText: string, value: (field: string) => unknown): string {
  return promptText.replace(PLACEHOLDER, (_all, name: string) => {
    const v = value(name.trim());
    return v == null ? '' : Array.isArray(v) ? v.join(', ') : String(v);
  });
}
