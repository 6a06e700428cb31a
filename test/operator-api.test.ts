import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logsCommand } from '../src/cli/commands/logs.js';
import { newAttempt } from '../src/queue/attempt.js';
import { captureIO } from './helpers/harness.js';
import { parseCsv } from './helpers/csv.js';
import { parsePrometheus, valueOf } from './helpers/prometheus.js';
import { ADMIN_TOKEN, startServiceHarness, type ServiceHarness } from './helpers/service-harness.js';

/**
 * The operator's API on one shared state: records (customers), attempts (tries) and jobs (queue rows)
 * each counted as what they are, on the overview, in /metrics and in the lists; the run history, the
 * jobs list, filters, the CSV export, usage over time and retry of every failed record.
 *
 * State: CUST-10045 synced; CUST-10046 failed twice (two manual runs, a 400 each time: two failed jobs,
 * one failed record); CUST-10047 got a 503 and waits for its next try (retrying, not failed); the
 * customer with id 6 has no CustomerNumber (failed).
 */
type Item = { id: number; customerNumber: string | null; customerId: string | null; outcome: string; tryNumber: number | null; maxTries: number | null; nextTryAt: string | null; instance: string | null; trigger: string; errorCode: string | null };

let h: ServiceHarness;
let firstRun = '';
let secondRun = '';
const metrics = async () => parsePrometheus(await (await fetch(`${h.service.url}/metrics`)).text()).samples;
const get = async (path: string) => {
  const r = await h.api('GET', path);
  expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(200);
  return r.body;
};

beforeAll(async () => {
  h = await startServiceHarness({ webhooks: false, config: { jobs: { maxAttempts: 3, retryBaseMs: 120_000, retryMaxMs: 240_000 }, openai: { maxRetries: 0 } } });
  const openai = h.emulators.openai.emulator;
  openai.injectFault({ kind: 'status', status: 400, match: 'CUST-10046', times: 2 });
  openai.injectFault({ kind: 'status', status: 503, match: 'CUST-10047', times: 1 });
  firstRun = (await h.api('POST', '/api/sync', { customerNumbers: ['CUST-10045', 'CUST-10046', 'CUST-10047'], ids: [6] })).body.runId;
  await h.idle();
  secondRun = (await h.api('POST', '/api/sync', { customerNumbers: ['CUST-10046'] })).body.runId;
  await h.idle();
}, 60_000);
afterAll(async () => h?.close());

