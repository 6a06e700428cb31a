import { isRetryableStatus } from '../http/retry-policy.js';
/**
 * One error tree for the connector. Every failure a person can meet carries a
 * stable `code`, whether retrying could help, and a `fix` that says what to do.
 * The CLI entry point and the HTTP edge translate these in one place each.
 */
export type ErrorCode =
  | 'API_REQUEST_FAILED'
  | 'REQUEST_FIELD_NOT_FOUND'
  | 'MISSING_CUSTOMER_NUMBER'
  | 'MISSING_IDENTITY'
  | 'RECORD_NOT_FOUND'
  | 'CUSTOMER_NOT_FOUND'
  | 'INVALID_ANSWER'
  | 'IPAAS_REQUEST_FAILED'
  | 'WRITE_BACK_FAILED'
  | 'CONFIG_INVALID'
  | 'INVALID_INPUT'
  | 'BUDGET_HELD'
  | 'INTERRUPTED'
  | 'STORE_UNAVAILABLE'
  /** The store cannot write any more in this process (disk full, read-only, damaged): serve exits. */
  | 'STORAGE_FAULT';

export interface ConnectorErrorOptions {
  retryable?: boolean;
  fix?: string;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class ConnectorError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly fix: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: ConnectorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConnectorError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.fix = options.fix;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, retryable: this.retryable, fix: this.fix, ...this.details };
  }
}

export type UpstreamService = 'openai' | 'ipaas';

export interface UpstreamErrorFields {
  service: UpstreamService;
  status: number | undefined;
  type?: string | undefined;
  upstreamCode?: string | undefined;
  upstreamMessage: string;
  requestId?: string | undefined;
  retryAfterMs?: number | undefined;
  /** The base URL that was called: named in the fix when nothing answered. */
  endpoint?: string | undefined;
}

/** An error answered by OpenAI or iPaaS.com (or the connection to them). Built only by `upstreamError()`. */
export class UpstreamError extends ConnectorError {
  readonly service: UpstreamService;
  readonly status: number | undefined;
  readonly type: string | undefined;
  readonly upstreamCode: string | undefined;
  readonly upstreamMessage: string;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, fields: UpstreamErrorFields, options: ConnectorErrorOptions) {
    super(code, message, {
      ...options,
      details: {
        service: fields.service,
        status: fields.status,
        type: fields.type,
        upstreamCode: fields.upstreamCode,
        requestId: fields.requestId,
        ...options.details,
      },
    });
    this.name = 'UpstreamError';
    this.service = fields.service;
    this.status = fields.status;
    this.type = fields.type;
    this.upstreamCode = fields.upstreamCode;
    this.upstreamMessage = fields.upstreamMessage;
    this.requestId = fields.requestId;
    this.retryAfterMs = fields.retryAfterMs;
  }
}

/** Statuses worth another try later; 400/401/403/404 need a person. */

function fixFor(fields: UpstreamErrorFields): string {
  const { service, status, upstreamCode } = fields;
  if (service === 'openai') {
    if (upstreamCode === 'insufficient_quota') return 'Add credit or raise the quota of the OpenAI project (platform.openai.com/account/billing), then retry the failed records.';
    if (status === 401) return 'Verify the OpenAI API key (OPENAI_API_KEY or openai.apiKey): it is missing, revoked or mistyped.';
    if (status === 403) return 'The OpenAI key lacks permission: a restricted key needs write access to /v1/responses (or /v1/chat/completions).';
    if (status === 404) return 'Check openai.model: the model does not exist or this key has no access to it (`ipaas-openai validate` lists what the key can use).';
    if (status === 400) return 'OpenAI rejected the request itself: check model parameters (temperature vs reasoning effort) and the mapping; `ipaas-openai preview <CustomerNumber>` shows the exact request.';
    if (upstreamCode === 'resource_unavailable') return "OpenAI's flex tier has no capacity now (nothing was charged): the record is retried later; openai.flexFallback: default sends such records at the default tier (full price) instead, batch puts them in an OpenAI batch (sync --all).";
    if (status === 429) return 'OpenAI rate limit reached: the record can be retried; lower sync.concurrency or raise the limits of the OpenAI project.';
    if (status === undefined) return `Nothing answered at ${fields.endpoint ?? 'the OpenAI base URL'}: check the network and OPENAI_BASE_URL (openai.baseUrl), or openai.timeoutMs for a slow server; then retry the failed records.`;
    return 'Check OpenAI API status (status.openai.com) and rate limits, then retry the failed records.';
  }
  if (status === undefined) return `Nothing answered at ${fields.endpoint ?? 'the iPaaS.com base URL'}: check the network and IPAAS_BASE_URL (ipaas.baseUrl), or ipaas.timeoutMs for a slow server; then re-run the transfer.`;
  if (status === 401 || status === 403) return 'Verify the iPaaS.com API key (IPAAS_API_KEY) or login (IPAAS_EMAIL/IPAAS_PASSWORD): it is missing, expired or lacks access.';
  if (status === 404) return 'The record does not exist in iPaaS.com (any more): check the id or CustomerNumber.';
  if (status === 400) return 'iPaaS.com rejected the data: see the message for the field, fix the mapping or the custom field definition, then re-run the transfer.';
  return 'iPaaS.com is unavailable or throttling: re-run the transfer later (`ipaas-openai sync <CustomerNumber>`).';
}

