/**
 * The SQLite store's storage faults and its marker: a write the disk refuses is a fatal fault that
 * names the file (heard once by onFault), a lock held elsewhere passes; a database that held
 * acknowledged work and vanished (or was replaced) is refused at open unless told --fresh, and an
 * acknowledgement is never given for a file that is no longer at its path.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../../shared/errors.js';
import type { NewJob } from '../ports.js';
import { BackgroundCheckpoint } from './background-checkpoint.js';
import { sqliteStorageError } from './sqlite-faults.js';
import { SqliteStore } from './sqlite-store.js';
import { markerPath } from './work-marker.js';

const root = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-faults-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshFile = () => path.join(root, `case-${++n}`, 'connector.db');
const job = (ref: string): NewJob => ({ ref, refKind: 'number', trigger: { source: 'manual' }, maxAttempts: 3 });
const removeDatabase = (file: string) => {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
};
/** What opening threw (or undefined), with the file's existence afterwards. */
function openError(file: string, options: { fresh?: boolean } = {}): ConnectorError | undefined {
  try {
    new SqliteStore(file, options).db.close();
    return undefined;
  } catch (err) {
    return err as ConnectorError;
  }
}

describe('SQLite storage faults', () => {
  it('a write the disk cannot take (SQLITE_FULL) is a fatal STORAGE_FAULT naming the file, heard once', async () => {
    const file = freshFile();
    const store = new SqliteStore(file);
    const heard: Error[] = [];
    store.onFault((f) => heard.push(f));
    await store.queue.enqueue(job('A'));
    // SQLite's own page limit: the database is "full" at its current size, as on a full disk.
    store.db.pragma(`max_page_count = ${store.db.pragma('page_count', { simple: true }) as number}`);
    const many = Array.from({ length: 2000 }, (_, i) => job(`FULL-${i}`));
    const err = (await store.queue.enqueueMany(many).catch((e: unknown) => e)) as ConnectorError;
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.code).toBe('STORAGE_FAULT');
    expect(err.message).toContain(`The disk holding the database ${file} is full`);
    expect(err.fix).toMatch(/Free space on that disk, then start the connector again/);
    await expect(store.queue.enqueueMany(many)).rejects.toMatchObject({ code: 'STORAGE_FAULT' });
    expect(heard).toHaveLength(1);
    expect(heard[0]).toBe(err);
    await expect(store.check()).rejects.toBe(err);
    // A listener that comes late still hears it.
    const late: Error[] = [];
    store.onFault((f) => late.push(f));
    expect(late).toEqual([err]);
    await store.close();
  });

  it('a write lock held elsewhere past the busy timeout passes: STORE_UNAVAILABLE, not a fault', async () => {
    const file = freshFile();
    const store = new SqliteStore(file);
    const heard: Error[] = [];
    store.onFault((f) => heard.push(f));
    store.db.pragma('busy_timeout = 50');
    const other = new DatabaseSync(file);
    other.exec('BEGIN IMMEDIATE');
    await expect(store.queue.enqueue(job('B'))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true, message: expect.stringContaining(`The database ${file} stayed locked`) });
    other.exec('ROLLBACK');
    other.close();
    await expect(store.queue.enqueue(job('B'))).resolves.toMatchObject({ coalesced: false });
    expect(heard).toEqual([]);
    await store.close();
  });

  it('never acknowledges into a file deleted under it: the commit is refused as STORE_UNAVAILABLE', async () => {
    const file = freshFile();
    const store = new SqliteStore(file);
    await store.queue.enqueue(job('C'));
    rmSync(file);
    await expect(store.queue.enqueue(job('D'))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining(`The database file ${file} was deleted`) });
    const item = { eventKey: 'e1', deliveryId: '1', attempt: 1, scope: 'customer/updated', customerId: '7', job: { ...job('7'), refKind: 'id' as const, customerId: '7', eventKey: 'e1' } };
    await expect(store.queue.intake([item], () => {
      throw new Error('no skip here');
    })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await store.close();
  });
});

describe('the checkpoint thread', () => {
  it('reports what fails other than a busy database (here: the file is not a database), once, as the store judges it', async () => {
    const file = freshFile();
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, 'this is not a SQLite database, it only has its name'.repeat(100));
    const heard: Error[] = [];
    const checkpoint = new BackgroundCheckpoint(file, (err) => heard.push(err), 20);
    const end = Date.now() + 5_000;
    while (heard.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    await checkpoint.stop();
    expect(heard).toHaveLength(1);
    expect(sqliteStorageError(heard[0], file)).toMatchObject({ code: 'STORAGE_FAULT', message: expect.stringContaining(`The database ${file} is damaged or is not a SQLite database`) });
  });
});

