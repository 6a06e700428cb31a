import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.js';
import { routesOf } from '../src/server/build-app.js';
import { openApiDocument } from '../src/server/openapi.js';
import { dashboardDir } from '../src/server/routes-dashboard.js';
import { startService } from '../src/server/service.js';
import { startHarness } from './helpers/harness.js';
import { parsePrometheus, valueOf } from './helpers/prometheus.js';
import { ADMIN_TOKEN, startServiceHarness, waitFor, WEBHOOK_KEY, type ServiceHarness } from './helpers/service-harness.js';

const HMAC_SECRET = 'hmac-secret-for-the-test-0123';
let h: ServiceHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

type Method = 'get' | 'post';
const documented = () =>
  Object.entries(openApiDocument.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => ({ method: m.toUpperCase(), path: p, op: (ops as Record<string, { security: unknown[] }>)[m as Method]! })));
const fill = (p: string, ids: Record<string, string>) => p.replace(/\{(\w+)\}/g, (_, k: string) => ids[k] ?? '1');
const raw = async (hh: ServiceHarness, method: string, p: string, token?: string, body: unknown = {}) => {
  const res = await fetch(`${hh.service.url}${p}`, { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) }, ...(method === 'POST' ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
};
const metrics = async (hh: ServiceHarness) => {
  const r = await raw(hh, 'GET', '/metrics');
  expect(r.status).toBe(200);
  expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(r.text).samples;
};

describe('dashboard API: auth', () => {
  it('every state-changing call needs the admin token, on loopback too', async () => {
    h = await startServiceHarness({ webhooks: false });
    const posts = documented().filter((d) => d.method === 'POST' && d.path.startsWith('/api/'));
    expect(posts.map((p) => p.path)).toEqual(expect.arrayContaining(['/api/sync', '/api/retry', '/api/attempts/{id}/retry', '/api/auth/check', '/api/trials', '/api/trials/estimate', '/api/review/approve', '/api/review/reject']));
    expect(documented().filter((d) => d.method === 'GET').map((d) => d.path)).toEqual(expect.arrayContaining(['/api/runs', '/api/jobs', '/api/activity.csv', '/api/activity/facets', '/api/usage']));
    for (const p of posts) {
      for (const token of [undefined, 'wrong-token-0123456789']) {
        const r = await raw(h, 'POST', fill(p.path, {}), token);
        expect(r.status, `${p.path} with ${token ?? 'no token'}`).toBe(401);
        expect(JSON.parse(r.text).error.fix).toMatch(/Authorization: Bearer/);
      }
      expect(p.op.security).toEqual([{ adminToken: [] }]);
    }
    expect((await raw(h, 'POST', '/api/auth/check', ADMIN_TOKEN)).status).toBe(200);
  });

  it('beyond loopback every read needs the token too; the page and the API description do not', async () => {
    h = await startServiceHarness({ webhooks: false });
    h.service.ctx.loopbackOnly = false; // as when bound to 0.0.0.0
    const reads = documented().filter((d) => d.method === 'GET' && (d.path.startsWith('/api/') || d.path === '/metrics'));
    for (const r of reads) {
      expect((await raw(h, 'GET', fill(r.path, { runId: 'x' }))).status, r.path).toBe(401);
      expect((await raw(h, 'GET', fill(r.path, { runId: 'x' }), ADMIN_TOKEN)).status, r.path).not.toBe(401);
    }
    for (const open of ['/', '/assets/app.js', '/openapi.json', '/healthz']) expect((await raw(h, 'GET', open)).status, open).toBe(200);
  });
});

describe('dashboard API: no secrets', () => {
  it('no configured key appears in any API response, the page, its files or /metrics', async () => {
    h = await startServiceHarness({ webhooks: false, env: { IPAAS_WEBHOOK_HMAC_SECRET: HMAC_SECRET } });
    const secrets = [h.env.IPAAS_API_KEY!, h.env.OPENAI_API_KEY!, WEBHOOK_KEY, ADMIN_TOKEN, HMAC_SECRET];
    h.emulators.openai.emulator.injectFault({ kind: 'status', status: 401, match: 'CUST-10047', times: 1 });
    const run = await h.api('POST', '/api/sync', { customerNumbers: ['CUST-10045', 'CUST-10047'], ids: [6] });
    await h.idle();
    const jobs = (await h.api('GET', run.body.statusUrl)).body.jobs as Array<{ id: number; lastAttemptId: number }>;
    // A prompt-lab trial too, its candidate PromptText holding a key by mistake: kept and shown redacted.
    const trialBody = { customerNumbers: ['CUST-10045'], promptText: `Summarise the customer. ${h.env.OPENAI_API_KEY}` };
    const estimate = await raw(h, 'POST', '/api/trials/estimate', ADMIN_TOKEN, trialBody);
    const trial = (await h.api('POST', '/api/trials', trialBody)).body;
    await waitFor(async () => (await h!.api('GET', trial.statusUrl)).body.status === 'finished', 15_000, 'the trial to finish');
    const ids = { id: String(jobs[0]!.lastAttemptId), runId: run.body.runId, trialId: trial.trialId, promptVersion: trial.prompts[1].id };
    const bodies: Array<[string, string]> = [];
    for (const d of documented().filter((x) => x.method === 'GET')) {
      const p = fill(d.path, ids);
      const r = await raw(h, 'GET', p, ADMIN_TOKEN);
      expect(r.status, p).toBeLessThan(400);
      bodies.push([p, r.text]);
    }
    for (const job of jobs) bodies.push([`/api/jobs/${job.id}`, (await raw(h, 'GET', `/api/jobs/${job.id}`)).text]);
    for (const file of listFiles(dashboardDir())) bodies.push([file, (await raw(h, 'GET', `/assets/${file}`)).text]);
    const retry = await raw(h, 'POST', `/api/attempts/${ids.id}/retry`, ADMIN_TOKEN);
    bodies.push(['retry', retry.text], ['trial estimate', estimate.text]);
    for (const [where, text] of bodies) for (const s of secrets) expect(text.includes(s), `${s.slice(0, 6)}… in ${where}`).toBe(false);
    // The configuration says which secrets are set, never what they are.
    const config = (await h.api('GET', '/api/config')).body;
    expect(Object.fromEntries(config.secrets.map((s: { key: string; present: boolean }) => [s.key, s.present]))).toEqual({
      'ipaas.apiKey': true, 'ipaas.login.password': false, 'openai.apiKey': true, 'openai.webhookSecret': false, 'server.webhookApiKey': true, 'server.webhookHmacSecret': true, 'server.adminToken': true,
    });
    // The OpenAI error (401 echoes the key in the real API) reached the log redacted.
    const failed = (await h.api('GET', '/api/activity?outcome=failed')).body.items;
    expect(failed.some((a: { errorCode: string }) => a.errorCode === 'API_REQUEST_FAILED')).toBe(true);
  });
});

describe('service log', () => {
  it('is JSON lines (pino) with every secret redacted, HTTP calls included', async () => {
    const base = await startHarness();
    const logFile = path.join(base.dir, 'service.log');
    const env = { ...base.env, IPAAS_OPENAI_ADMIN_TOKEN: ADMIN_TOKEN, IPAAS_WEBHOOK_KEY: WEBHOOK_KEY };
    const service = await startService(loadConfig({ env, cwd: base.dir, overrides: { server: { port: 0 }, log: { path: logFile, level: 'debug' } } }));
    try {
      const call = (method: string, p: string, body?: unknown) =>
        fetch(`${service.url}${p}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      base.emulators.openai.emulator.injectFault({ kind: 'status', status: 401, times: 1 });
      await call('POST', '/api/sync', { customerNumbers: ['CUST-10045'], debug: true });
      await call('POST', '/api/auth/check');
      await new Promise((r) => setTimeout(r, 500));
      await call('GET', '/api/overview');
    } finally {
      await service.stop(2000);
      const lines = readFileSync(logFile, 'utf8').trim().split('\n');
      await base.close();
      const records = lines.map((l) => JSON.parse(l) as { msg: string; method?: string });
      expect(records.some((r) => r.msg === 'http request' && r.method === 'POST')).toBe(true);
      expect(records.some((r) => r.msg === 'sync failed')).toBe(true);
      for (const secret of [base.env.IPAAS_API_KEY!, base.env.OPENAI_API_KEY!, ADMIN_TOKEN, WEBHOOK_KEY]) expect(lines.join('\n')).not.toContain(secret);
    }
  });
});

describe('dashboard API: data and actions', () => {
  it('overview, activity (search, outcome, time, paging) and retry of one record', async () => {
    h = await startServiceHarness({ webhooks: false });
    h.emulators.openai.emulator.injectFault({ kind: 'status', status: 400, match: 'CUST-10046', times: 1 });
    await h.api('POST', '/api/sync', { customerNumbers: ['CUST-10045', 'CUST-10046', 'CUST-10047'] });
    await h.idle();
    const o = (await h.api('GET', '/api/overview?range=1h')).body;
    expect(o.today).toMatchObject({ attempts: { synced: 2, failed: 1, skipped: 0, retrying: 0 }, openaiCalls: 3 });
    expect(o.records).toEqual({ synced: 2, failed: 1, skipped: 0, retrying: 0 });
    expect(o.today.inputTokens).toBeGreaterThan(0);
    expect(o.today.costUsd).toBeGreaterThan(0);
    expect(o.series.attempts.synced).toHaveLength(60);
    expect(o.series.attempts.synced.reduce((a: number, b: number) => a + b, 0)).toBe(2);
    expect(o.series.queueDepthJobs.some((v: number | null) => v !== null)).toBe(true);
    expect(o.queue).toMatchObject({ depthJobs: 0, jobs: { written: 2, failed: 1 } });
    expect(o.rateLimit.headroom).toBeGreaterThan(0);
    expect(o.rateLimit.rpmLimit).toBeGreaterThan(0); // learnt from the emulator's x-ratelimit headers
    // Spend against the caps: the three calls' tokens count today (the failed one's too, if it reported usage).
    expect(o.budget.today.tokens).toBeGreaterThan(0);
    expect(o.budget.today.usd).toBeCloseTo(o.today.costUsd, 8);
    expect(o.budget).toMatchObject({ caps: {}, heldJobs: 0 });

    expect((await h.api('GET', '/api/activity?outcome=failed')).body).toMatchObject({ total: 1, items: [{ customerNumber: 'CUST-10046', errorCode: 'API_REQUEST_FAILED' }] });
    expect((await h.api('GET', '/api/activity?q=10047')).body.items.map((a: { customerNumber: string }) => a.customerNumber)).toEqual(['CUST-10047']);
    expect((await h.api('GET', '/api/activity?q=%25')).body.total).toBe(0); // LIKE wildcards are literal
    const paged = (await h.api('GET', '/api/activity?limit=2&offset=2')).body;
    expect(paged).toMatchObject({ total: 3, limit: 2, offset: 2 });
    expect(paged.items).toHaveLength(1);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await h.api('GET', `/api/activity?since=${encodeURIComponent(future)}`)).body.total).toBe(0);
    const bad = await h.api('GET', '/api/activity?since=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/since: give an ISO 8601 time with its offset, e\.g\. 2026-05-01T00:00:00Z/);

    // Retry of the failed attempt resumes its dead-lettered job.
    const failedId = (await h.api('GET', '/api/activity?outcome=failed')).body.items[0].id;
    const retry = await h.api('POST', `/api/attempts/${failedId}/retry`);
    expect(retry.status).toBe(202);
    expect(retry.body.mode).toBe('requeued');
    await h.idle();
    expect((await h.api('GET', `/api/jobs/${retry.body.jobIds[0]}`)).body.state).toBe('written');
    // Retry of a synced attempt queues a new sync of that record.
    const syncedId = (await h.api('GET', '/api/activity?q=CUST-10045')).body.items[0].id;
    const again = await h.api('POST', `/api/attempts/${syncedId}/retry`);
    expect(again.body).toMatchObject({ mode: 'enqueued', statusUrl: expect.stringMatching(/^\/api\/runs\//) });
    await h.idle();
    expect((await h.api('GET', again.body.statusUrl)).body.counts.written).toBe(1);
    expect((await h.api('POST', '/api/attempts/99999/retry')).status).toBe(404);
  });

  it('validation runs the checklist live; the configuration shows both collections as the seed does', async () => {
    h = await startServiceHarness({ webhooks: false });
    const v = (await h.api('GET', '/api/validation')).body;
    expect(v.ok).toBe(false);
    const byItem = Object.fromEntries(v.results.map((r: { item: string }) => [r.item, r]));
    expect(byItem['CustomerNumber is populated for all records to be synced.']).toMatchObject({ status: 'fail', fix: expect.stringMatching(/Fill in Customer Number/) });
    expect(byItem['Outbound webhooks are configured if automatic sync is required.']).toMatchObject({ status: 'fail', fix: expect.stringMatching(/add outbound webhooks/) });
    const c = (await h.api('GET', '/api/config')).body;
    expect(c.collections.map((x: { name: string; status: string }) => `${x.name}: ${x.status}`)).toEqual([
      'OpenAI Add/Update Customer FROM iPaaS: Enabled',
      'OpenAI Add/Update Customer TO iPaaS: Enabled',
      'OpenAI Add/Update Product FROM iPaaS: Enabled',
      'OpenAI Add/Update Product TO iPaaS: Enabled',
    ]);
    expect(c.collections[0].triggerEvents).toEqual(['Manual', 'Customer Create', 'Customer Update']);
    expect(c.collections[0].mappings[0]).toMatchObject({ type: 'Field', source: 'CustomerNumber', destination: 'Id' });
    expect(c.collections[1].mappings.find((m: { destination: string }) => m.destination === 'Known To Film')).toMatchObject({ destinationType: 'bool' });
  });
});

describe('/metrics and /openapi.json', () => {
  it('/metrics parses as Prometheus text and moves when a sync happens', async () => {
    h = await startServiceHarness({ webhooks: false });
    const before = await metrics(h);
    expect(valueOf(before, 'ipaas_openai_attempts_total', { outcome: 'synced' })).toBe(0);
    expect(valueOf(before, 'ipaas_openai_records', { outcome: 'synced' })).toBe(0);
    expect(valueOf(before, 'ipaas_openai_upstream_rate_limited_total', { service: 'openai' })).toBe(0);
    expect(valueOf(before, 'ipaas_openai_rate_limit_headroom_ratio')).toBe(1);
    h.emulators.openai.emulator.injectFault({ kind: 'status', status: 429, times: 1 }); // the SDK waits and retries
    await h.api('POST', '/api/sync', { customerNumbers: ['CUST-10045', 'CUST-10046'], ids: [6] });
    await h.idle();
    const after = await metrics(h);
    expect(valueOf(after, 'ipaas_openai_attempts_total', { outcome: 'synced' })).toBe(2);
    expect(valueOf(after, 'ipaas_openai_attempts_total', { outcome: 'failed' })).toBe(1);
    expect(valueOf(after, 'ipaas_openai_records', { outcome: 'failed' })).toBe(1);
    expect(valueOf(after, 'ipaas_openai_tokens_total', { kind: 'input' })).toBeGreaterThan(100);
    expect(valueOf(after, 'ipaas_openai_cost_usd_total')).toBeGreaterThan(0);
    expect(valueOf(after, 'ipaas_openai_upstream_rate_limited_total', { service: 'openai' })).toBe(1);
    expect(valueOf(after, 'ipaas_openai_upstream_request_duration_seconds_count', { service: 'openai', endpoint: 'responses', status: '200' })).toBe(2);
    expect(valueOf(after, 'ipaas_openai_upstream_request_duration_seconds_count', { service: 'openai', endpoint: 'responses', status: '429' })).toBe(1);
    expect(valueOf(after, 'ipaas_openai_queue_depth_jobs')).toBe(0);
    expect(valueOf(after, 'ipaas_openai_queue_jobs', { state: 'written' })).toBe(2);
    expect(valueOf(after, 'ipaas_openai_rate_limit_limit', { kind: 'requests' })).toBeGreaterThan(0);
    const headroom = valueOf(after, 'ipaas_openai_rate_limit_headroom_ratio')!;
    expect(headroom).toBeGreaterThan(0);
    expect(headroom).toBeLessThanOrEqual(1);
    expect(after.some((s) => s.name === 'process_resident_memory_bytes')).toBe(true);
  });

  it('documents every route the app has, and nothing it has not', async () => {
    h = await startServiceHarness({ webhooks: false });
    const doc = (await h.api('GET', '/openapi.json', undefined, null)).body;
    expect(doc.openapi).toBe('3.1.0');
    const inDoc = documented().map((d) => `${d.method} ${d.path}`).sort();
    const inApp = routesOf(h.service.app).filter((r) => !r.url.startsWith('/assets/')).map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`).sort();
    expect(inApp).toEqual(inDoc);
    for (const d of documented()) expect(Object.keys((d.op as unknown as { responses: object }).responses).length, `${d.method} ${d.path}`).toBeGreaterThan(0);
  });
});

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}
