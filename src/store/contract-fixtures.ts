/** What the storage and views contracts build their rows from. */
import type { AttemptRecord } from './ports.js';

export const T = 1_800_000_000_000;
export const at = (ms: number) => new Date(T + ms).toISOString();

/** A sync-log row finished `ms` after T. */
export function attempt(ms: number, fields: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    startedAt: at(ms - 100), finishedAt: at(ms), trigger: 'manual', customerId: null, customerNumber: 'C-1', requestedRef: 'C-1',
    collection: null, outcome: 'synced', errorCode: null, errorMessage: null, errorFix: null, retryable: false,
    api: null, model: null, request: null, response: null, answer: null, writes: null, responseId: null, requestId: null,
    inputTokens: 0, cachedTokens: 0, outputTokens: 0, reasoningTokens: 0, costUsd: null,
    loadMs: null, openaiMs: null, writeMs: null, totalMs: 100, jobId: null, flags: null, tryNumber: null, maxTries: null, nextTryAt: null, promptVersion: null,
    ...fields,
  };
}
