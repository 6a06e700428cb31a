/**
 * Secrets never leave the process: every text that goes to a log, the store,
 * an error message or a page passes through a redactor built from the
 * configured secrets.
 */
export type Redactor = (text: string) => string;

const MASKED_KEY_ECHO = /(Incorrect API key provided: )\S+/g;
const BEARER = /(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/g;

export function createRedactor(secrets: Array<string | undefined>): Redactor {
  // Longest first so a secret that contains another is replaced whole.
  const list = [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4))].sort(
    (a, b) => b.length - a.length,
  );
  // Runs on every stored document: the common case (nothing to hide) must not copy the text.
  return (text: string) => {
    let out = text;
    for (const s of list) if (out.includes(s)) out = out.split(s).join('[REDACTED]');
    if (out.includes('Incorrect API key provided')) out = out.replace(MASKED_KEY_ECHO, '$1[REDACTED]');
    if (out.includes('Bearer')) out = out.replace(BEARER, '$1[REDACTED]');
    return out;
  };
}

/** Redacts every string inside a JSON-like value. */
export function redactDeep<T>(value: T, redact: Redactor): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, redact);
    return out as T;
  }
  return value;
}