describe('records, attempts and jobs are counted as what they are', () => {
  it('the overview, /metrics and the lists agree', async () => {
    const o = await get('/api/overview?range=1h');
    expect(o.records).toEqual({ synced: 1, skipped: 0, failed: 2, retrying: 1 });
    expect(o.today.attempts).toEqual({ synced: 1, skipped: 0, failed: 3, retrying: 1 });
    expect(o.queue.jobs).toMatchObject({ written: 1, failed: 3, pending: 1 });
    expect(o.queue.depthJobs).toBe(1);
    const m = await metrics();
    for (const outcome of ['synced', 'skipped', 'failed', 'retrying']) {
      expect(valueOf(m, 'ipaas_openai_attempts_total', { outcome }), `attempts ${outcome}`).toBe(o.today.attempts[outcome]);
      expect(valueOf(m, 'ipaas_openai_records', { outcome }), `records ${outcome}`).toBe(o.records[outcome]);
    }
    for (const state of ['written', 'failed', 'pending']) expect(valueOf(m, 'ipaas_openai_queue_jobs', { state })).toBe(o.queue.jobs[state]);
    expect(valueOf(m, 'ipaas_openai_queue_depth_jobs')).toBe(o.queue.depthJobs);
    expect(valueOf(m, 'ipaas_openai_tokens_total', { kind: 'input' })).toBe(o.today.inputTokens);
    expect(valueOf(m, 'ipaas_openai_cost_usd_total')).toBeCloseTo(o.today.costUsd, 10);
    // The same numbers in the lists: attempts in the activity, jobs in the queue.
    expect((await get('/api/activity?outcome=failed&limit=1')).total).toBe(3);
    expect((await get('/api/jobs?state=failed&limit=1')).total).toBe(3);
    // Each help text says what it counts; no name says openai_openai.
    const text = await (await fetch(`${h.service.url}/metrics`)).text();
    expect(text).not.toMatch(/openai_openai_|ipaas_openai_records_total/);
    const help = parsePrometheus(text).help;
    expect(help.get('ipaas_openai_attempts_total')).toMatch(/^Sync attempts .*retrying.*shared database/);
    expect(help.get('ipaas_openai_records')).toMatch(/^Records \(customers\), each counted once by the outcome of its latest attempt/);
    expect(help.get('ipaas_openai_upstream_request_duration_seconds')).toMatch(/This instance's own/);
    expect(help.get('ipaas_openai_limiter_in_flight')).toMatch(/this instance/);
  });

  it('a failed try that will be tried again is retrying, with its try and next time; a final one is failed', async () => {
    const retrying = (await get('/api/activity?outcome=retrying')).items as Item[];
    expect(retrying).toHaveLength(1);
    expect(retrying[0]).toMatchObject({ customerNumber: 'CUST-10047', outcome: 'retrying', tryNumber: 1, maxTries: 3, instance: expect.stringMatching(/.+/) });
    expect(Date.parse(retrying[0]!.nextTryAt!)).toBeGreaterThan(Date.now() + 30_000);
    const failed = (await get('/api/activity?outcome=failed')).items as Item[];
    expect(failed.map((a) => a.customerNumber ?? `id ${a.customerId}`).sort()).toEqual(['CUST-10046', 'CUST-10046', 'id 6']);
    for (const a of failed) expect(a).toMatchObject({ outcome: 'failed', nextTryAt: null, tryNumber: 1, maxTries: 3 });
    // The CLI says the same: a retried try, not a final failure.
    const io = captureIO(h.env, h.dir);
    expect(await logsCommand({ customerNumber: 'CUST-10047' }, io)).toBe(0);
    expect(io.lines[0]).toBe('1 sync attempt (tries, newest first; a record retried is listed once per try):');
    expect(io.lines[1]).toMatch(/ CUST-10047 RETRYING \(try 1 of 3, next at \d{4}-\d\d-\d\dT[\d:.]+Z\) \d+ms on \S+ prompt [0-9a-f]{10} \[API_REQUEST_FAILED\] /);
    // Its job waits for that try.
    const job = (await get('/api/jobs?ref=CUST-10047')).jobs[0];
    expect(job).toMatchObject({ state: 'pending', attempts: 1, maxAttempts: 3 });
    expect(job.runAfter).toBe(new Date(Date.parse(job.runAfter)).toISOString());
  });
});

describe('filters, facets, runs, usage', () => {
  it('activity filters by trigger and error code; the facets list the values seen', async () => {
    const facets = await get('/api/activity/facets');
    expect(facets.triggers).toEqual([{ value: 'manual', attempts: 5 }]);
    // The 503 is a retried try (API_REQUEST_FAILED too): 2 + 1, and the customer without a number.
    expect(facets.errorCodes).toEqual([{ value: 'API_REQUEST_FAILED', attempts: 3 }, { value: 'MISSING_CUSTOMER_NUMBER', attempts: 1 }]);
    const byCode = await get('/api/activity?errorCode=MISSING_CUSTOMER_NUMBER');
    expect(byCode.items.map((a: Item) => a.customerId)).toEqual(['6']);
    expect((await get('/api/activity?trigger=manual')).total).toBe(5);
    expect((await get('/api/activity?trigger=webhook:updated')).total).toBe(0);
    const bad = await h.api('GET', '/api/activity?errorCode=not a code');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/errorCode: give an error code such as API_REQUEST_FAILED/);
    expect(bad.body.error.fix).toMatch(/openapi\.json/);
  });

  it('jobs: filtered by state, error code, run and customer, with the total', async () => {
    const failed = await get('/api/jobs?state=failed&errorCode=API_REQUEST_FAILED');
    expect(failed.total).toBe(2);
    expect(failed.jobs.map((j: { ref: string; runId: string }) => [j.ref, j.runId])).toEqual([['CUST-10046', secondRun], ['CUST-10046', firstRun]]);
    expect((await get(`/api/jobs?runId=${firstRun}`)).total).toBe(4);
    expect((await get('/api/jobs?limit=2&offset=1')).jobs).toHaveLength(2);
    const bad = await h.api('GET', '/api/jobs?state=done');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^Invalid jobs query: state: give one of pending, calling, batched, answered, review, written, skipped, failed, held\.$/);
    expect((await h.api('GET', '/api/jobs?limit=0')).body.error.message).toMatch(/limit: give a whole number from 1 to 500/);
  });

  it('runs: each manual run once, newest first, with its progress and outcome', async () => {
    const runs = await get('/api/runs');
    expect(runs.total).toBe(2);
    expect(runs.runs.map((r: { runId: string }) => r.runId)).toEqual([secondRun, firstRun]);
    expect(runs.runs[1]).toMatchObject({ trigger: 'manual', total: 4, done: 3, finished: false, counts: { written: 1, failed: 2, pending: 1 }, bulk: null, statusUrl: `/api/runs/${firstRun}` });
    expect(runs.runs[0]).toMatchObject({ total: 1, done: 1, finished: true, counts: { failed: 1 } });
    expect((await get('/api/runs?limit=1&offset=1')).runs.map((r: { runId: string }) => r.runId)).toEqual([firstRun]);
    const bad = await h.api('GET', '/api/runs?limit=1000');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/limit: at most 200 a page/);
  });

  it('usage: calls, tokens and cost per bucket add up to today\'s', async () => {
    const o = await get('/api/overview');
    const u = await get('/api/usage?range=24h');
    expect(u).toMatchObject({ range: '24h', bucketMs: 1_800_000 });
    expect(u.costUsd).toHaveLength(48);
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    expect(sum(u.inputTokens)).toBe(o.today.inputTokens);
    expect(sum(u.openaiCalls)).toBe(o.today.openaiCalls);
    expect(sum(u.costUsd)).toBeCloseTo(o.today.costUsd, 10);
    const bad = await h.api('GET', '/api/usage?range=1y');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/range: give one of 24h, 7d, 30d/);
  });

  it('CSV export: the same attempts as the list for the same filters, quoted, with the try columns', async () => {
    const res = await fetch(`${h.service.url}/api/activity.csv?outcome=failed`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="ipaas-openai-activity-.+\.csv"$/);
    const [header, ...rows] = parseCsv(await res.text());
    expect(header!.slice(0, 11)).toEqual(['attempt_id', 'started_at', 'finished_at', 'customer_number', 'ipaas_customer_id', 'requested_ref', 'trigger', 'outcome', 'try', 'max_tries', 'next_try_at']);
    const list = (await get('/api/activity?outcome=failed')).items as Item[];
    expect(rows.map((r) => Number(r[0]))).toEqual(list.map((a) => a.id));
    const col = (name: string) => header!.indexOf(name);
    expect(rows.every((r) => r[col('outcome')] === 'failed')).toBe(true);
    // A reason holds commas and quotes: quoted, read back whole.
    const reasons = rows.map((r) => r[col('reason')]);
    expect(reasons.some((r) => r!.includes(','))).toBe(true);
    expect(reasons).toEqual(list.map((a) => (a as unknown as { reason: string }).reason));
    const bad = await fetch(`${h.service.url}/api/activity.csv?limit=5`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/Unrecognized key.*limit/);
  });

  it('sync by iPaaS.com id: a bad id is refused saying what an id is', async () => {
    const bad = await h.api('POST', '/api/sync', { ids: ['abc'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/ids\.0: an iPaaS\.com id is a number, e\.g\. 12345/);
    const none = await h.api('POST', '/api/sync', {});
    expect(none.body.error.fix).toMatch(/"ids": \[12345\]/);
  });
});

