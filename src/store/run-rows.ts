import type { BulkMode, BulkRun, StoredBatch } from './ports.js';

type Row = Record<string, unknown>;

/** A bulk_runs row as the runs port returns it: the same columns in both adapters. */
export const toRun = (r: Row): BulkRun => ({
  id: r.id as string,
  mode: r.mode as BulkMode,
  params: JSON.parse(r.params_json as string) as Record<string, unknown>,
  status: r.status as BulkRun['status'],
  nextPage: r.next_page as number,
  enumerated: r.enumerated as number,
  total: r.total as number | null,
  createdAt: r.created_at as number,
  finishedAt: r.finished_at as number | null,
});

/** A batches row; \`applied\` is a boolean in PostgreSQL and 0/1 in SQLite. */
export const toBatch = (r: Row): StoredBatch => ({
  id: r.id as string,
  runId: r.run_id as string | null,
  inputFileId: r.input_file_id as string,
  status: r.status as string,
  lines: r.lines as number,
  outputFileId: r.output_file_id as string | null,
  errorFileId: r.error_file_id as string | null,
  applied: r.applied === true || r.applied === 1,
  nextPollAt: r.next_poll_at as number,
  polls: r.polls as number,
});
