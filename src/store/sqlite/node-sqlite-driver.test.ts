import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newAttempt } from '../../queue/attempt.js';
import { namedParameters, openNodeSqlite } from './node-sqlite-driver.js';
import type { SqliteDatabase } from './sqlite-database.js';
import { SqliteStore } from './sqlite-store.js';


let dir: string;
const open: SqliteDatabase[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'node-sqlite-driver-'));
});
afterEach(() => {
  for (const db of open.splice(0)) db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the SqliteDatabase API on node:sqlite', () => {
  const db = (file = ':memory:') => {
    const d = openNodeSqlite(file);
    open.push(d);
    d.exec('CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT, b REAL)');
    return d;
  };
  const values = (d: SqliteDatabase) => (d.prepare('SELECT a FROM t ORDER BY id').all() as Array<{ a: string }>).map((r) => r.a);

  it('binds named parameters by bare name and ignores extra keys; run reports numbers', () => {
    const d = db();
    const info = d.prepare('INSERT INTO t (a, b) VALUES (@a, @b)').run({ a: 'x', b: 1.5, unrelated: 'ignored', nested: 3 });
    expect(info).toEqual({ changes: 1, lastInsertRowid: 1 });
    expect(typeof info.lastInsertRowid).toBe('number');
    expect(typeof info.changes).toBe('number');
    expect(d.prepare('SELECT * FROM t WHERE id = @id').get({ id: 1, other: true })).toEqual({ id: 1, a: 'x', b: 1.5 });
    expect(d.prepare('SELECT * FROM t WHERE a = ? AND b = ?').all('x', 1.5)).toHaveLength(1);
    expect(d.prepare('SELECT * FROM t WHERE id = ?').get(99)).toBeUndefined();
  });

  it('refuses a named parameter missing from the object (node:sqlite alone would bind NULL)', () => {
    const d = db();
    expect(() => d.prepare('INSERT INTO t (a, b) VALUES (@a, @b)').run({ a: 'x' })).toThrow('Missing named parameter "b"');
    expect(values(d)).toEqual([]);
    // Names inside quotes or comments are not parameters.
    expect(namedParameters("SELECT '@x' AS s, \"@y\" -- @z\n FROM t WHERE a = @a /* :b */ AND b = :b2 AND c = $c")).toEqual(['a', 'b2', 'c']);
  });

  it('binds undefined as NULL', () => {
    const d = db();
    d.prepare('INSERT INTO t (a, b) VALUES (@a, @b)').run({ a: 'x', b: undefined });
    expect(d.prepare('SELECT b FROM t').get()).toEqual({ b: null });
  });

  it('nests transactions as savepoints: a failing inner one rolls back alone', () => {
    const d = db();
    const insert = d.prepare('INSERT INTO t (a) VALUES (?)');
    const result = d.transaction(() => {
      insert.run('outer-1');
      expect(() =>
        d.transaction(() => {
          insert.run('inner');
          throw new Error('inner fails');
        })(),
      ).toThrow('inner fails');
      expect(d.inTransaction).toBe(true);
      insert.run('outer-2');
      return d.transaction(() => insert.run('inner-ok').changes)();
    })();
    expect(result).toBe(1);
    expect(d.inTransaction).toBe(false);
    expect(values(d)).toEqual(['outer-1', 'outer-2', 'inner-ok']);
    // A failing outer transaction rolls back everything, released savepoints included.
    const failingOuter = d.transaction(() => {
      d.transaction(() => insert.run('released, then rolled back'))();
      throw new Error('outer fails');
    });
    expect(failingOuter).toThrow('outer fails');
    expect(d.inTransaction).toBe(false);
    expect(values(d)).toEqual(['outer-1', 'outer-2', 'inner-ok']);
  });

  it('passes arguments through and refuses a function that returns a promise (rolled back)', () => {
    const d = db();
    const add = d.transaction((a: string, b: string) => d.prepare('INSERT INTO t (a) VALUES (?), (?)').run(a, b).changes);
    expect(add('p', 'q')).toBe(2);
    expect(() => d.transaction(async () => d.prepare("INSERT INTO t (a) VALUES ('async')").run())()).toThrow('cannot return a promise');
    expect(values(d)).toEqual(['p', 'q']);
  });

  it('.immediate takes the write lock at BEGIN; the default transaction does not', () => {
    const file = path.join(dir, 'lock.db');
    const a = db(file);
    a.pragma('journal_mode = WAL');
    const b = openNodeSqlite(file);
    open.push(b);
    b.pragma('busy_timeout = 0');
    const otherCanWrite = () => {
      try {
        b.transaction(() => b.prepare("INSERT INTO t (a) VALUES ('b')").run()).immediate();
        return true;
      } catch (err) {
        expect(String(err)).toMatch(/locked|busy/i);
        return false;
      }
    };
    a.transaction(() => expect(otherCanWrite()).toBe(true))();
    a.transaction(() => {
      expect(a.inTransaction).toBe(true);
      expect(otherCanWrite()).toBe(false);
    }).immediate();
    // Nested inside an open transaction, .immediate is a savepoint like the default.
    a.transaction(() => a.transaction(() => a.prepare("INSERT INTO t (a) VALUES ('a')").run()).immediate())();
    expect(values(a)).toEqual(['b', 'a']);
  });

  it('pragma: rows by default, the single value with simple', () => {
    const d = db();
    expect(d.pragma('user_version', { simple: true })).toBe(0);
    d.pragma('user_version = 7');
    expect(d.pragma('user_version', { simple: true })).toBe(7);
    expect(d.pragma('user_version')).toEqual([{ user_version: 7 }]);
    expect(d.pragma('synchronous = NORMAL')).toEqual([]);
    const file = path.join(dir, 'wal.db');
    expect(db(file).pragma('journal_mode = WAL', { simple: true })).toBe('wal');
  });
});

