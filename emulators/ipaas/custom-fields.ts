/** Custom field definitions for module Customer (the only module the emulator models). */
import { IpaasHttpError, validationError, type FieldError } from './errors.js';
import { CUSTOM_FIELD_TYPES, type CustomFieldSeed, type CustomFieldType, type IpaasCustomFieldJson } from './types.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class CustomFieldRegistry {
  private readonly defs: IpaasCustomFieldJson[] = [];
  private nextId = 1;

  constructor(seed: CustomFieldSeed[] = []) {
    for (const s of seed) this.create({ ...s, module: 'Customer' });
  }

  list(): IpaasCustomFieldJson[] {
    return this.defs.map((d) => structuredClone(d));
  }

  /** Case-insensitive lookup by name (returns the stored definition, do not mutate). */
  find(name: string): IpaasCustomFieldJson | undefined {
    const key = name.trim().toLowerCase();
    return this.defs.find((d) => d.name.toLowerCase() === key);
  }

  /** Removes the definition with this id; undefined when there is none. */
  delete(id: number): IpaasCustomFieldJson | undefined {
    const i = this.defs.findIndex((d) => d.id === id);
    return i < 0 ? undefined : this.defs.splice(i, 1)[0];
  }

  /** Validates a POST /customers/v2/CustomField body and stores the definition. */
  create(body: unknown): IpaasCustomFieldJson {
    if (!isRecord(body)) throw new IpaasHttpError(400, 'The request body must be a JSON object.');
    const errors: FieldError[] = [];
    const name = body['name'];
    if (typeof name !== 'string' || name.trim() === '') {
      errors.push({ field: 'name', message: 'Custom field name is required.' });
    } else if (name.trim().length > 100) {
      errors.push({ field: 'name', message: 'Custom field name must be 100 characters or fewer.' });
    }
    const module = body['module'];
    if (typeof module !== 'string' || module.trim() === '') {
      errors.push({ field: 'module', message: 'Module is required.' });
    } else if (module.trim().toLowerCase() !== 'customer') {
      errors.push({ field: 'module', message: `Module '${module}' is not supported; only Customer is.` });
    }
    const rawType = body['data_type'];
    const dataType =
      typeof rawType === 'string'
        ? CUSTOM_FIELD_TYPES.find((t) => t === rawType.trim().toLowerCase())
        : undefined;
    if (!dataType) {
      errors.push({
        field: 'data_type',
        message: `Data type '${String(rawType)}' is not valid; expected one of ${CUSTOM_FIELD_TYPES.join(', ')}.`,
      });
    }
    const description = body['description'];
    if (description !== undefined && description !== null && typeof description !== 'string') {
      errors.push({ field: 'description', message: 'Description must be a string.' });
    }
    const enumValues = body['enum_values'];
    if (enumValues !== undefined && enumValues !== null) {
      if (!Array.isArray(enumValues) || !enumValues.every((v) => typeof v === 'string' && v !== '')) {
        errors.push({ field: 'enum_values', message: 'enum_values must be an array of non-empty strings.' });
      } else if (dataType && dataType !== 'enum') {
        errors.push({ field: 'enum_values', message: 'enum_values is only allowed for data type enum.' });
      }
    }
    if (errors.length > 0) throw validationError(errors);

    const cleanName = (name as string).trim();
    const existing = this.find(cleanName);
    if (existing) {
      throw new IpaasHttpError(409, `Custom field '${existing.name}' already exists for module Customer.`, [
        { field: 'name', message: `Custom field '${existing.name}' already exists for module Customer.` },
      ]);
    }
    const def: IpaasCustomFieldJson = {
      id: this.nextId++,
      name: cleanName,
      module: 'Customer',
      data_type: dataType as CustomFieldType,
      description: typeof description === 'string' ? description : null,
    };
    if (Array.isArray(enumValues)) def.enum_values = [...(enumValues as string[])];
    this.defs.push(def);
    return structuredClone(def);
  }
}
