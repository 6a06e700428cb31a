/**
 * Custom field definitions of the modules the emulator models (Customer, Product). [C] definitions
 * are per module, and a value's name must match a definition of its record's module; [D] names are
 * unique per module (any letter case) and ids come from one sequence across modules, so an id names
 * one definition whichever service's route it is sent to.
 */
import { IpaasHttpError, validationError, type FieldError } from './errors.js';
import {
  CUSTOM_FIELD_MODULES,
  CUSTOM_FIELD_TYPES,
  type CustomFieldModule,
  type CustomFieldSeed,
  type CustomFieldType,
  type IpaasCustomFieldJson,
} from './types.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Where each module's definitions are created ([D] by analogy with POST /customers/v2/CustomField). */
export const CUSTOM_FIELD_CREATE_PATHS: Record<CustomFieldModule, string> = {
  Customer: 'POST /customers/v2/CustomField',
  Product: 'POST /products/v2/CustomField',
};

export class CustomFieldRegistry {
  private readonly defs: IpaasCustomFieldJson[] = [];
  private nextId = 1;

  constructor(seed: CustomFieldSeed[] = []) {
    for (const s of seed) {
      const module = s.module ?? 'Customer';
      this.create({ ...s, module }, module);
    }
  }

  list(module: CustomFieldModule): IpaasCustomFieldJson[] {
    return this.defs.filter((d) => d.module === module).map((d) => structuredClone(d));
  }

  /** Case-insensitive lookup by name within a module (returns the stored definition, do not mutate). */
  find(module: CustomFieldModule, name: string): IpaasCustomFieldJson | undefined {
    const key = name.trim().toLowerCase();
    return this.defs.find((d) => d.module === module && d.name.toLowerCase() === key);
  }

  /** Removes the module's definition with this id; undefined when the module has none. */
  delete(module: CustomFieldModule, id: number): IpaasCustomFieldJson | undefined {
    const i = this.defs.findIndex((d) => d.id === id && d.module === module);
    return i < 0 ? undefined : this.defs.splice(i, 1)[0];
  }

  /**
   * Validates a POST .../CustomField body and stores the definition. `module` is the module of the
   * route it came through: the body must name the same one (a Product field sent to the customers
   * service is refused with the route to use instead).
   */
  create(body: unknown, module: CustomFieldModule): IpaasCustomFieldJson {
    if (!isRecord(body)) throw new IpaasHttpError(400, 'The request body must be a JSON object.');
    const errors: FieldError[] = [];
    const name = body['name'];
    if (typeof name !== 'string' || name.trim() === '') {
      errors.push({ field: 'name', message: 'Custom field name is required.' });
    } else if (name.trim().length > 100) {
      errors.push({ field: 'name', message: 'Custom field name must be 100 characters or fewer.' });
    }
    const rawModule = body['module'];
    if (typeof rawModule !== 'string' || rawModule.trim() === '') {
      errors.push({ field: 'module', message: 'Module is required.' });
    } else if (rawModule.trim().toLowerCase() !== module.toLowerCase()) {
      const other = CUSTOM_FIELD_MODULES.find((m) => m.toLowerCase() === rawModule.trim().toLowerCase());
      errors.push({
        field: 'module',
        message: other
          ? `Module '${rawModule}' is not supported here; create ${other} custom fields with ${CUSTOM_FIELD_CREATE_PATHS[other]}.`
          : `Module '${rawModule}' is not supported; only ${module} is.`,
      });
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
    const existing = this.find(module, cleanName);
    if (existing) {
      const message = `Custom field '${existing.name}' already exists for module ${module}.`;
      throw new IpaasHttpError(409, message, [{ field: 'name', message }]);
    }
    const def: IpaasCustomFieldJson = {
      id: this.nextId++,
      name: cleanName,
      module,
      data_type: dataType as CustomFieldType,
      description: typeof description === 'string' ? description : null,
    };
    if (Array.isArray(enumValues)) def.enum_values = [...(enumValues as string[])];
    this.defs.push(def);
    return structuredClone(def);
  }
}
