/**
 * Parses Go `time.Duration` strings, the format of OpenAI's `x-ratelimit-reset-*` headers
 * ("120ms", "1s", "6m0s", "23m16.298s", "1h2m3.5s", "0s", "500us"/"500µs", "3ns").
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 micro sign (what Go prints)
  'μs': 1e-3, // U+03BC Greek mu (Go accepts it too)
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

// One "<number><unit>" component; Go allows "1.5", ".5" and "1." as the number.
const COMPONENT = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Milliseconds (fractional) for a Go duration string, or `undefined` if it is not one.
 * A sign is accepted as Go does ("-1.5s" -> -1500); a bare "0" means zero; anything else needs units.
 */
export function parseGoDuration(s: string): number | undefined {
  let text = s.trim();
  let sign = 1;
  if (text.startsWith('-') || text.startsWith('+')) {
    if (text.startsWith('-')) sign = -1;
    text = text.slice(1);
  }
  if (text === '0') return 0;
  if (text === '') return undefined;
  let total = 0;
  COMPONENT.lastIndex = 0;
  while (COMPONENT.lastIndex < text.length) {
    const m = COMPONENT.exec(text);
    if (m === null) return undefined;
    const value = Number(m[1]);
    const unit = UNIT_MS[m[2] ?? ''];
    if (!Number.isFinite(value) || unit === undefined) return undefined;
    total += value * unit;
  }
  return sign * total;
}
