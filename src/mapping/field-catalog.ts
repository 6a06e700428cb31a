import type { CustomFieldType } from '../config/schema.js';
import type { CustomFieldDefinition } from '../ipaas/api-shapes.js';
import { CUSTOMER, type EntityModel } from '../ipaas/entities.js';

export interface CustomFieldInfo {
  /** The definition's own spelling, used when writing. */
  name: string;
  dataType: CustomFieldType | string;
}

/** What exists in iPaaS.com for one module (Customer, Product): its standard fields plus custom field definitions. */
export class FieldCatalog {
  private readonly custom = new Map<string, CustomFieldInfo>();

  constructor(
    definitions: Array<Pick<CustomFieldDefinition, 'name' | 'data_type'>>,
    readonly model: EntityModel = CUSTOMER,
  ) {
    for (const d of definitions) this.custom.set(d.name.toLowerCase(), { name: d.name, dataType: d.data_type });
  }

  /** iPaaS.com matches custom field names without regard to case. */
  customField(name: string): CustomFieldInfo | undefined {
    return this.custom.get(name.toLowerCase());
  }

  has(name: string): boolean {
    return this.isStandard(name) || this.custom.has(name.toLowerCase());
  }

  isStandard(name: string): boolean {
    return Object.hasOwn(this.model.standardFields, name);
  }

  customFieldNames(): string[] {
    return [...this.custom.values()].map((c) => c.name);
  }
}
