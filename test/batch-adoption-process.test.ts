/**
 * D1 across processes: `sync --all --batch` SIGKILLed while OpenAI's answer to POST /v1/batches is on
 * its way. The emulators run as one process (`ipaas-openai emulate all`), the CLI as another; the
 * OpenAI emulator's `batchCreate: "lost"` setting creates the batch and withholds the answer, so the
 * kill lands exactly between "OpenAI created it" and "the store recorded its id". The rerun must find
 * the batch by the intent it recorded (metadata run_id + submission) and adopt it: one batch ever,
 * one write per customer, nothing paid twice.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { controlUrlOf } from '../emulators/control-path.js';
import { SAMPLE_CUSTOMERS } from '../emulators/sample-customers.js';
import { spawnCli } from './helpers/cli.js';
import { startEmulatorProcess } from './helpers/processes.js';
import { waitFor } from './helpers/service-harness.js';

const N = 300;
/** The seed's samples come first; the one without a CustomerNumber fails unsent and is never written. */
const WRITABLE = N + SAMPLE_CUSTOMERS.filter((c) => c.customer_number).length;
const ALL = N + SAMPLE_CUSTOMERS.length;
const PUT = 'PUT /customers/v2/Customer/:id';

interface Batch {
  id: string;
  status: string;
  output_file_id?: string;
  error_file_id?: string;
  metadata: Record<string, string> | null;
  request_counts: { total: number; completed: number; failed: number };
}
interface OpenAICounters {
  requests: number;
  completions: number;
  hung: number;
  aborted: number;
  batchesCreated: number;
  batchLinesProcessed: number;
}

const exited = (c: ChildProcess): Promise<void> =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((resolve) => c.once('close', () => resolve()));

/** A generous bound for the rerun: it takes about 4 s here (305 lines, `batchSpeed: fast`); the machine may be busy. */
const RERUN_TIMEOUT_MS = 90_000;

/**
 * Runs the CLI to its end; after timeoutMs it is stopped with SIGTERM (the CLI then prints its summary and
 * flushes its log), and SIGKILLed 10 s later. Never throws, so the test can say what went wrong.
 */
function runBounded(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean; ms: number }> {
  const t0 = Date.now();
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => {
    let timedOut = false;
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      clearTimeout(killer);
      resolve({ code, stdout, stderr, timedOut, ms: Date.now() - t0 });
    });
  });
}

