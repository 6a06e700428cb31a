// Formatting for people: the browser's locale for dates and numbers.

const nf = new Intl.NumberFormat();

export const num = (n) => (n === null || n === undefined ? '–' : nf.format(n));

export function usd(n) {
  if (n === null || n === undefined) return '–';
  if (n === 0) return '$0.00';
  if (n < 0.01) return `$${n.toFixed(6)}`;
  if (n < 100) return `$${n.toFixed(4)}`;
  return `$${n.toFixed(2)}`;
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
