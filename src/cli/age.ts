import { ConnectorError } from '../shared/errors.js';

const UNIT_MS = { d: 24 * 60 * 60 * 1000, h: 60 * 60 * 1000 } as const;

/** `--older-than 30d` / `12h`: whole days or hours, at least one hour, as milliseconds. */
export function parseAge(text: string, flag = '--older-than'): number {
  const m = /^\s*(\d+)\s*(d|h)\s*$/i.exec(text);
  const ms = m ? Number(m[1]) * UNIT_MS[m[2]!.toLowerCase() as keyof typeof UNIT_MS] : NaN;
  if (!Number.isSafeInteger(ms) || ms < UNIT_MS.h) {
    throw new ConnectorError('INVALID_INPUT', `${flag} "${text}" is not an age this command takes.`, {
      fix: `Give a whole number of days or hours, at least 1h, e.g. ${flag} 30d or ${flag} 12h.`,
    });
  }
  return ms;
}

/** An age for people: "30 days", "12 hours". */
export function describeAge(ms: number): string {
  const [n, unit] = ms % UNIT_MS.d === 0 ? [ms / UNIT_MS.d, 'day'] : [ms / UNIT_MS.h, 'hour'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}