describe('the checkpoint thread under steady writes', () => {
  it('starts the WAL over once it passes its size, so the file stays bounded however long the writes go on', async () => {
    const file = freshFile();
    mkdirSync(path.dirname(file), { recursive: true });
    // The store's own connection settings: WAL, no checkpoint on the committing thread.
    const db = new DatabaseSync(file);
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)');
    const checkpoint = new BackgroundCheckpoint(file, () => {}, 20, 256);
    const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
    const body = Buffer.alloc(8192, 7);
    let maxWal = 0;
    try {
      // ~48 MB of pages in short commits, a few at each turn of the loop as a busy serve makes them.
      for (let i = 0; i < 6000; i++) {
        db.exec('BEGIN IMMEDIATE');
        insert.run(body);
        db.exec('COMMIT');
        if (i % 20 === 0) {
          maxWal = Math.max(maxWal, statSync(`${file}-wal`).size);
          await new Promise((r) => setTimeout(r, 0));
        }
      }
      maxWal = Math.max(maxWal, statSync(`${file}-wal`).size);
    } finally {
      await checkpoint.stop();
      db.close();
    }
    // Every page written went through the WAL: left to grow, it ends ~100 MB here; started over past its
    // size (1 MB here), it stays at a fraction of that (10-17 MB seen, the most on a loaded CI machine).
    expect(maxWal).toBeLessThan(48 * 1024 * 1024);
  }, 60_000);
});

describe('the marker of a database that held acknowledged work', () => {
  it('is not written for a database that never held work, so deleting one is not refused', async () => {
    const file = freshFile();
    await new SqliteStore(file).close();
    expect(existsSync(markerPath(file))).toBe(false);
    removeDatabase(file);
    expect(openError(file)).toBeUndefined();
  });

  it('is written beside the file (hidden) with the first acknowledged work, before the caller hears "stored"', async () => {
    const file = freshFile();
    const store = new SqliteStore(file);
    expect(existsSync(markerPath(file))).toBe(false);
    await store.queue.enqueue(job('E'));
    expect(markerPath(file)).toBe(path.join(path.dirname(file), '.connector.db.marker'));
    const text = readFileSync(markerPath(file), 'utf8');
    expect(text).toContain(`database: ${path.resolve(file)}`);
    expect(text).toMatch(/^database id: [0-9a-f]{32}$/m);
    await store.close();
  });

  it('refuses a missing database, naming the file, the marker and --fresh, and creates nothing in its place', async () => {
    const file = freshFile();
    const store = new SqliteStore(file);
    await store.queue.enqueue(job('F'));
    await store.close();
    removeDatabase(file);
    const err = openError(file)!;
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.code).toBe('STORAGE_FAULT');
    expect(err.message).toContain(`The database ${file} is missing, but ${markerPath(file)} says it held acknowledged work`);
    expect(err.fix).toMatch(/Restore .* from a backup/);
    expect(err.fix).toContain('`ipaas-openai serve --fresh`');
    expect(existsSync(file)).toBe(false);
  });

  it('with --fresh starts empty, says so once, and marks the new database when it holds work', async () => {
    const file = freshFile();
    const first = new SqliteStore(file);
    await first.queue.enqueue(job('G'));
    await first.close();
    const before = readFileSync(markerPath(file), 'utf8');
    removeDatabase(file);
    const store = new SqliteStore(file, { fresh: true });
    expect(store.notice).toMatch(new RegExp(`^Started afresh \\(--fresh\\): the database ${file} was missing`));
    expect((await store.queue.counts()).pending).toBe(0);
    expect(existsSync(markerPath(file))).toBe(false);
    await store.queue.enqueue(job('H'));
    const after = readFileSync(markerPath(file), 'utf8');
    expect(after).not.toBe(before);
    await store.close();
    // The next start is an ordinary one.
    const again = new SqliteStore(file);
    expect(again.notice).toBeUndefined();
    await again.close();
  });

  it('refuses another database at the path (replaced, or recreated empty); accepts it with --fresh', async () => {
    const file = freshFile();
    const store = new SqliteStore(file);
    await store.queue.enqueue(job('I'));
    await store.close();
    removeDatabase(file);
    new DatabaseSync(file).close(); // e.g. something that opened the path after the file was gone
    const err = openError(file)!;
    expect(err.code).toBe('STORAGE_FAULT');
    expect(err.message).toMatch(new RegExp(`The database ${file} is not the one that held acknowledged work: ${markerPath(file)} names database id [0-9a-f]{32}, the file is database id [0-9a-f]{32}`));
    expect(openError(file, { fresh: true })).toBeUndefined();
    expect(openError(file)).toBeUndefined();
  });

  it('accepts the same database restored from a backup', async () => {
    const file = freshFile();
    const store = new SqliteStore(file);
    await store.queue.enqueue(job('J'));
    await store.close();
    copyFileSync(file, `${file}.backup`);
    removeDatabase(file);
    copyFileSync(`${file}.backup`, file);
    const restored = new SqliteStore(file);
    expect((await restored.queue.counts()).pending).toBe(1);
    await restored.close();
  });

  it('is written at open for a database that already holds work (one made before the marker existed)', async () => {
    const file = freshFile();
    const store = new SqliteStore(file);
    await store.queue.enqueue(job('K'));
    await store.close();
    rmSync(markerPath(file));
    await new SqliteStore(file).close();
    expect(existsSync(markerPath(file))).toBe(true);
  });
});
