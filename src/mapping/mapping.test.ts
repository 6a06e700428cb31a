import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load-config.js';
import { SEED_PROMPT_TEXT } from '../config/defaults.js';
import { CUSTOMER, toRecord } from '../ipaas/entities.js';
import { checkFields } from './check-fields.js';
import { selectCollections, type ActiveCollections } from './collections.js';
import { FieldCatalog } from './field-catalog.js';
import { mapFrom } from './map-from.js';
import { mapTo, formatForIpaas } from './map-to.js';
import { buildMappingPlan } from './mapping-plan.js';
import { namedCustomFields, placeholders } from './prompt-text.js';

const DEFS = [
  { name: 'Known to Film', data_type: 'bool' },
  { name: 'Last Response Date', data_type: 'datetime' },
  { name: 'Last Prompt Text', data_type: 'string' },
  { name: 'Last Response ID', data_type: 'string' },
];
const customer = toRecord(CUSTOMER, {
  id: 7, customer_number: 'CUST-10045', first_name: 'Keanu', last_name: 'Reeves', email_address: 'k@example.com',
  company: 'Arch', comment: 'Prefers email.', categories: ['VIP'], custom_fields: [],
});
const active = () => selectCollections(loadConfig({ env: {} }).config) as ActiveCollections;

describe('default mappings (the seed table)', () => {
  it('maps CustomerNumber to Id and sends only mapped fields', () => {
    const plan = buildMappingPlan(active(), new FieldCatalog(DEFS));
    const m = mapFrom(plan, customer);
    expect(m.id).toBe('CUST-10045');
    expect(m.promptText).toBe(SEED_PROMPT_TEXT);
    expect(m.data).toEqual({ Id: 'CUST-10045', CustomerNumber: 'CUST-10045', FirstName: 'Keanu', LastName: 'Reeves', EmailAddress: 'k@example.com', Categories: ['VIP'], Comment: 'Prefers email.' });
    expect(JSON.stringify(m.data)).not.toMatch(/address1|Matrix Way|Arch/);
  });

  it('derives typed answer fields from the TO mapping', () => {
    const plan = buildMappingPlan(active(), new FieldCatalog(DEFS));
    expect(plan.answerFields.map((f) => [f.name, f.dataType])).toEqual([
      ['Comment', 'string'],
      ['Known To Film', 'bool'],
    ]);
  });

  it('writes TRUE/FALSE as iPaaS.com bools, dates as ISO, metadata from the response', () => {
    const plan = buildMappingPlan(active(), new FieldCatalog(DEFS));
    const writes = mapTo(plan, {
      Id: 'CUST-10045', ResponseId: 'resp_1', ResponseDate: new Date('2026-11-25T10:00:00Z'), PromptText: 'P', Model: 'm',
      answer: { Comment: '- Name: Keanu Reeves', 'Known To Film': 'TRUE', EmailAddress: 'attacker@example.com' },
    });
    expect(writes.map((w) => [w.destination, w.value])).toEqual([
      ['Comment', '- Name: Keanu Reeves'],
      ['Known To Film', 'true'],
      ['Last Response Date', '2026-11-25T10:00:00.000Z'],
      ['Last Prompt Text', 'P'],
      ['Last Response ID', 'resp_1'],
    ]);
    // The custom field is written with iPaaS.com's own spelling.
    expect(writes[1]!.target).toEqual({ kind: 'custom', name: 'Known to Film' });
  });

  it('refuses values that do not fit the field type, naming record and field', () => {
    expect(() => formatForIpaas('MAYBE', 'bool', 'CUST-1', 'Known To Film')).toThrow('Customer CUST-1: the answer for "Known To Film" must be TRUE or FALSE, got "MAYBE".');
    expect(formatForIpaas('false', 'bool', 'c', 'f')).toBe('false');
    expect(formatForIpaas('2026-01-05T00:00:00Z', 'date', 'c', 'f')).toBe('2026-01-05');
    expect(() => formatForIpaas('soon', 'datetime', 'c', 'f')).toThrow(/must be a datetime/);
  });
});

describe('field checks ("Request field not found.")', () => {
  it('names every missing field and the mapping that references it', () => {
    const problems = checkFields(active(), new FieldCatalog([]));
    expect(problems.map((p) => p.field)).toEqual(['Known To Film', 'Known To Film', 'Last Response Date', 'Last Prompt Text', 'Last Response ID']);
    expect(problems[0]!.where).toContain('PromptText');
    expect(problems[1]!.where).toBe('mapping #2 (Field "Known To Film" -> Known To Film) of "OpenAI Add/Update Customer TO iPaaS"');
    expect(() => buildMappingPlan(active(), new FieldCatalog([]))).toThrow(/^Request field not found\. "Known To Film" referenced by/);
  });

  it('checks FROM sources, {{placeholders}} and formulas', () => {
    const a = active();
    a.from.mappings.push({ type: 'Field', source: 'Nickname', destination: 'Nickname' });
    a.from.mappings.push({ type: 'Formula', source: 'Coalesce(GetCustomFieldValue(CustomFields, "Tier"), Company)', destination: 'Tier' });
    a.from.mappings[1]!.source = 'Summarize {{FirstName}} and {{Shoe Size}}.';
    const fields = checkFields(a, new FieldCatalog(DEFS)).map((p) => p.field);
    expect(fields).toEqual(['Nickname', 'Tier', 'Shoe Size']);
  });

  it('refuses standard fields the connector must not write', () => {
    const a = active();
    a.to.mappings.push({ type: 'Field', source: 'Comment', destination: 'EmailAddress' });
    const p = checkFields(a, new FieldCatalog(DEFS)).find((x) => x.field === 'EmailAddress');
    expect(p?.fix).toMatch(/The connector writes Comment and custom fields of a Customer/);
  });

  it('reads placeholders and "custom field named X" from a PromptText', () => {
    expect(placeholders('Hi {{ FirstName }} {{Last Name}}')).toEqual(['FirstName', 'Last Name']);
    expect(namedCustomFields(SEED_PROMPT_TEXT)).toEqual(['Known To Film']);
    expect(namedCustomFields('Put TRUE in the custom field named "VIP Flag" and stop')).toEqual(['VIP Flag']);
  });
});

describe('collections', () => {
  it('refuses two enabled collections writing the same field', () => {
    const { config } = loadConfig({ env: {} });
    config.mappingCollections.push({ ...config.mappingCollections[1]!, name: 'Second TO' });
    expect(() => selectCollections(config)).toThrow(/Conflicting mappings: "OpenAI Add\/Update Customer TO iPaaS" and "Second TO" both write Comment/);
  });

  it('reports a disabled collection instead of syncing', () => {
    const { config } = loadConfig({ env: {} });
    config.mappingCollections[0]!.status = 'Disabled';
    expect(selectCollections(config)).toEqual({ disabled: 'The FROM iPaaS mapping collection for Customer is Disabled.' });
  });
});
