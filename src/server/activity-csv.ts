import type { ActivityFilter, ActivityItem, ViewsPort } from '../store/ports.js';

/** Rows read from the store at a time: memory holds one page, whatever the log's size. */
export const CSV_PAGE = 500;

const COLUMNS: Array<[string, (a: ActivityItem) => string | number | null]> = [
  ['attempt_id', (a) => a.id],
  ['started_at', (a) => a.startedAt],
  ['finished_at', (a) => a.finishedAt],
  ['customer_number', (a) => a.customerNumber],
  ['ipaas_customer_id', (a) => a.customerId],
  ['requested_ref', (a) => a.requestedRef],
  ['trigger', (a) => a.trigger],
  ['outcome', (a) => a.outcome],
  ['try', (a) => a.tryNumber],
  ['max_tries', (a) => a.maxTries],
  ['next_try_at', (a) => a.nextTryAt],
  ['error_code', (a) => a.errorCode],
  ['reason', (a) => a.reason],
  ['fix', (a) => a.fix],
  ['input_tokens', (a) => a.inputTokens],
  ['cached_tokens', (a) => a.cachedTokens],
  ['output_tokens', (a) => a.outputTokens],
  ['cost_usd', (a) => (a.costUsd === null ? null : Number(a.costUsd.toPrecision(6)))],
  ['duration_ms', (a) => a.totalMs],
  ['job_id', (a) => a.jobId],
  ['instance', (a) => a.instance],
  ['flags', (a) => a.flags?.join('; ') ?? null],
  ['prompt_version', (a) => a.promptVersion],
];

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes doubled.
 * Text that a spreadsheet would run as a formula (= + - @ at the start) gets a leading apostrophe:
 * customer data is not to be executed by whoever opens the file.
 */
export function csvField(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const csvHeader = () => `${COLUMNS.map(([name]) => name).join(',')}\r\n`;

/** One attempt as a CSV line; every text passes the redactor once more (the log is stored redacted already). */
export const csvLine = (a: ActivityItem, redact: (s: string) => string) =>
  `${COLUMNS.map(([, get]) => {
    const v = get(a);
    return csvField(typeof v === 'string' ? redact(v) : v);
  }).join(',')}\r\n`;

/** The filtered activity as CSV text, newest first, read page by page (keyset on the attempt id). */
export async function* activityCsv(views: ViewsPort, filter: ActivityFilter, redact: (s: string) => string, pageSize = CSV_PAGE): AsyncGenerator<string> {
  yield csvHeader();
  let beforeId: number | undefined;
  for (;;) {
    const rows = await views.activityRows(filter, { beforeId, limit: pageSize });
    if (rows.length) yield rows.map((a) => csvLine(a, redact)).join('');
    if (rows.length < pageSize) return;
    beforeId = rows[rows.length - 1]!.id;
  }
}
