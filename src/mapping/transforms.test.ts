import { describe, expect, it } from 'vitest';
import { applyTransform, DROPPED, keyedHash, parseTransform, safetyIdentifier } from './transforms.js';

describe('transforms', () => {
  it('parses the four kinds and refuses anything else', () => {
    expect(parseTransform('drop')).toEqual({ kind: 'drop' });
    expect(parseTransform('truncate:12')).toEqual({ kind: 'truncate', n: 12 });
    for (const bad of ['truncate:0', 'truncate:', 'hash-email', 'DROP']) expect(() => parseTransform(bad)).toThrow(/Unknown transform/);
  });

  it('hash is keyed and stable; a different key gives a different hash; no key is an error', () => {
    const t = parseTransform('hash');
    expect(applyTransform(t, 'Reeves', 'k'.repeat(16))).toBe(keyedHash('k'.repeat(16), 'Reeves'));
    expect(applyTransform(t, 'Reeves', 'k'.repeat(16))).not.toBe(applyTransform(t, 'Reeves', 'j'.repeat(16)));
    expect(() => applyTransform(t, 'Reeves', undefined)).toThrow(/needs a key/);
    expect(applyTransform(t, null, undefined)).toBeNull();
  });

  it('mask-email keeps the domain only; truncate counts characters, not bytes; lists item by item; drop drops', () => {
    expect(applyTransform(parseTransform('mask-email'), 'keanu.reeves@example.com', undefined)).toBe('***@example.com');
    expect(applyTransform(parseTransform('mask-email'), 'not an email', undefined)).toBe('***');
    expect(applyTransform(parseTransform('truncate:3'), 'Zoë Ångström', undefined)).toBe('Zoë');
    expect(applyTransform(parseTransform('truncate:2'), ['VIP', 'Wholesale'], undefined)).toEqual(['VI', 'Wh']);
    expect(applyTransform(parseTransform('drop'), 'x', undefined)).toBe(DROPPED);
  });

  it('the safety identifier never holds the CustomerNumber', () => {
    expect(safetyIdentifier('CUST-10045', undefined)).toMatch(/^cust-[0-9a-f]{32}$/);
    expect(safetyIdentifier('CUST-10045', undefined)).not.toContain('10045');
    expect(safetyIdentifier('CUST-10045', 'k'.repeat(16))).not.toBe(safetyIdentifier('CUST-10045', undefined));
  });
});
