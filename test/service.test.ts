import { afterEach, describe, expect, it } from 'vitest';
import { call } from '../emulators/ipaas/testing.js';
import { ADMIN_TOKEN, startServiceHarness, WEBHOOK_KEY, type ServiceHarness } from './helpers/service-harness.js';

let h: ServiceHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});
const calls = (hh: ServiceHarness) => hh.emulators.openai.emulator.counters.completions;
const cf = (hh: ServiceHarness, n: string) => Object.fromEntries(hh.emulators.ipaas.emulator.findCustomerByNumber(n)!.custom_fields.map((f) => [f.custom_field_name, f.value]));
const webhook = (hh: ServiceHarness, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${WEBHOOK_KEY}` }) =>
  fetch(`${hh.service.url}/webhooks/ipaas`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const note = (id: number | string, scope = 'customer/updated', guid = `g-${Math.random()}`) => ({ id: 900, attempt: 1, notifications: [{ action: 'updated', id: String(id), scope, type: 'Customer', tracking_guid: guid }] });

describe('serve: iPaaS.com webhooks end to end', () => {
  it('Customer Create: a new customer is enriched through the webhook, exactly one OpenAI call', async () => {
    h = await startServiceHarness();
    const created = await call(h.emulators.ipaas.url, 'POST', '/customers/v2/Customer', {
      body: { customer_number: 'CUST-20001', first_name: 'Tom', last_name: 'Hanks', email_address: 'tom@example.com', categories: ['VIP'] },
    });
    expect(created.status).toBe(201);
    await h.idle();
    expect(cf(h, 'CUST-20001')['Known To Film']).toBe('true');
    expect(h.emulators.ipaas.emulator.findCustomerByNumber('CUST-20001')!.comment).toContain('- Name: Tom Hanks');
    // Our write fired customer/updated; that echo was skipped, not paid for.
    expect(calls(h)).toBe(1);
    const skipped = (await h.connector.store.log.list({ outcome: 'skipped' }));
    expect(skipped.some((a) => a.errorMessage?.startsWith('No mapped input changed since the last sync'))).toBe(true);
  });

  it('the echo loop: after one human update exactly one OpenAI call happens, however many webhooks follow', async () => {
    h = await startServiceHarness();
    const keanu = h.emulators.ipaas.emulator.findCustomerByNumber('CUST-10045')!;
    h.emulators.ipaas.emulator.humanUpdate(keanu.id, { last_name: 'Reeves-Smith' });
    await h.idle();
    expect(calls(h)).toBe(1);
    const deliveries = h.emulators.ipaas.emulator.webhookDeliveries().filter((d) => d.customer_id === keanu.id);
    expect(deliveries.length).toBeGreaterThanOrEqual(2); // the human edit and our own write-back
    expect(h.emulators.ipaas.emulator.findCustomerByNumber('CUST-10045')!.comment).toContain('- Name: Keanu Reeves-Smith');
    // A second human change to a mapped input costs exactly one more call.
    h.emulators.ipaas.emulator.humanUpdate(keanu.id, { email_address: 'keanu@example.org' });
    await h.idle();
    expect(calls(h)).toBe(2);
  });

  it('duplicate deliveries and an update of unmapped fields cost zero OpenAI calls', async () => {
    h = await startServiceHarness();
    const ada = h.emulators.ipaas.emulator.findCustomerByNumber('CUST-10046')!;
    h.emulators.ipaas.emulator.humanUpdate(ada.id, { first_name: 'Augusta Ada' });
    await h.idle();
    expect(calls(h)).toBe(1);
    // The same notification again (iPaaS.com's retry, attempt 2) and an identical event key.
    const dup = note(ada.id, 'customer/updated', 'same-guid');
    expect((await webhook(h, dup)).status).toBe(200);
    expect((await webhook(h, { ...dup, attempt: 2 })).status).toBe(200);
    // Company is not mapped: the update changes nothing the model sees.
    h.emulators.ipaas.emulator.humanUpdate(ada.id, { company: 'Difference Engines plc' });
    await h.idle();
    expect(calls(h)).toBe(1);
    const reasons = (await h.connector.store.log.list({ outcome: 'skipped', limit: 20 })).map((a) => a.errorMessage);
    expect(reasons.some((r) => r?.startsWith('Duplicate delivery of webhook 900 (attempt 2'))).toBe(true);
  });

  it('two events in quick succession coalesce into one call on the newest data', async () => {
    h = await startServiceHarness({ webhooks: false });
    await h.service.ctx.pool.stop(100); // hold the workers so both events wait in the queue
    const meryl = h.emulators.ipaas.emulator.findCustomerByNumber('CUST-10048')!;
    expect((await webhook(h, note(meryl.id))).status).toBe(200);
    h.emulators.ipaas.emulator.humanUpdate(meryl.id, { email_address: 'meryl@example.com' });
    const second = (await (await webhook(h, note(meryl.id))).json()) as { enqueued: Array<{ coalesced: boolean }> };
    expect(second.enqueued[0]?.coalesced).toBe(true);
    h.service.ctx.pool.start();
    await h.idle();
    expect(calls(h)).toBe(1);
    expect(h.emulators.ipaas.emulator.findCustomerByNumber('CUST-10048')!.comment).toContain('- Email: meryl@example.com');
  });

  it('a person\'s edit of a connector-owned field is kept and flagged, not overwritten', async () => {
    h = await startServiceHarness();
    const zoe = h.emulators.ipaas.emulator.findCustomerByNumber('CUST-10047')!;
    h.emulators.ipaas.emulator.humanUpdate(zoe.id, { first_name: 'Zoé' });
    await h.idle();
    expect(calls(h)).toBe(1);
    h.emulators.ipaas.emulator.humanUpdate(zoe.id, { comment: 'Called on Monday: wants a catalogue.' });
    await h.idle();
    // Comment is a mapped input, so the edit is worth one call; the person's text stays.
    expect(calls(h)).toBe(2);
    expect(h.emulators.ipaas.emulator.findCustomerByNumber('CUST-10047')!.comment).toBe('Called on Monday: wants a catalogue.');
    const last = (await h.connector.store.log.list({ customerNumber: 'CUST-10047', outcome: 'synced', limit: 1 }))[0]!;
    expect(last.flags?.[0]).toMatch(/^human-edit: Comment was changed in iPaaS.com since the connector's last write; kept and flagged for review/);
  });
});

describe('serve: manual-sync API and retry', () => {
  it('queues a manual sync (token required), reports progress, and Debug jumps the queue', async () => {
    h = await startServiceHarness({ webhooks: false });
    expect((await h.api('POST', '/api/sync', { customerNumbers: ['CUST-10045'] }, null)).status).toBe(401);
    expect((await h.api('POST', '/api/sync', { customerNumbers: ['CUST-10045'] }, 'wrong-token-xxxxxxxx')).status).toBe(401);
    const r = await h.api('POST', '/api/sync', { customerNumbers: ['CUST-10045', 'CUST-10046', 'CUST-10045'], ids: [6], debug: true });
    expect(r.status).toBe(202);
    expect(r.body.enqueued).toBe(3);
    await h.idle();
    const run = await h.api('GET', r.body.statusUrl);
    expect(run.body).toMatchObject({ total: 3, done: 3, finished: true, counts: { written: 2, failed: 1 } });
    const failed = run.body.jobs.find((j: { state: string }) => j.state === 'failed');
    expect(failed).toMatchObject({ trigger: 'manual-debug', priority: 10, lastErrorCode: 'MISSING_CUSTOMER_NUMBER' });
    expect((await h.api('POST', '/api/sync', { customerNumbers: [] })).status).toBe(400);
    expect((await h.api('POST', '/api/sync', { customerNumbers: Array.from({ length: 3001 }, (_, i) => `C-${i}`) })).body.error.message).toMatch(/at most 3000/);
  });

  it('a record that fails without retry (400) is dead-lettered with its reason, and retry re-runs it', async () => {
    h = await startServiceHarness({ webhooks: false });
    h.emulators.openai.emulator.injectFault({ kind: 'status', status: 400, match: 'CUST-10046', times: 1 });
    const r = await h.api('POST', '/api/sync', { customerNumbers: ['CUST-10046'] });
    await h.idle();
    const run = (await h.api('GET', r.body.statusUrl)).body;
    expect(run.jobs[0]).toMatchObject({ state: 'failed', attempts: 0, lastErrorCode: 'API_REQUEST_FAILED' });
    expect(run.jobs[0].lastError).toMatch(/^API request failed\. OpenAI answered status 400/);
    expect((await h.api('POST', '/api/retry', { jobIds: [run.jobs[0].id] }, null)).status).toBe(401);
    expect((await h.api('POST', '/api/retry', { jobIds: [run.jobs[0].id] })).body.requeuedJobs).toBe(1);
    await h.idle();
    expect((await h.api('GET', `/api/jobs/${run.jobs[0].id}`)).body.state).toBe('written');
  });

  it('retries 5xx with backoff, and keeps a stored answer when only the write failed', async () => {
    h = await startServiceHarness({ webhooks: false });
    h.emulators.openai.emulator.injectFault({ kind: 'status', status: 500, times: 3 }); // the SDK retries twice, then the queue
    h.emulators.ipaas.emulator.injectFault({ route: 'PUT /customers/v2/Customer/:id', status: 503, times: 3 });
    const r = await h.api('POST', '/api/sync', { customerNumbers: ['CUST-10045'] });
    await h.idle(20_000);
    const job = (await h.api('GET', r.body.statusUrl)).body.jobs[0];
    expect(job.state).toBe('written');
    expect(job.attempts).toBeGreaterThanOrEqual(2);
    // One answer paid for: the write retries reused it.
    expect(calls(h)).toBe(1);
    const attempts = (await h.connector.store.log.list({ customerNumber: 'CUST-10045', limit: 10 }));
    expect(attempts.reduce((s, a) => s + a.inputTokens, 0)).toBe(attempts.find((a) => a.inputTokens > 0)!.inputTokens);
  });
});

describe('serve: bad input never creates work', () => {
  it('rejects wrong or missing keys, malformed JSON, unknown scopes and huge bodies', async () => {
    h = await startServiceHarness({ webhooks: false });
    const before = (await h.service.ctx.deps.store.queue.counts());
    const good = note(1);
    const cases: Array<[Promise<Response>, number, RegExp]> = [
      [webhook(h, good, {}), 401, /Missing Authorization: Bearer/],
      [webhook(h, good, { authorization: 'Bearer nope-nope-nope' }), 401, /does not match/],
      [webhook(h, '{"id": 1, "notifications": [', { authorization: `Bearer ${WEBHOOK_KEY}` }), 400, /not valid JSON/],
      [webhook(h, { id: 1, notifications: [] }), 400, /does not have iPaaS\.com's shape: notifications/],
      [webhook(h, note(1, 'order/updated')), 400, /Unknown scope "order\/updated"/],
      [webhook(h, { ...good, padding: 'x'.repeat(2_000_000) }), 413, /too large/],
    ];
    for (const [p, status, message] of cases) {
      const res = await p;
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(message);
    }
    expect((await h.service.ctx.deps.store.queue.counts())).toEqual(before);
  });

  it('an unknown customer id is acknowledged and ends failed with the reason', async () => {
    h = await startServiceHarness({ webhooks: false });
    const res = await webhook(h, note(424242));
    expect(res.status).toBe(200);
    await h.idle();
    const failed = (await h.api('GET', '/api/jobs?state=failed')).body.jobs[0];
    expect(failed).toMatchObject({ ref: '424242', lastErrorCode: 'CUSTOMER_NOT_FOUND' });
    expect(calls(h)).toBe(0);
  });

  it('a Disabled collection acknowledges webhooks and logs them as skipped', async () => {
    h = await startServiceHarness({ webhooks: false });
    h.service.ctx.deps.config.mappingCollections[0]!.status = 'Disabled';
    const body = (await (await webhook(h, note(1))).json()) as { skipped: Array<{ reason: string }>; enqueued: unknown[] };
    expect(body.skipped[0]?.reason).toBe('The FROM iPaaS mapping collection for Customer is Disabled.');
    expect(body.enqueued).toEqual([]);
  });

  it('refuses to start when two enabled collections write the same field', async () => {
    const { startService } = await import('../src/server/service.js');
    const { loadConfig } = await import('../src/config/load-config.js');
    const { DEFAULT_TO_COLLECTION } = await import('../src/config/defaults.js');
    const loaded = loadConfig({ env: { IPAAS_API_KEY: 'k-000000', OPENAI_API_KEY: 'sk-000000' }, overrides: { server: { port: 0 } } });
    loaded.config.mappingCollections.push({ ...DEFAULT_TO_COLLECTION, name: 'Another TO' });
    await expect(startService(loaded)).rejects.toThrow(/Conflicting mappings: "OpenAI Add\/Update Customer TO iPaaS" and "Another TO" both write Comment/);
  });

  it('reads need no token on loopback, health and readiness answer', async () => {
    h = await startServiceHarness({ webhooks: false });
    expect((await h.api('GET', '/api/jobs', undefined, null)).status).toBe(200);
    expect((await h.api('GET', '/healthz', undefined, null)).body.ok).toBe(true);
    const ready = await h.api('GET', '/readyz', undefined, null);
    expect(ready.status).toBe(200);
    expect(ready.body.checks.mappings.ok).toBe(true);
    expect(JSON.stringify(ready.body)).not.toContain(ADMIN_TOKEN);
  });
});