describe('retry of every failed record', () => {
  it('needs the admin token', async () => {
    expect((await h.api('POST', '/api/retry', {}, null)).status).toBe(401);
    expect((await h.api('POST', '/api/retry', {}, 'wrong-token-0123456789')).status).toBe(401);
    expect((await h.api('POST', '/api/retry', { jobIds: 'all' })).body.error.message).toMatch(/jobIds: give job ids as a list of positive whole numbers/);
  });

  it('queues each failed record once (its newest failed job) and leaves a record still being retried to its job', async () => {
    const r = await h.api('POST', '/api/retry', {}, ADMIN_TOKEN);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ requeuedRecords: 2, releasedJobs: 0 });
    await h.idle();
    // CUST-10046: the second run's job ran again (the fault is used up), the first run's stays failed.
    const jobs = (await get('/api/jobs?ref=CUST-10046')).jobs as Array<{ runId: string; state: string; trigger: string }>;
    expect(jobs.map((j) => [j.runId, j.state])).toEqual([[secondRun, 'written'], [firstRun, 'failed']]);
    const attempts = (await get('/api/activity?customerNumber=CUST-10046')).items as Item[];
    expect(attempts.map((a) => a.outcome)).toEqual(['synced', 'failed', 'failed']);
    expect(attempts[0]!.trigger).toBe('retry');
    // CUST-10047 still waits for its own next try; it was not queued a second time.
    expect((await get('/api/jobs?ref=CUST-10047')).jobs.map((j: { state: string }) => j.state)).toEqual(['pending']);
    expect((await get('/api/activity?customerNumber=CUST-10047')).total).toBe(1);
    expect((await get('/api/overview')).records).toEqual({ synced: 2, skipped: 0, failed: 1, retrying: 1 });
  });
});

describe('/metrics reads the shared database', () => {
  it('an attempt another process logged (a CLI sync, another instance) is counted at once', async () => {
    const before = await metrics();
    const at = new Date().toISOString();
    await h.connector.store.log.record({ ...newAttempt({ customerNumber: 'CUST-ELSEWHERE' }, { source: 'manual' }, at), outcome: 'synced', inputTokens: 7 });
    const after = await metrics();
    const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels)! - valueOf(before, name, labels)!;
    expect(delta('ipaas_openai_attempts_total', { outcome: 'synced' })).toBe(1);
    expect(delta('ipaas_openai_records', { outcome: 'synced' })).toBe(1);
    expect(delta('ipaas_openai_tokens_total', { kind: 'input' })).toBe(7);
  });
});
