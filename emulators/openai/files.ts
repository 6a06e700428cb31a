/**
 * Files API: an in-memory file store and the routes POST /v1/files (multipart), GET /v1/files,
 * GET /v1/files/:id, GET /v1/files/:id/content and DELETE /v1/files/:id. Bodies follow the spec's
 * OpenAIFile; unknown ids are 404 "No such File object: file-…".
 */
import { randomInt } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from './errors.js';
import { multipartBoundary, parseMultipart, type MultipartPart } from './multipart.js';
import type { OpenAICounters } from './types.js';

export const DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024;
/** Files with purpose 'batch' expire after 30 days unless expires_after says otherwise. */
export const BATCH_FILE_TTL_SECONDS = 30 * 24 * 3600;
export const UPLOAD_PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'];

export type FilePurpose = 'assistants' | 'assistants_output' | 'batch' | 'batch_output' | 'fine-tune' | 'fine-tune-results' | 'vision' | 'user_data' | 'evals';

/** The spec's OpenAIFile. */
export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  expires_at?: number;
  filename: string;
  purpose: FilePurpose;
  status: 'uploaded' | 'processed' | 'error';
}

export interface StoredFile {
  meta: FileObject;
  content: Buffer;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const randomId = (n: number): string => Array.from({ length: n }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join('');
export const newFileId = (): string => `file-${randomId(22)}`;
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export class FileStore {
  private readonly files = new Map<string, StoredFile>();

  add(content: Buffer, filename: string, purpose: FilePurpose, expiresAfterSeconds?: number): FileObject {
    const created = nowSeconds();
    const meta: FileObject = {
      id: newFileId(),
      object: 'file',
      bytes: content.length,
      created_at: created,
      filename,
      purpose,
      status: 'processed',
    };
    const ttl = expiresAfterSeconds ?? (purpose === 'batch' ? BATCH_FILE_TTL_SECONDS : undefined);
    if (ttl !== undefined) meta.expires_at = created + ttl;
    this.files.set(meta.id, { meta, content });
    return { ...meta };
  }

  get(id: string): StoredFile | undefined {
    return this.files.get(id);
  }

  /** The file, or the 404 OpenAI sends (param names the request field that held the id). */
  require(id: string, param = 'id'): StoredFile {
    const f = this.files.get(id);
    if (!f) throw errors.noSuchFile(id, param);
    return f;
  }

  delete(id: string): boolean {
    return this.files.delete(id);
  }

  /** Oldest first. */
  list(): FileObject[] {
    return [...this.files.values()].map((f) => ({ ...f.meta }));
  }
}

export interface FileRouteDeps {
  store: FileStore;
  counters: OpenAICounters;
  maxUploadBytes: number;
  /** Replaces what the request log keeps as the body (never the upload's bytes). */
  recordBody(req: FastifyRequest, body: unknown): void;
}

function formatBytes(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MB` : `${n} bytes`;
}

function readUpload(req: FastifyRequest, maxUploadBytes: number): { content: Buffer; filename: string; purpose: FilePurpose; expiresAfter?: number } {
  const boundary = multipartBoundary(req.headers['content-type']);
  if (!boundary || !Buffer.isBuffer(req.body)) {
    throw errors.badRequest(
      `Invalid Content-Type header (${req.headers['content-type'] ?? 'none'}), expected multipart/form-data (with a boundary).`,
    );
  }
  let parts: MultipartPart[];
  try {
    parts = parseMultipart(req.body, boundary);
  } catch (e) {
    throw errors.badRequest(`Could not parse the multipart form: ${e instanceof Error ? e.message : String(e)}.`);
  }
  const fields = new Map<string, MultipartPart>();
  for (const p of parts) fields.set(p.name, p);
  const allowed = new Set(['file', 'purpose', 'expires_after[anchor]', 'expires_after[seconds]']);
  for (const name of fields.keys()) if (!allowed.has(name)) throw errors.unknownParameter(name);

  const purposePart = fields.get('purpose');
  if (!purposePart) throw errors.missingParameter('purpose');
  const purpose = purposePart.data.toString('utf8').trim();
  if (!UPLOAD_PURPOSES.includes(purpose)) throw errors.invalidValue('purpose', purpose, UPLOAD_PURPOSES);

  const filePart = fields.get('file');
  if (!filePart) throw errors.missingParameter('file');
  if (filePart.filename === undefined) throw errors.invalidType('file', 'a file', filePart.data.toString('utf8'));
  const filename = filePart.filename || 'upload';
  if (filePart.data.length > maxUploadBytes) {
    throw errors.badRequest(
      `File is too large: ${filePart.data.length} bytes. The maximum file size is ${formatBytes(maxUploadBytes)}.`,
      'file',
      'file_too_large',
    );
  }
  if (purpose === 'batch' && !filename.toLowerCase().endsWith('.jsonl')) {
    throw errors.badRequest('Invalid file format for Batch API. Must be .jsonl', 'file', 'invalid_file_format');
  }

  let expiresAfter: number | undefined;
  const anchor = fields.get('expires_after[anchor]')?.data.toString('utf8');
  const secondsText = fields.get('expires_after[seconds]')?.data.toString('utf8');
  if (anchor !== undefined || secondsText !== undefined) {
    if (anchor === undefined) throw errors.missingParameter('expires_after.anchor');
    if (anchor !== 'created_at') throw errors.invalidValue('expires_after.anchor', anchor, ['created_at']);
    if (secondsText === undefined) throw errors.missingParameter('expires_after.seconds');
    const seconds = Number(secondsText);
    if (!Number.isInteger(seconds)) throw errors.invalidType('expires_after.seconds', 'an integer', secondsText);
    if (seconds < 3600) throw errors.belowMinimum('expires_after.seconds', 3600, seconds, true);
    if (seconds > 2_592_000) throw errors.aboveMaximum('expires_after.seconds', 2_592_000, seconds, true);
    expiresAfter = seconds;
  }
  const out: { content: Buffer; filename: string; purpose: FilePurpose; expiresAfter?: number } = {
    content: Buffer.from(filePart.data),
    filename,
    purpose: purpose as FilePurpose,
  };
  if (expiresAfter !== undefined) out.expiresAfter = expiresAfter;
  return out;
}

/** An integer query parameter within [min, max], or `fallback` when absent. */
export function intQuery(value: unknown, param: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw errors.invalidType(param, 'an integer', value);
  if (n < min) throw errors.belowMinimum(param, min, n, true);
  if (n > max) throw errors.aboveMaximum(param, max, n, true);
  return n;
}

/** A cursor page like OpenAI's: items after `after` (by id), at most `limit`. */
export function cursorPage<T extends { id: string }>(items: T[], after: unknown, limit: number): Record<string, unknown> {
  let start = 0;
  if (typeof after === 'string' && after !== '') {
    const i = items.findIndex((x) => x.id === after);
    start = i < 0 ? items.length : i + 1;
  }
  const data = items.slice(start, start + limit);
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: start + limit < items.length,
  };
}

export function registerFileRoutes(app: FastifyInstance, deps: FileRouteDeps): void {
  const { store, counters, maxUploadBytes } = deps;

  // Multipart bodies arrive as a Buffer; the JSON catch-all parser handles everything else.
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', bodyLimit: maxUploadBytes + 1024 * 1024 }, (_req, body, done) => {
    done(null, body);
  });

  app.post('/v1/files', async (req) => {
    deps.recordBody(req, Buffer.isBuffer(req.body) ? { multipart: true, bytes: req.body.length } : req.body ?? null);
    const upload = readUpload(req, maxUploadBytes);
    deps.recordBody(req, { purpose: upload.purpose, filename: upload.filename, bytes: upload.content.length });
    const file = store.add(upload.content, upload.filename, upload.purpose, upload.expiresAfter);
    counters.filesUploaded += 1;
    return file;
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/v1/files', async (req) => {
    const q = req.query;
    const limit = intQuery(q.limit, 'limit', 1, 10_000, 10_000);
    const order = q.order ?? 'desc';
    if (order !== 'asc' && order !== 'desc') throw errors.invalidValue('order', order, ['asc', 'desc']);
    let files = store.list();
    if (q.purpose) files = files.filter((f) => f.purpose === q.purpose);
    if (order === 'desc') files.reverse();
    return cursorPage(files, q.after, limit);
  });

  app.get<{ Params: { id: string } }>('/v1/files/:id', async (req) => ({ ...store.require(req.params.id).meta }));

  app.get<{ Params: { id: string } }>('/v1/files/:id/content', async (req, reply) => {
    const file = store.require(req.params.id);
    return reply.type('application/octet-stream').send(file.content);
  });

  app.delete<{ Params: { id: string } }>('/v1/files/:id', async (req) => {
    store.require(req.params.id);
    store.delete(req.params.id);
    return { id: req.params.id, object: 'file', deleted: true };
  });
}