describe('SqliteStore on node:sqlite', () => {
  it('runs the queue hot path: enqueue, claim, answer, and one commit of log row, job end and sync state', async () => {
    const file = path.join(dir, 'store.db');
    const store = new SqliteStore(file, { backgroundCheckpoints: true });
    try {
      const jobs = store.queue;
      const [first, again] = await jobs.enqueueMany([
        { ref: '7', refKind: 'id', customerId: '7', trigger: { source: 'webhook', event: 'updated' }, maxAttempts: 6, eventKey: 'tg:1' },
        { ref: '7', refKind: 'id', customerId: '7', trigger: { source: 'webhook', event: 'updated' }, maxAttempts: 6, eventKey: 'tg:2' },
      ]);
      expect(first!.coalesced).toBe(false);
      expect(again).toMatchObject({ coalesced: true, job: { id: first!.job.id, coalesced: 1 } });
      const [job] = await jobs.claim('w1', 10, 60_000);
      expect(job).toMatchObject({ id: first!.job.id, state: 'calling', leaseOwner: 'w1' });
      const stale = { ...job! };
      await jobs.storeAnswer(job!, { answer: { Comment: 'hi' } });
      const a = newAttempt({ id: '7' }, job!.trigger, new Date().toISOString(), job!.id);
      Object.assign(a, { outcome: 'synced', customerNumber: 'CUST-7', request: { model: 'm', instructions: 'Rules.', input: 'x', text: { format: { type: 'json_schema' } } }, response: { id: 'resp_1', instructions: 'Rules.' } });
      // Two settlements in one group commit: the one from a state the job has left rolls back alone, attempt row included.
      const failing = jobs.settle(stale, { to: 'failed', attempt: { ...a, customerNumber: 'CUST-LOST' }, error: { code: null, message: 'x', fix: null } });
      const done = jobs.settle(job!, { to: 'written', attempt: a, answer: { answer: { Comment: 'hi' } }, syncState: { customerId: '7', customerNumber: 'CUST-7', inputFingerprint: 'fp', written: { Comment: 'hi' }, lastResponseId: 'resp_1', lastWrittenAt: 1 } });
      await expect(failing).rejects.toThrow('no longer calling');
      const attemptId = (await done).attempt!.id;
      expect(typeof attemptId).toBe('number');
      expect(await jobs.get(job!.id)).toMatchObject({ state: 'written', lastAttemptId: attemptId, leaseOwner: null });
      expect(await store.state.get('7')).toMatchObject({ inputFingerprint: 'fp', written: { Comment: 'hi' } });
      expect((await store.log.list()).map((x) => x.customerNumber)).toEqual(['CUST-7']);
      expect((await store.log.get(attemptId))?.request).toEqual(a.request);
      expect(await store.log.records()).toMatchObject([{ recordKey: 'CUST-7', status: 'synced', attempts: 1 }]);
      expect(await jobs.counts()).toMatchObject({ written: 1, pending: 0 });
    } finally {
      await store.close();
    }
  });
});
