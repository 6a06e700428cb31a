import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { startHarness, type Harness } from './helpers/harness.js';

const HELP_POINTER = '(`ipaas-openai --help` lists the commands; `ipaas-openai <command> --help` their options)';

describe('exit codes: 0 all good, 1 a record or check failed, 2 the command could not run', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-exit-'));
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));
  const cli = (...args: string[]) => runCli(args, { cwd });

  it('no command prints the help and exits 0; --version too', async () => {
    const none = await cli();
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('Usage: ipaas-openai [options] [command]');
    const v = await cli('--version');
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^ipaas-openai \d+\.\d+\.\d+ \(Node\.js v\d+\./);
  });

  it.each([
    [['bogus'], "error: unknown command 'bogus'"],
    [['sync', '--nope'], "error: unknown option '--nope'"],
    [['preview'], "error: missing required argument 'CustomerNumber'"],
    [['sync', 'CUST-1', '--concurrency', 'many'], "error: option '--concurrency <n>' argument 'many' is invalid"],
    [['logs', '--outcome', 'maybe'], "error: option '--outcome <outcome>' argument 'maybe' is invalid"],
  ])('a usage error (%j) exits 2 with one line and the pointer to --help', async (args, line) => {
    const r = await cli(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(line);
    expect(r.stderr).toContain(HELP_POINTER);
    expect(r.stderr).not.toContain('Usage:'); // not the whole help
  });

  it('validate without an OpenAI key exits 2: it could not run', async () => {
    const r = await runCli(['validate'], { cwd, env: { IPAAS_BASE_URL: 'http://127.0.0.1:9', IPAAS_API_KEY: 'k' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('validate could not run every check: No OpenAI API key configured.');
  });
});

describe('retry --job of a job that is not there, or did not fail', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('exits 1 and names the job', async () => {
    const r = await runCli(['retry', '--job', '99999'], { cwd: h.dir, env: h.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: there is no job 99999.');
    expect(r.stderr).toContain('Fix: list failed jobs');
    const { job } = (await h.connector.store.queue.enqueue({ ref: 'CUST-10045', refKind: 'number', customerId: null, trigger: { source: 'manual' }, maxAttempts: 6 }));
    const pending = await runCli(['retry', '--job', String(job.id)], { cwd: h.dir, env: h.env });
    expect(pending.code).toBe(1);
    expect(pending.stderr).toContain(`error: job ${job.id} is pending, not failed: there is nothing to retry.`);
  });
});

describe('ordinary failures say what to do, not "bug"', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-errors-'));
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('sync --file of a missing file exits 2 naming the file', async () => {
    const r = await runCli(['sync', '--file', 'no-such-ids.txt'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: no-such-ids.txt does not exist.');
    expect(r.stderr).not.toMatch(/bug/);
  });

  it('serve on a taken port exits 2 naming the port and --port/PORT', async () => {
    const { createServer } = await import('node:net');
    const taken = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => taken.once('listening', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = await runCli(['serve', '--port', String(port)], { cwd, env: { IPAAS_BASE_URL: 'http://127.0.0.1:9', IPAAS_API_KEY: 'k', OPENAI_API_KEY: 'sk-x', IPAAS_OPENAI_DB: path.join(cwd, 'x.db') } });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`error: Port ${port} on 127.0.0.1 is already in use.`);
      expect(r.stderr).toContain('--port (or PORT');
    } finally {
      taken.close();
    }
  });
});
