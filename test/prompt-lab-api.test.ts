/**
 * The API behind the Prompt lab and Review pages, against the emulators over HTTP: estimate, a trial run
 * in the service's background (real OpenAI calls, nothing written to iPaaS.com, one at a time), read
 * back with both answers side by side and the summary; bad input and the admin token; how many answers
 * wait for review; attempts by prompt version.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startServiceHarness, waitFor, type ServiceHarness } from './helpers/service-harness.js';

let h: ServiceHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const CANDIDATE = 'Summarise this customer profile in one line in the comment field. Check whether this customer is known by imdb.com. Return TRUE or FALSE in custom field named Known To Film.';
const ipaasWrites = (hh: ServiceHarness) => Object.entries(hh.emulators.ipaas.emulator.counters.byRoute).filter(([route]) => !route.startsWith('GET ')).reduce((n, [, c]) => n + c, 0);
const completions = (hh: ServiceHarness) => hh.emulators.openai.emulator.counters.completions;

describe('prompt lab API', () => {
  it('estimates, then runs a trial in the background: real calls, nothing written, both answers side by side; one trial at a time', async () => {
    // Each completion takes 250 ms, so the trial is still running when the second start arrives.
    const sh = (h = await startServiceHarness({ webhooks: false, openai: { latencyMs: 250 } }));
    const body = { customerNumbers: ['CUST-10045', 'CUST-10046', 'CUST-10045'], promptText: CANDIDATE };

    const est = await sh.api('POST', '/api/trials/estimate', body);
    expect(est.status, JSON.stringify(est.body)).toBe(200);
    expect(est.body.estimate).toMatchObject({ customers: 2, variants: 2, calls: 4, inputTokens: expect.any(Number), costUsd: expect.any(Number) });
    expect(est.body.estimate.costUsd).toBeGreaterThan(0);
    expect(est.body.customerNumbers).toEqual(['CUST-10045', 'CUST-10046']);
    const [active, candidate] = est.body.prompts as Array<{ variant: string; id: string; text: string }>;
    expect(active).toMatchObject({ variant: 'active', id: expect.stringMatching(/^[0-9a-f]{10}$/) });
    expect(candidate).toMatchObject({ variant: 'candidate', text: CANDIDATE });
    expect(completions(sh)).toBe(0); // an estimate sends nothing

    const start = await sh.api('POST', '/api/trials', body);
    expect(start.status, JSON.stringify(start.body)).toBe(202);
    expect(start.body).toMatchObject({ trialId: expect.stringMatching(/^trial-/), status: 'running', customers: 2, statusUrl: `/api/trials/${start.body.trialId}` });
    const busy = await sh.api('POST', '/api/trials', { sample: 1 });
    expect(busy.status).toBe(409);
    expect(busy.body.error.message).toMatch(new RegExp(`^Trial ${start.body.trialId} is still running \\(\\d of 2 customers done\\); one trial runs at a time\\.$`));
    expect(busy.body.error.fix).toContain(`GET /api/trials/${start.body.trialId}`);
    const listed = (await sh.api('GET', '/api/trials')).body;
    expect(listed.running).toMatchObject({ trialId: start.body.trialId, status: 'running', customers: 2 });
    expect(listed.trials[0]).toMatchObject({ trialId: start.body.trialId, status: 'running' });

    await waitFor(async () => (await sh.api('GET', start.body.statusUrl)).body.status === 'finished', 20_000, 'the trial to finish');
    const t = (await sh.api('GET', start.body.statusUrl)).body;
    expect(completions(sh)).toBe(4);
    expect(ipaasWrites(sh)).toBe(0);
    expect(t.progress).toMatchObject({ status: 'finished', customers: 2, done: 2, finishedAt: expect.any(String) });
    expect(t.prompts).toEqual([{ variant: 'active', id: active!.id, text: active!.text }, { variant: 'candidate', id: candidate!.id, text: CANDIDATE }]);
    expect(t.customers.map((c: { customerNumber: string }) => c.customerNumber)).toEqual(['CUST-10045', 'CUST-10046']);
    const keanu = t.customers[0];
    expect(keanu.results.map((r: { variant: string; promptVersion: string; outcome: string }) => [r.variant, r.promptVersion, r.outcome])).toEqual([['active', active!.id, 'answered'], ['candidate', candidate!.id, 'answered']]);
    const [a, b] = keanu.results;
    expect(a.answer.Comment).toMatch(/^- Name: Keanu Reeves\n/);
    expect(b.answer.Comment).toMatch(/^Name: Keanu Reeves · Customer number: CUST-10045/);
    expect(a.writes.find((w: { field: string }) => w.field === 'Comment')).toMatchObject({ before: 'Prefers email contact.', after: a.answer.Comment });
    expect(a.answerTargets).toEqual(['Comment', 'Known To Film']);
    expect(a.inputTokens).toBeGreaterThan(0);
    expect(a.costUsd).toBeGreaterThan(0);
    expect(t.summary).toMatchObject({ trialId: start.body.trialId, customers: 2, calls: 4, failed: 0, compared: { customers: 2, differing: 2, byField: { Comment: 2, 'Known To Film': 0 } } });
    expect(t.summary.costUsd).toBeCloseTo(t.customers.flatMap((c: { results: Array<{ costUsd: number }> }) => c.results).reduce((s: number, r: { costUsd: number }) => s + r.costUsd, 0), 8);
    expect(t.truncated).toBe(false);

    // Trials are not syncs; they are listed apart, with their cost.
    expect((await sh.api('GET', '/api/activity')).body.total).toBe(0);
    const after = (await sh.api('GET', '/api/trials')).body;
    expect(after.running).toBeNull();
    expect(after.trials[0]).toMatchObject({ trialId: start.body.trialId, calls: 4, customers: 2, status: 'finished' });
    expect((await sh.api('GET', `/api/prompts/${candidate!.id}`)).body).toMatchObject({ id: candidate!.id, text: CANDIDATE, firstSeen: expect.any(String) });
  });

  it('a random sample: the estimate draws it and the trial runs on those customers', async () => {
    const sh = (h = await startServiceHarness({ webhooks: false }));
    const est = (await sh.api('POST', '/api/trials/estimate', { sample: 2 })).body;
    expect(est.customerNumbers).toHaveLength(2);
    for (const n of est.customerNumbers) expect(n).toMatch(/^CUST-\d+$/);
    expect(est.estimate).toMatchObject({ customers: 2, variants: 1, calls: 2 });
    const start = (await sh.api('POST', '/api/trials', { customerNumbers: est.customerNumbers })).body;
    await waitFor(async () => (await sh.api('GET', start.statusUrl)).body.status === 'finished', 20_000, 'the trial to finish');
    const t = (await sh.api('GET', start.statusUrl)).body;
    expect(t.customers.map((c: { customerNumber: string }) => c.customerNumber).sort()).toEqual([...est.customerNumbers].sort());
    expect(t.summary.compared).toBeNull(); // one prompt: nothing to compare
    expect(ipaasWrites(sh)).toBe(0);
  });

  it('bad input is a 400 naming the field; unknown trials and prompts 404; every call needs the admin token', async () => {
    const sh = (h = await startServiceHarness({ webhooks: false }));
    sh.service.ctx.loopbackOnly = false; // as when bound to 0.0.0.0: reads need the token too
    const bad: Array<[unknown, RegExp]> = [
      [{}, /give either customerNumbers or sample \(that many customers at random\), one of the two/],
      [{ customerNumbers: ['CUST-10045'], sample: 2 }, /give either customerNumbers or sample/],
      [{ customerNumbers: [] }, /customerNumbers: name at least one CustomerNumber/],
      [{ customerNumbers: ['  '] }, /customerNumbers\.0: a CustomerNumber cannot be empty/],
      [{ customerNumbers: Array.from({ length: 51 }, (_, i) => `C-${i}`) }, /customerNumbers: at most 50 customers per trial/],
      [{ sample: 0 }, /sample: give a whole number of customers from 1 to 50/],
      [{ sample: 2.5 }, /sample: give a whole number of customers from 1 to 50/],
      [{ sample: '3' }, /sample: give a whole number of customers from 1 to 50/],
      [{ customerNumbers: ['CUST-10045'], promptText: ' \n ' }, /promptText: the candidate PromptText is empty: leave promptText out/],
      [{ customerNumbers: ['CUST-10045'], prompt: 'x' }, /Unrecognized key.*"prompt"/],
    ];
    for (const path of ['/api/trials/estimate', '/api/trials']) {
      for (const [body, message] of bad) {
        const r = await sh.api('POST', path, body);
        expect(r.status, `${path} ${JSON.stringify(body)}`).toBe(400);
        expect(r.body.error.message, `${path} ${JSON.stringify(body)}`).toMatch(message);
        expect(r.body.error.fix).toMatch(/openapi\.json/);
      }
    }
    const limit = await sh.api('GET', '/api/trials?limit=0');
    expect(limit.status).toBe(400);
    expect(limit.body.error.message).toMatch(/limit: give a whole number from 1 to 100/);
    expect((await sh.api('GET', '/api/trials/trial-nope')).body.error).toMatchObject({ status: 404, message: 'No trial trial-nope.', fix: 'Pick a trial from GET /api/trials.' });
    expect((await sh.api('GET', '/api/prompts/0123456789')).status).toBe(404);

    const ok = { customerNumbers: ['CUST-10045'] };
    for (const [method, path, body] of [['POST', '/api/trials/estimate', ok], ['POST', '/api/trials', ok], ['GET', '/api/trials', undefined], ['GET', '/api/trials/trial-nope', undefined], ['GET', '/api/review/summary', undefined], ['GET', '/api/prompts/0123456789', undefined]] as const) {
      for (const token of [null, 'wrong-token-0123456789']) {
        const r = await sh.api(method, path, body, token);
        expect(r.status, `${method} ${path} with ${token ?? 'no token'}`).toBe(401);
        expect(r.body.error.fix).toBe('Send Authorization: Bearer <IPAAS_OPENAI_ADMIN_TOKEN>.');
      }
    }
    expect((await sh.api('GET', '/api/trials', undefined, ADMIN_TOKEN)).status).toBe(200);
    expect(completions(sh)).toBe(0);
    expect(ipaasWrites(sh)).toBe(0);
  });
});

describe('overview: answers waiting for review, attempts by prompt version', () => {
  it('the overview and /api/review/summary count the waiting answers and the oldest wait; the range splits attempts by prompt version', async () => {
    const sh = (h = await startServiceHarness({ webhooks: false, config: { sync: { review: 'required' } } }));
    const empty = (await sh.api('GET', '/api/overview?range=1h')).body;
    expect(empty.review).toEqual({ waiting: 0, oldestSince: null, oldestAgeSeconds: null });
    expect(empty.promptVersions).toEqual([]);
    sh.emulators.openai.emulator.injectFault({ kind: 'status', status: 400, match: 'CUST-10047', times: 1 });
    await sh.api('POST', '/api/sync', { customerNumbers: ['CUST-10045', 'CUST-10046', 'CUST-10047'] });
    await waitFor(async () => (await sh.api('GET', '/api/review/summary')).body.waiting === 2, 15_000, 'two answers waiting');
    await sh.idle();
    const summary = (await sh.api('GET', '/api/review/summary')).body;
    const o = (await sh.api('GET', '/api/overview?range=1h')).body;
    const oldest = (await sh.api('GET', '/api/review')).body.oldestSince;
    expect(summary).toMatchObject({ waiting: 2, oldestSince: oldest, oldestAgeSeconds: expect.any(Number) });
    expect(o.review).toMatchObject({ waiting: 2, oldestSince: oldest });
    expect(o.review.oldestAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(o.review.oldestAgeSeconds).toBeLessThan(60);
    expect(o.queue.jobs.review).toBe(2);

    // Approve one: written, logged as synced with the prompt version it was built from.
    const [first] = (await sh.api('GET', '/api/review')).body.items as Array<{ jobId: number }>;
    await sh.api('POST', '/api/review/approve', { jobIds: [first!.jobId] });
    await waitFor(async () => (await sh.api('GET', `/api/jobs/${first!.jobId}`)).body.state === 'written', 15_000, 'the approved answer written');
    expect((await sh.api('GET', '/api/review/summary')).body.waiting).toBe(1);
    const activity = (await sh.api('GET', '/api/activity')).body.items as Array<{ outcome: string; promptVersion: string | null; customerNumber: string }>;
    const version = activity.find((x) => x.outcome === 'synced')!.promptVersion;
    expect(version).toMatch(/^[0-9a-f]{10}$/);
    expect(activity.map((x) => [x.customerNumber, x.outcome, x.promptVersion]).sort()).toEqual([['CUST-10047', 'failed', version], [activity.find((x) => x.outcome === 'synced')!.customerNumber, 'synced', version]].sort());
    const split = (await sh.api('GET', '/api/overview?range=1h')).body.promptVersions;
    expect(split).toEqual([{ promptVersion: version, text: expect.stringMatching(/imdb\.com/), attempts: { synced: 1, skipped: 0, failed: 1, retrying: 0 }, total: 2, costUsd: expect.any(Number), lastAt: expect.any(String) }]);
    expect((await sh.api('GET', `/api/prompts/${version}`)).body.text).toBe(split[0].text);
  });
});
