// Formatting for people: the browser's locale for dates and numbers.

const nf = new Intl.NumberFormat();

export const num = (n) => (n === null || n === undefined ? '–' : nf.format(n));

/**
 * Money, the same way on every page: $12.34 from one dollar up (cents, grouped thousands), and below
 * a dollar up to 6 decimals with trailing zeros dropped ($0.000172, $0.50); a cost too small for
 * 6 decimals says so instead of showing $0.00.
 */
const usdBig = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const usdSmall = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 6 });
export function usd(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (n < 0) return `-${usd(-n)}`;
  if (n === 0) return '$0.00';
  if (n < 0.000001) return 'under $0.000001';
  if (n >= 1) return `$${usdBig.format(n)}`;
  return `$${usdSmall.format(n)}`;
}

export function ms(n) {
  if (n === null || n === undefined) return '–';
  if (n < 1000) return `${Math.round(n)} ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(1)} s`;
  return `${Math.floor(n / 60_000)} min ${Math.round((n % 60_000) / 1000)} s`;
}

export const dateTime = (iso) => (iso ? new Date(iso).toLocaleString() : '–');
export const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '–');
export const pct = (x) => `${Math.round(x * 100)}%`;

/** Short label for a chart bucket start. */
export function bucketLabel(t, bucketMs) {
  const d = new Date(t);
  const hm = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (bucketMs >= 86_400_000) return d.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric' });
  if (bucketMs >= 3_600_000 * 4) return `${d.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric' })} ${hm}`;
  return hm;
}

/** Who an attempt is about: its CustomerNumber, else the iPaaS id, else what was asked for. */
export const who = (a) => a.customerNumber ?? (a.customerId ? `id ${a.customerId}` : a.requestedRef);

export const plural = (n, one, many = `${one}s`) => `${num(n)} ${n === 1 ? one : many}`;

const pad = (n) => String(n).padStart(2, '0');
/** A time of day as HH:MM:SS (24 hours, the browser's time zone). */
export function hms(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Which try an attempt was: "try 3 of 6, next at 12:04:05" while the queue will try again, "try 6 of 6" when it ended. */
export function tryText(a) {
  if (!a.tryNumber) return '';
  const of = a.maxTries ? ` of ${num(a.maxTries)}` : '';
  return `try ${num(a.tryNumber)}${of}${a.nextTryAt ? `, next at ${hms(a.nextTryAt)}` : ''}`;
}

/** An attempt's outcome as people count it: a failed try with a next one is 'retrying'. */
export const outcomeOf = (a) => (a.outcome === 'failed' && a.nextTryAt ? 'retrying' : a.outcome);

/** How long, in words: "45 s", "12 min", "3 h 5 min", "2 d 4 h". */
export function age(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}
