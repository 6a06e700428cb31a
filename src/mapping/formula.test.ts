import { describe, expect, it } from 'vitest';
import { compileFormula, evaluateFormula, type FormulaScope } from './formula.js';

const scope = (fields: Record<string, unknown>, customFields: Record<string, string> = {}): FormulaScope => ({
  field: (n) => fields[n] ?? null,
  customFields,
  now: () => new Date('2026-01-02T03:04:05Z'),
});
const run = (src: string, s: FormulaScope) => evaluateFormula(compileFormula(src), s);

describe('formula', () => {
  it('evaluates iPaaS.com helper names', () => {
    const s = scope({ FirstName: 'Ada', Comment: '  ', Company: null }, { 'Known To Film': 'true' });
    expect(run('Coalesce(Company, Comment, FirstName, "x")', s)).toBe('Ada');
    expect(run('IsEmpty(Comment)', s)).toBe(true);
    expect(run('Truncate("Lovelace", 4)', s)).toBe('Love');
    expect(run('GetCustomFieldValue(CustomFields, "known to film")', s)).toBe('true');
    expect(run('Now()', s)).toEqual(new Date('2026-01-02T03:04:05Z'));
    expect(run('FirstName + " " + Upper("x")', s)).toBe('Ada X');
    expect(run('!IsEmpty(FirstName) ? "yes" : "no"', s)).toBe('yes');
  });

  it('truncates by characters, not UTF-16 units', () => {
    expect(run('Truncate("😀😀😀", 2)', scope({}))).toBe('😀😀');
  });

  it('lists the fields and custom fields a formula reads', () => {
    const f = compileFormula('Coalesce(GetCustomFieldValue(CustomFields, "Tier"), Company, FirstName)');
    expect(f.fields.sort()).toEqual(['Company', 'FirstName']);
    expect(f.customFields).toEqual(['Tier']);
  });

  it('refuses anything that is not a whitelisted helper', () => {
    expect(() => compileFormula('process.exit(1)')).toThrow(/invalid/);
    expect(() => compileFormula('constructor("x")')).toThrow(/unknown function constructor/);
    expect(() => compileFormula('FirstName = "x"')).toThrow(/invalid/);
    expect(() => compileFormula('GetCustomFieldValue(CustomFields, Company)')).toThrow(/GetCustomFieldValue takes/);
    expect(() => compileFormula('Coalesce(')).toThrow(/invalid/);
  });
});