describe('sync --all --batch killed while OpenAI answers the batch create (D1, standalone processes)', () => {
  const children: ChildProcess[] = [];
  const cwd = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-batch-adopt-'));
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.race([Promise.all(children.map(exited)), new Promise((r) => setTimeout(r, 10_000))]);
    rmSync(cwd, { recursive: true, force: true });
  }, 20_000);

  it(`the rerun adopts the one batch OpenAI created: each of ${WRITABLE} customers written once, no line paid twice`, async () => {
    const emu = await startEmulatorProcess(cwd, N);
    children.push(emu.child);
    expect(emu.env.OPENAI_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(emu.env.IPAAS_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
    const openaiKey = { authorization: `Bearer ${emu.env.OPENAI_API_KEY}`, 'content-type': 'application/json' };
    const openai = async <T>(p: string): Promise<T> => {
      const r = await fetch(`${emu.env.OPENAI_BASE_URL}${p}`, { headers: openaiKey });
      expect(r.status, `GET ${p}`).toBe(200);
      return (p.endsWith('/content') ? await r.text() : await r.json()) as T;
    };
    const settings = async (patch: Record<string, unknown>) => {
      const r = await fetch(`${controlUrlOf(emu.env.OPENAI_BASE_URL!)}settings`, { method: 'PATCH', headers: openaiKey, body: JSON.stringify(patch) });
      expect(r.status).toBe(200);
      return (await r.json()) as { batchCreate: string };
    };
    const oc = () => emu.counters<OpenAICounters>('OpenAI');
    const puts = async () => (await emu.counters<{ byRoute: Record<string, number> }>('iPaaS.com')).byRoute[PUT] ?? 0;
    const batches = async () => (await openai<{ data: Batch[] }>('/batches?limit=100')).data;

    expect((await settings({ batchSpeed: 'fast', batchCreate: 'lost' })).batchCreate).toBe('lost');
    const env = { ...emu.env, IPAAS_OPENAI_DB: path.join(cwd, 'adopt.db') };
    const log = path.join(cwd, 'data', 'ipaas-openai.log');
    const t0 = Date.now();

    // 1. The first run builds the file, records its intent, creates the batch... and never hears back.
    const first = spawnCli(['sync', '--all', '--batch', '--yes'], { cwd, env });
    children.push(first);
    let firstOut = '';
    first.stdout!.on('data', (d) => (firstOut += d));
    first.stderr!.on('data', (d) => (firstOut += d));
    await waitFor(
      async () => {
        if (first.exitCode !== null) throw new Error(`the first run ended (${first.exitCode}) before its batch create hung:\n${firstOut}`);
        const c = await oc();
        return c.batchesCreated >= 1 && c.hung >= 1;
      },
      90_000,
      'OpenAI to create the batch while its answer hangs',
    );
    const [created, ...more] = await batches();
    expect(more).toEqual([]);
    expect(created!.metadata).toEqual({ run_id: expect.any(String), submission: expect.stringMatching(/^submitting-[0-9a-f-]{36}$/) });
    expect(created!.request_counts.total === 0 || created!.request_counts.total === WRITABLE).toBe(true); // 0 while validating

    first.kill('SIGKILL');
    await exited(first);
    const killedAt = Date.now();
    expect(first.signalCode).toBe('SIGKILL');
    await waitFor(async () => (await oc()).aborted >= 1, 10_000, 'the emulator to see the killed client leave');
    expect(await puts()).toBe(0); // nothing was applied before the kill
    expect(await oc()).toMatchObject({ batchesCreated: 1, hung: 1, aborted: 1, completions: 0 });
    expect((await settings({ batchCreate: 'answer' })).batchCreate).toBe('answer');
    const logBefore = existsSync(log) ? statSync(log).size : 0;

    // 2. The same command again, to the end.
    const rerunStart = Date.now();
    const before = await emu.counters<OpenAICounters & { byPath: Record<string, number> }>('OpenAI');
    const rerun = spawnCli(['sync', '--all', '--batch', '--yes'], { cwd, env });
    children.push(rerun);
    const second = await runBounded(rerun, RERUN_TIMEOUT_MS);
    const out = `${second.stdout}\n${second.stderr}`;
    const c = await emu.counters<OpenAICounters & { byPath: Record<string, number> }>('OpenAI');
    const lastLines = second.stdout.trim().split('\n').slice(-4).join('\n');
    const rerunLog = existsSync(log) ? readFileSync(log, 'utf8').slice(logBefore) : '';

    // Exactly one batch was ever created at OpenAI, and it is the one the first run lost.
    expect(c.batchesCreated, `batches created at OpenAI (the rerun paid again for ${c.batchLinesProcessed - WRITABLE} lines)`).toBe(1);
    const all = await batches();
    expect(all.map((b) => b.id)).toEqual([created!.id]);
    expect(c.completions, 'direct (full-price) completions').toBe(0);
    expect(
      second.timedOut,
      `the rerun did not finish within ${RERUN_TIMEOUT_MS / 1000} s and was stopped. It sent ${(c.byPath['/v1/batches'] ?? 0) - (before.byPath['/v1/batches'] ?? 0)} ` +
        `requests to /v1/batches (a list would look for the lost batch) and ${c.requests - before.requests} to OpenAI in all; PUTs so far ${await puts()}. ` +
        `Its last output:\n${lastLines}\nIts log:\n${rerunLog.slice(-2000) || '(nothing)'}`,
    ).toBe(false);
    expect(second.stderr, out).toBe('');
    expect(second.code, out).toBe(1); // the customer without a CustomerNumber failed: exit 1, as documented
    expect(second.stdout, out).toContain(`Finished: ${WRITABLE} written, 0 skipped (unchanged or filtered), 1 failed of ${ALL}`);
    expect(all[0]).toMatchObject({ status: 'completed', request_counts: { total: WRITABLE, completed: WRITABLE, failed: 0 } });
    expect(c).toMatchObject({ batchesCreated: 1, batchLinesProcessed: WRITABLE, completions: 0, hung: 1, aborted: 1 });

    // The rerun says it adopted that batch (the log; stdout has only the summary).
    const entries = rerunLog.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg?: string; batchId?: string; level?: number });
    expect(entries.filter((e) => /^adopted a batch/.test(e.msg ?? '')).map((e) => e.batchId), rerunLog).toEqual([created!.id]);
    expect(entries.filter((e) => e.msg === 'batch submitted'), 'the rerun created no batch').toEqual([]);

    // One write per customer: WRITABLE PUTs in all, and WRITABLE distinct customers each carrying an answer
    // from the adopted batch's output (so no customer got two writes and another none).
    expect(await puts()).toBe(WRITABLE);
    const output = (await openai<string>(`/files/${all[0]!.output_file_id}/content`))
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { response: { body: { id: string } } }).response.body.id);
    expect(new Set(output).size).toBe(WRITABLE);
    const ipaasAuth = { authorization: `Bearer ${emu.env.IPAAS_API_KEY}` };
    const customers: Array<{ customer_number: string | null; custom_fields: Array<{ custom_field_name: string; value: string }> }> = [];
    for (let page = 1; customers.length < ALL; page++) {
      const r = await fetch(`${emu.env.IPAAS_BASE_URL}/customers/v2/Customers?pageNumber=${page}&pageSize=100`, { headers: ipaasAuth });
      expect(r.status).toBe(200);
      const items = (await r.json()) as typeof customers;
      if (items.length === 0) break;
      customers.push(...items);
    }
    expect(customers).toHaveLength(ALL);
    const responseIdOf = (cu: (typeof customers)[number]) => cu.custom_fields.find((f) => f.custom_field_name === 'Last Response ID')?.value;
    const written = customers.filter((cu) => cu.customer_number !== null);
    expect(written).toHaveLength(WRITABLE);
    const ids = written.map(responseIdOf);
    expect(ids.filter((id) => !id || !output.includes(id)), 'customers without an answer from the adopted batch').toEqual([]);
    expect(new Set(ids).size).toBe(WRITABLE);
    expect(customers.filter((cu) => cu.customer_number === null).map(responseIdOf)).toEqual([undefined]);

    const adopted = entries.find((e) => /^adopted a batch/.test(e.msg ?? '')) as { time?: string } | undefined;
    console.log(`D1 across processes: first run until killed ${killedAt - t0} ms, rerun ${second.ms} ms (adopted ${adopted?.time ? Date.parse(adopted.time) - rerunStart : '?'} ms after it started)`);
  }, 240_000);
});
