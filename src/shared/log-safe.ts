import { describeError } from './errors.js';

/**
 * The log file holds ids, numbers, codes and reasons without values: never a customer's name, email,
 * comment or answer (the sync log in the database holds the whole message, for log.retainDays). An
 * error message goes to the log only where its code's messages are built from ids, the config and
 * upstream statuses alone; otherwise only the part before the quoted text, or its kind.
 */

/** Messages of these codes name only ids, config (fields, formulas, paths) and states. */
const VALUE_FREE = new Set(['REQUEST_FIELD_NOT_FOUND', 'CONFIG_INVALID', 'CUSTOMER_NOT_FOUND', 'RECORD_NOT_FOUND', 'BUDGET_HELD', 'INTERRUPTED', 'STORE_UNAVAILABLE', 'STORAGE_FAULT', 'STORAGE', 'FILE_NOT_FOUND', 'PORT_IN_USE']);
/** Messages of these codes are "<what failed, with status, type and code>: <text from elsewhere>". */
const HEAD_ONLY = new Set(['API_REQUEST_FAILED', 'IPAAS_REQUEST_FAILED', 'INVALID_INPUT', 'WRITE_BACK_FAILED']);

const head = (message: string) => {
  const i = message.indexOf(': ');
  return i < 0 ? message : message.slice(0, i);
};

/** An invalid answer without the answer: "OpenAI refused to answer", "the answer for "Known To Film" must be TRUE or FALSE". */
function answerReason(message: string): string {
  const what = message.replace(/^(Customer|Product) [^:]*: /, '');
  // Schema issues name fields and what they take, never the value.
  if (what.startsWith('the answer does not fit the TO mapping')) return what;
  return head(what.replace(/, got [\s\S]*$/, ''));
}

/** What a log line may say about why an attempt failed or was skipped (`code` null: a skip, in the connector's own words). */
export function reasonForLog(code: string | null, message: string | null): string | null {
  if (message === null) return null;
  if (code === null || VALUE_FREE.has(code)) return message;
  if (HEAD_ONLY.has(code)) return head(message);
  if (code === 'MISSING_CUSTOMER_NUMBER') return 'The customer has no CustomerNumber, so it was not sent to OpenAI.';
  if (code === 'MISSING_IDENTITY') return 'The record has no identity (a SKU for products), so it was not sent to OpenAI.';
  if (code === 'INVALID_ANSWER') return answerReason(message);
  return 'the message is in the sync log only (it may quote the customer\'s data): ipaas-openai logs --attempt <id>';
}

/** An error for a log line: its code and a reason without values (an internal error: its name and where it was thrown). */
export function errorForLog(err: unknown): { error: string; reason: string | null } {
  const e = describeError(err);
  if (e.code !== 'INTERNAL') return { error: e.code, reason: reasonForLog(e.code, e.message) };
  const frame = err instanceof Error ? err.stack?.split('\n').find((l) => l.trim().startsWith('at '))?.trim() : undefined;
  return { error: e.code, reason: `${err instanceof Error ? err.name : typeof err}${frame ? ` ${frame}` : ''} (the message may quote data, so it is not logged)` };
}
