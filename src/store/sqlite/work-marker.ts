import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConnectorError } from '../../shared/errors.js';

/**
 * A marker beside the SQLite file, written once the database holds acknowledged work (a webhook
 * answered 200, a queued run, a sync log entry). SQLite creates a missing file without a word, so
 * without it a deleted database would start empty and take the acknowledged work with it; with it,
 * opening refuses a missing file, or a file that is another database (its id differs), until told
 * to start afresh (--fresh). A database that never held work has no marker and is never refused.
 *
 * Hidden (`.<name>.marker`) so that `rm ipaas-openai.db*` or `rm data/*`, the usual ways a database
 * goes missing by hand, do not take the marker with it.
 */
export function markerPath(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.marker`);
}

export interface Marker {
  path: string;
  id: string;
  since: string | undefined;
}

export function readMarker(file: string): Marker | undefined {
  const p = markerPath(file);
  let text: string;
  try {
    text = readFileSync(p, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const id = /^database id: (\S+)$/m.exec(text)?.[1];
  // A marker we cannot read is still a marker: refuse rather than guess.
  return { path: p, id: id ?? '(unreadable marker)', since: /^since: (\S+)$/m.exec(text)?.[1] };
}

/** Written to a temporary file, synced and renamed into place: a crash leaves the old marker or the new, never half of one. */
export function writeMarker(file: string, id: string): void {
  const p = markerPath(file);
  const text = [
    'This file belongs to ipaas-openai. The SQLite database beside it has held acknowledged work',
    '(webhooks answered 200, queued runs, the sync log):',
    `database: ${path.resolve(file)}`,
    `database id: ${id}`,
    `since: ${new Date().toISOString()}`,
    '',
    'While this file exists, ipaas-openai refuses to open that path when the database is missing or',
    'is another database, instead of starting empty. Restore the database from a backup, or run the',
    'command once with --fresh to start afresh (its queue and sync log are then gone).',
    'Keep this file with the database (back both up); delete it only together with the database.',
    '',
  ].join('\n');
  const tmp = `${p}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, p);
  syncFolder(path.dirname(p));
}

export function removeMarker(file: string): void {
  rmSync(markerPath(file), { force: true });
}

/** The rename is durable only once the folder is synced (not possible everywhere: Windows). */
function syncFolder(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Best effort.
  }
}

const HOW_TO_GO_ON = (file: string) =>
  `Restore ${file} from a backup (or point IPAAS_OPENAI_DB / store.path at where the database is now). ` +
  'To start afresh instead, knowing its queued webhooks, runs and sync log are gone, start once with --fresh (`ipaas-openai serve --fresh`; sync, retry and demo take it too).';

/** The database file is missing, and the marker says it held acknowledged work. */
export function vanishedError(file: string, marker: Marker): ConnectorError {
  return new ConnectorError(
    'STORAGE_FAULT',
    `The database ${file} is missing, but ${marker.path} says it held acknowledged work (database id ${marker.id}${marker.since ? `, since ${marker.since}` : ''}): ` +
      'starting with an empty database would lose that work without a word, so the connector does not start.',
    { fix: HOW_TO_GO_ON(file), details: { database: file, marker: marker.path } },
  );
}

/** The file at the path is another database than the one the marker was written for (replaced, or recreated empty). */
export function replacedError(file: string, marker: Marker, id: string): ConnectorError {
  return new ConnectorError(
    'STORAGE_FAULT',
    `The database ${file} is not the one that held acknowledged work: ${marker.path} names database id ${marker.id}, the file is database id ${id} ` +
      '(it was replaced, or deleted and created anew), so the connector does not start.',
    { fix: HOW_TO_GO_ON(file), details: { database: file, marker: marker.path } },
  );
}
