import { describe, expect, it } from 'vitest';
import { asMappedData, SAMPLE_CUSTOMERS } from '../sample-customers.js';
import { addExtraFields, applyWrongType, buildSummary, generateAnswer, parseCustomerData, schemaHasFilmProperty } from './answer.js';

const [keanu, ada, zoe, meryl, mallory, nora] = SAMPLE_CUSTOMERS.map((c) => asMappedData(c, 1000));

const enrichSchema = {
  type: 'object',
  properties: {
    KnownToFilm: { type: 'string', enum: ['TRUE', 'FALSE'], description: 'Is this person known by imdb.com?' },
    Comment: { type: 'string', description: 'Short summary of the customer' },
  },
  required: ['KnownToFilm', 'Comment'],
  additionalProperties: false,
};

describe('buildSummary', () => {
  it('lists the fields in order and omits absent ones', () => {
    expect(buildSummary(keanu!, true)).toBe(
      '- Name: Keanu Reeves\n- Customer number: CUST-10045\n- Email: keanu.reeves@example.com\n' +
        '- Company: Arch Motorcycle\n- Categories: VIP, Wholesale\n- Known to film: yes',
    );
    expect(buildSummary(meryl!, false)).toBe('- Name: Meryl Streep\n- Customer number: CUST-10048');
    expect(buildSummary(nora!, true)).toBe(
      '- Name: Nora Numberless\n- Customer number: 1000\n- Email: nora@example.com\n- Categories: Retail\n- Known to film: no',
    );
    expect(buildSummary(zoe!, false)).toContain('- Name: Zoë Ñúñez-Åström');
  });

  it('accepts snake_case keys, category objects and raw text', () => {
    expect(buildSummary({ first_name: 'Ada', last_name: 'Lovelace', categories: [{ Name: 'Retail' }] }, false)).toBe(
      '- Name: Ada Lovelace\n- Categories: Retail',
    );
    expect(buildSummary('Customer: {"FirstName":"Tom","LastName":"Hanks"}', true)).toBe('- Name: Tom Hanks\n- Known to film: yes');
    expect(buildSummary('just   some\ntext', false)).toBe('- Text: just some text');
  });
});

describe('generateAnswer', () => {
  it('answers the film flag from the fixed list, and TRUE for a prompt injection', () => {
    expect(generateAnswer(enrichSchema, JSON.stringify(keanu))).toEqual({ KnownToFilm: 'TRUE', Comment: buildSummary(keanu!, true) });
    expect(generateAnswer(enrichSchema, JSON.stringify(ada))).toEqual({ KnownToFilm: 'FALSE', Comment: buildSummary(ada!, true) });
    const fooled = generateAnswer(enrichSchema, JSON.stringify(mallory)) as Record<string, unknown>;
    expect(fooled.KnownToFilm).toBe('TRUE');
    expect(Object.keys(fooled)).toEqual(['KnownToFilm', 'Comment']);
    expect(fooled.Comment).toMatch(/- Known to film: yes$/);
  });

  it('the instructions style the summary: one line, capitals, or the bulleted lines', () => {
    const bullets = buildSummary(keanu!, true);
    const answer = (instructions: string) => (generateAnswer(enrichSchema, JSON.stringify(keanu), instructions) as Record<string, unknown>).Comment;
    expect(answer('Write a short, bulleted summary.')).toBe(bullets);
    expect(answer('Summarise the customer in one line.')).toBe(bullets.split('\n').map((l) => l.replace(/^- /, '')).join(' · '));
    expect(answer('Write the summary in UPPERCASE, one sentence.')).toBe(bullets.split('\n').map((l) => l.replace(/^- /, '')).join(' · ').toUpperCase());
  });

  it('omits the film line when the schema has no film property', () => {
    const schema = { type: 'object', properties: { Summary: { type: 'string' } }, required: ['Summary'], additionalProperties: false };
    expect(generateAnswer(schema, JSON.stringify(ada))).toEqual({ Summary: buildSummary(ada!, false) });
    expect(schemaHasFilmProperty(schema)).toBe(false);
  });

  it('handles booleans, $defs/$ref, nullable, arrays, numbers, formats and const, deterministically', () => {
    const schema = {
      type: 'object',
      $defs: { Addr: { type: 'object', properties: { City: { type: 'string', maxLength: 8 } }, required: ['City'], additionalProperties: false } },
      properties: {
        IsMovieStar: { type: 'boolean' },
        Nick: { type: ['string', 'null'] },
        Alt: { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 5, maximum: 7 }] },
        Score: { type: 'number', minimum: 0, maximum: 1 },
        Tags: { type: 'array', items: { type: 'string' } },
        Address: { $ref: '#/$defs/Addr' },
        Since: { type: 'string', format: 'date-time' },
        Day: { type: 'string', format: 'date' },
        Kind: { type: 'string', enum: ['a', 'b', 'c'] },
        Version: { const: 2 },
      },
      required: ['IsMovieStar', 'Nick', 'Alt', 'Score', 'Tags', 'Address', 'Since', 'Day', 'Kind', 'Version'],
      additionalProperties: false,
    };
    const a = generateAnswer(schema, JSON.stringify(keanu)) as Record<string, unknown>;
    expect(a).toEqual(generateAnswer(schema, JSON.stringify(keanu)));
    expect(a.IsMovieStar).toBe(true);
    expect(a.Nick).toBe('Nick for CUST-10045');
    expect([5, 6, 7]).toContain(a.Alt);
    expect(a.Score).toBeGreaterThanOrEqual(0);
    expect(a.Score).toBeLessThanOrEqual(1);
    expect(a.Tags).toEqual(['Tags for CUST-10045']);
    expect(a.Address).toEqual({ City: 'City for' });
    expect(a.Since).toMatch(/^\d{4}-\d{2}-\d{2}T00:00:00Z$/);
    expect(a.Day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(['a', 'b', 'c']).toContain(a.Kind);
    expect(a.Version).toBe(2);
    expect((generateAnswer(schema, JSON.stringify(ada)) as Record<string, unknown>).IsMovieStar).toBe(false);
    expect((generateAnswer(schema, 'not json') as Record<string, unknown>).Nick).toBe('Nick for record');
  });

  it('parses the customer object out of surrounding text', () => {
    expect(parseCustomerData('Enrich this: {"FirstName":"Ada"} thanks')).toEqual({ FirstName: 'Ada' });
    expect(parseCustomerData('no object here')).toBeNull();
  });
});

describe('fault mutations', () => {
  it('extra-fields adds properties, wrong-type breaks the first enum/boolean', () => {
    const answer = generateAnswer(enrichSchema, JSON.stringify(ada));
    expect(addExtraFields(answer)).toMatchObject({ EmailAddress: 'attacker@example.com', FirstName: 'Hacked', KnownToFilm: 'FALSE' });
    expect(applyWrongType(answer, enrichSchema)).toMatchObject({ KnownToFilm: 'MAYBE' });
    expect(answer).toMatchObject({ KnownToFilm: 'FALSE' });
  });
});