/** The single factory for upstream failures: message text, retryability and fix are decided here. */
export function upstreamError(fields: UpstreamErrorFields, cause?: unknown): UpstreamError {
  const parts = [
    fields.status === undefined ? 'no response' : `status ${fields.status}`,
    fields.type ? `type ${fields.type}` : undefined,
    fields.upstreamCode ? `code ${fields.upstreamCode}` : undefined,
  ].filter(Boolean);
  const head = fields.service === 'openai' ? 'API request failed.' : 'iPaaS.com request failed.';
  const message = `${head} ${fields.service === 'openai' ? 'OpenAI' : 'iPaaS.com'} answered ${parts.join(', ')}: ${fields.upstreamMessage}`;
  const retryable = fields.upstreamCode === 'insufficient_quota' ? false : isRetryableStatus(fields.status);
  return new UpstreamError(
    fields.service === 'openai' ? 'API_REQUEST_FAILED' : 'IPAAS_REQUEST_FAILED',
    message,
    fields,
    { retryable, fix: fixFor(fields), cause },
  );
}

type SystemError = Error & { code?: string; errcode?: number; path?: string; port?: number; address?: string; syscall?: string };

/**
 * What the operating system or SQLite said, as a message with the fix: the table for errors that
 * are not the connector's own. Anything else that reaches describeError is a real internal error.
 */
function describeSystemError(e: SystemError): { code: string; message: string; fix: string } | undefined {
  const where = e.path ? ` ${e.path}` : '';
  switch (e.code) {
    case 'ENOENT':
      return { code: 'FILE_NOT_FOUND', message: `${e.path ?? 'A file'} does not exist.`, fix: 'Check the path (a relative path is read from the current folder).' };
    case 'EISDIR':
      return { code: 'FILE_NOT_FOUND', message: `${e.path ?? 'The path'} is a folder, not a file.`, fix: 'Name the file itself.' };
    case 'EADDRINUSE':
      return { code: 'PORT_IN_USE', message: `Port ${e.port ?? '?'} on ${e.address ?? 'this host'} is already in use.`, fix: 'Stop whatever holds it, or pick another port with --port (or PORT, or server.port in the config).' };
    case 'EADDRNOTAVAIL':
      return { code: 'PORT_IN_USE', message: `Cannot listen on ${e.address ?? 'that address'}: it is not an address of this machine.`, fix: 'Set --host (or server.host) to an address of this machine, e.g. 127.0.0.1 or 0.0.0.0.' };
    case 'EACCES':
    case 'EPERM':
      return { code: 'STORAGE', message: `No permission to ${e.syscall ?? 'use'}${where}.`, fix: 'Run as a user who may write there, or point IPAAS_OPENAI_DB (store.path) and log.path at a writable folder.' };
    case 'EROFS':
      return { code: 'STORAGE', message: `${e.path ?? 'The data folder'} is on a read-only file system.`, fix: 'Point IPAAS_OPENAI_DB (store.path) and log.path at a writable folder.' };
    case 'ENOSPC':
      return { code: 'STORAGE', message: `The disk is full${e.path ? ` (writing ${e.path})` : ''}.`, fix: 'Free space on the disk that holds the database and the log, then start again; nothing acknowledged is lost.' };
    case 'ERR_SQLITE_ERROR':
      if (e.errcode === 11 || e.errcode === 26) return { code: 'STORAGE', message: `The database is damaged or is not a SQLite database: ${e.message}`, fix: 'Restore it from a backup, or move it aside to start with an empty one (IPAAS_OPENAI_DB names the file).' };
      if (e.errcode === 13) return { code: 'STORAGE', message: `The disk holding the database is full: ${e.message}`, fix: 'Free space on that disk, then start again.' };
      if (e.errcode === 8 || e.errcode === 14) return { code: 'STORAGE', message: `The database cannot be opened for writing: ${e.message}`, fix: 'Check that its folder exists and is writable, or point IPAAS_OPENAI_DB (store.path) elsewhere.' };
      return undefined;
    default:
      return undefined;
  }
}

export function describeError(err: unknown): { code: string; message: string; fix?: string | undefined; retryable: boolean } {
  if (err instanceof ConnectorError) return { code: err.code, message: err.message, fix: err.fix, retryable: err.retryable };
  const system = err instanceof Error ? describeSystemError(err as SystemError) : undefined;
  if (system) return { ...system, retryable: false };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message, retryable: false, fix: 'This is a bug in the connector: please report it with the sync log entry.' };
}

/** A spend cap is reached: the record waits (held), it is not dropped. */
export class BudgetHeldError extends ConnectorError {
  constructor(
    message: string,
    readonly until: Date,
  ) {
    super('BUDGET_HELD', message, {
      retryable: true,
      fix: `It resumes by itself at ${until.toISOString()} (the next period), or sooner when the cap in budget.* is raised and the connector restarted.`,
    });
  }
}

/**
 * The process is stopping (SIGTERM) and aborted the call in flight. Not a failure of the record:
 * its job goes back to the queue untouched, and whoever claims it next makes the call.
 */
export class InterruptedError extends ConnectorError {
  constructor(what: string) {
    super('INTERRUPTED', `${what} was aborted because the connector is stopping.`, {
      retryable: true,
      fix: 'Nothing to do: the record is back in the queue and is sent again when the connector runs.',
    });
  }
}

export const isQuotaExhausted = (err: unknown) => err instanceof UpstreamError && err.upstreamCode === 'insufficient_quota';

/** OpenAI's flex tier had no capacity for the call (429 resource unavailable): not a rate limit, nothing charged. */
export function isFlexUnavailable(err: unknown): boolean {
  return err instanceof UpstreamError && err.service === 'openai' && err.status === 429 && err.upstreamCode === 'resource_unavailable';
}
