/**
 * Where the store's connection keeps SQLite's temporary data. A group commit nests one savepoint per
 * unit of work, and the savepoints' journal went to a temp file once past 64 KiB (a write per page per
 * unit, ~0.1 ms a record on the service's hot path): it must stay in memory. VACUUM's temp copy is the
 * whole database, so purge's VACUUM must go to a file and the connection come back to memory after.
 */
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from './sqlite-store.js';

const root = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-temp-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshFile = () => path.join(root, `case-${++n}`, 'connector.db');

/** SQLite's temp files are unlinked as they are opened (or opened O_TMPFILE): an open descriptor to a deleted file is all that is left of one. */
const deletedFilesOpen = () =>
  readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return [];
    }
  }).filter((target) => target.endsWith('(deleted)'));

describe.skipIf(process.platform !== 'linux')("the store's temporary data", () => {
  it('a group commit of many units in savepoints keeps their journal in memory: no temp file is opened', () => {
    const store = new SqliteStore(freshFile());
    try {
      store.db.exec('CREATE TABLE scratch (id INTEGER PRIMARY KEY, body TEXT)');
      const before = deletedFilesOpen();
      let opened: string[] | undefined;
      const row = store.db.prepare('INSERT INTO scratch (body) VALUES (?)');
      const touch = store.db.prepare('UPDATE scratch SET body = body || ? WHERE id % 7 = ?');
      // 64 units of ~16 KiB each: their savepoints' journal passes SQLite's 64 KiB spill threshold many times over.
      store.db.transaction(() => {
        for (let unit = 0; unit < 64; unit++) {
          store.db.transaction(() => {
            for (let r = 0; r < 4; r++) row.run('x'.repeat(4000));
            touch.run('y', unit % 7);
          })();
        }
        opened = deletedFilesOpen().filter((f) => !before.includes(f));
      }).immediate();
      expect(opened).toEqual([]);
      expect(store.db.pragma('temp_store', { simple: true })).toBe(2);
    } finally {
      store.db.close();
    }
  });

  it("purge's VACUUM copies the database through a temp file, not memory, and the connection returns to memory after", async () => {
    const store = new SqliteStore(freshFile());
    try {
      const during: unknown[] = [];
      const exec = store.db.exec.bind(store.db);
      store.db.exec = (sql: string) => {
        if (/^\s*VACUUM/i.test(sql)) during.push(store.db.pragma('temp_store', { simple: true }));
        return exec(sql);
      };
      await store.retention.scrubFreedSpace();
      expect(during).toEqual([1]);
      expect(store.db.pragma('temp_store', { simple: true })).toBe(2);
    } finally {
      store.db.close();
    }
  });
});
