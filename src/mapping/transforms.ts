import { createHash, createHmac } from 'node:crypto';

/**
 * What a FROM mapping does to a value before it leaves for OpenAI (least data): `drop` sends nothing,
 * `hash` a keyed HMAC (the same value always gives the same hash, so answers can still be told apart),
 * `mask-email` keeps only the domain, `truncate:N` the first N characters.
 */
export type Transform = { kind: 'drop' } | { kind: 'hash' } | { kind: 'mask-email' } | { kind: 'truncate'; n: number };

export const TRANSFORM_PATTERN = /^(drop|hash|mask-email|truncate:[1-9]\d{0,5})$/;
export const TRANSFORM_HELP = 'drop | hash | mask-email | truncate:N';

/** Marks a value that is not sent at all. */
export const DROPPED: unique symbol = Symbol('dropped');

export function parseTransform(text: string): Transform {
  if (!TRANSFORM_PATTERN.test(text)) throw new Error(`Unknown transform "${text}": use ${TRANSFORM_HELP}.`);
  if (text.startsWith('truncate:')) return { kind: 'truncate', n: Number(text.slice('truncate:'.length)) };
  return { kind: text as 'drop' | 'hash' | 'mask-email' };
}

/** A keyed hash of a value, short enough to cost few tokens and long enough never to collide in practice. */
export function keyedHash(key: string, value: string): string {
  return `hmac:${createHmac('sha256', key).update(value).digest('hex').slice(0, 24)}`;
}

/** OpenAI's safety_identifier for a customer: a hash of the CustomerNumber (keyed when a hash key is set), never the number. */
export function safetyIdentifier(customerNumber: string, key: string | undefined): string {
  const digest = key ? createHmac('sha256', key).update(customerNumber).digest('hex') : createHash('sha256').update(`ipaas-openai:${customerNumber}`).digest('hex');
  return `cust-${digest.slice(0, 32)}`;
}

function maskEmail(v: string): string {
  const at = v.lastIndexOf('@');
  return at < 0 ? '***' : `***@${v.slice(at + 1).trim()}`;
}

function one(t: Exclude<Transform, { kind: 'drop' }>, v: unknown, key: string | undefined): unknown {
  if (v === null || v === undefined) return v ?? null;
  const s = v instanceof Date ? v.toISOString() : String(v);
  switch (t.kind) {
    case 'hash':
      if (!key) throw new Error('The hash transform needs a key (IPAAS_OPENAI_HASH_KEY or privacy.hashKey).');
      return keyedHash(key, s);
    case 'mask-email':
      return maskEmail(s);
    case 'truncate':
      return [...s].slice(0, t.n).join('');
  }
}

/** The value as it may leave: lists are transformed item by item; `drop` gives DROPPED. */
export function applyTransform(t: Transform, value: unknown, key: string | undefined): unknown {
  if (t.kind === 'drop') return DROPPED;
  return Array.isArray(value) ? value.map((v) => one(t, v, key)) : one(t, value, key);
}
