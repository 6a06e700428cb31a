/**
 * A database deleted while it held acknowledged webhooks is not silently started empty: serve
 * refuses to start, naming the file, the marker beside it and how to start afresh (exit code 2,
 * nothing created in its place); `serve --fresh` does start afresh, and says so.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulators, type RunningEmulators } from '../emulators/start-emulators.js';
import { runCli } from './helpers/cli.js';
import { startCliProcess } from './helpers/processes.js';

const WEBHOOK_KEY = 'whk-vanished-0123456789';
const cwd = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-vanished-'));
const DB = path.join(cwd, 'data', 'connector.db');
const MARKER = path.join(cwd, 'data', '.connector.db.marker');
const children: ChildProcess[] = [];
let emulators: RunningEmulators;
let env: Record<string, string>;

beforeAll(async () => {
  emulators = await startEmulators({ ipaas: true, openai: true });
  env = {
    IPAAS_BASE_URL: emulators.ipaas!.url,
    IPAAS_API_KEY: emulators.ipaas!.apiKey,
    OPENAI_BASE_URL: emulators.openai!.url,
    OPENAI_API_KEY: emulators.openai!.apiKey,
    IPAAS_OPENAI_DB: DB,
    IPAAS_WEBHOOK_KEY: WEBHOOK_KEY,
    IPAAS_OPENAI_ADMIN_TOKEN: 'admin-vanished-0123456789',
  };
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await emulators?.close();
  rmSync(cwd, { recursive: true, force: true });
});

async function serve(args: string[] = []) {
  const p = await startCliProcess(['serve', '--port', '0', ...args], env, cwd, /serving on http:\/\/\S+/);
  children.push(p.child);
  const url = /serving on (http:\/\/\S+)/.exec(p.out())![1]!;
  const stop = async () => {
    const exited = new Promise<number | null>((resolve) => p.child.once('exit', (code) => resolve(code)));
    p.child.kill('SIGTERM');
    return exited;
  };
  return { ...p, url, stop };
}

describe('a database that vanished while it held acknowledged work', () => {
  it('is refused at start with the file, the marker and --fresh named; --fresh starts afresh and says so', async () => {
    const first = await serve();
    const res = await fetch(`${first.url}/webhooks/ipaas`, {
      method: 'POST',
      headers: { authorization: `Bearer ${WEBHOOK_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 77, attempt: 1, notifications: [{ action: 'updated', id: 424242, scope: 'customer/updated', type: 'Customer' }] }),
    });
    expect(res.status).toBe(200);
    expect(await first.stop()).toBe(0);
    expect(existsSync(MARKER)).toBe(true);

    // The way a database usually goes missing by hand: the file and its -wal / -shm.
    for (const f of [DB, `${DB}-wal`, `${DB}-shm`]) rmSync(f, { force: true });
    const refused = await runCli(['serve', '--port', '0'], { cwd, env, timeoutMs: 30_000 });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`error: The database ${DB} is missing, but ${MARKER} says it held acknowledged work (database id `);
    expect(refused.stderr).toMatch(/starting with an empty database would lose that work without a word, so the connector does not start\./);
    expect(refused.stderr).toMatch(/Fix: Restore .* from a backup .* start once with --fresh \(`ipaas-openai serve --fresh`/);
    expect(refused.stdout).not.toContain('serving on');
    expect(existsSync(DB)).toBe(false);

    const fresh = await serve(['--fresh']);
    expect(fresh.out()).toContain(`warning: Started afresh (--fresh): the database ${DB} was missing although ${MARKER} said it held acknowledged work`);
    expect((await fetch(`${fresh.url}/readyz`)).status).toBe(200);
    expect(((await (await fetch(`${fresh.url}/api/jobs`)).json()) as { counts: Record<string, number> }).counts.pending ?? 0).toBe(0);
    expect(await fresh.stop()).toBe(0);

    // Once afresh, an ordinary start needs no flag.
    const after = await serve();
    expect(after.out()).not.toContain('warning: Started afresh');
    expect(await after.stop()).toBe(0);
  }, 120_000);
});
