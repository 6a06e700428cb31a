/**
 * Review before write-back, against the emulators over HTTP: with sync.review required an answer
 * waits (nothing written) until a person approves it (written without a new OpenAI call) or rejects it
 * (nothing written, logged as skipped with the reason); a human edit made while it waited is kept; a
 * newer answer for the same customer makes the waiting one stale. From the CLI (no serve needed) and
 * through the service's API, which also reports the oldest waiting answer in /readyz.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Budget } from '../src/pacing/budget.js';
import { endReview } from '../src/queue/review.js';
import { runSync } from '../src/triggers/manual-sync.js';
import { runCli } from './helpers/cli.js';
import { startHarness, type Harness } from './helpers/harness.js';
import { startServiceHarness, waitFor, type ServiceHarness } from './helpers/service-harness.js';

let h: Harness | ServiceHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const REVIEW = { sync: { review: 'required' } };
const PUT = 'PUT /customers/v2/Customer/:id';
const puts = (hh: Harness) => hh.emulators.ipaas.emulator.counters.byRoute[PUT] ?? 0;
const completions = (hh: Harness) => hh.emulators.openai.emulator.counters.completions;
const customer = (hh: Harness, n: string) => hh.emulators.ipaas.emulator.findCustomerByNumber(n)!;
const field = (hh: Harness, n: string, name: string) => customer(hh, n).custom_fields.find((f) => f.custom_field_name === name)?.value;
const sync = (hh: Harness, ...numbers: string[]) => runSync(hh.connector, numbers.map((customerNumber) => ({ customerNumber })), { trigger: { source: 'manual' } });

describe('review before write-back (sync.review: required)', () => {
  it('an answer waits, nothing written; `review approve` writes it without a new OpenAI call', async () => {
    h = await startHarness({ config: REVIEW });
    const s = await sync(h, 'CUST-10045');
    expect(s).toMatchObject({ synced: 0, awaitingReview: 1, failed: 0 });
    expect(puts(h)).toBe(0);
    expect(completions(h)).toBe(1);
    const [waiting] = await h.connector.store.queue.reviews();
    expect(waiting!.state).toBe('review');
    const proposal = (waiting!.answer as { proposal: Array<{ field: string; before: string | null; after: string | null }> }).proposal;
    expect(proposal.find((p) => p.field === 'Comment')).toMatchObject({ before: 'Prefers email contact.', after: expect.stringMatching(/^- Name: Keanu Reeves/) });

    const list = await runCli(['review', 'list'], { cwd: h.dir, env: h.env });
    expect(list.stdout).toMatch(new RegExp(`job ${waiting!.id} · CUST-10045 · waiting \\d+ s · prompt [0-9a-f]{10}\\n    Comment: "Prefers email contact." -> "- Name: Keanu Reeves`));

    const approve = await runCli(['review', 'approve', String(waiting!.id), '--by', 'ann'], { cwd: h.dir, env: h.env });
    expect(approve.code, approve.stderr).toBe(0);
    expect(approve.stdout).toContain(`✔ job ${waiting!.id} CUST-10045 written (approved by ann: written without a new OpenAI call)`);
    expect(puts(h)).toBe(1);
    expect(completions(h)).toBe(1);
    expect(customer(h, 'CUST-10045').comment).toMatch(/^- Name: Keanu Reeves/);
    const a = (await h.connector.store.log.list({ customerNumber: 'CUST-10045' }))[0]!;
    expect(a.outcome).toBe('synced');
    expect(a.inputTokens).toBeGreaterThan(0); // the call's cost is logged once, with the write
    expect(await h.connector.store.queue.reviewSummary()).toEqual({ waiting: 0, oldestSince: null });
  });

  it('reject: nothing written, the record is skipped with who and why, and the paid call is logged', async () => {
    h = await startHarness({ config: REVIEW });
    await sync(h, 'CUST-10046');
    const [waiting] = await h.connector.store.queue.reviews();
    const r = await runCli(['review', 'reject', String(waiting!.id), '--reason', 'tone too casual', '--by', 'bob'], { cwd: h.dir, env: h.env });
    expect(r.code, r.stderr).toBe(0);
    expect(puts(h)).toBe(0);
    const a = (await h.connector.store.log.list({ customerNumber: 'CUST-10046' }))[0]!;
    expect(a).toMatchObject({ outcome: 'skipped', errorMessage: 'rejected by bob: tone too casual' });
    expect(a.costUsd).toBeGreaterThan(0);
    // The log line says what the rejected call cost, as it does for a synced one.
    const logs = await runCli(['logs', 'CUST-10046'], { cwd: h.dir, env: h.env });
    expect(logs.stdout).toMatch(/CUST-10046 SKIPPED \d+\/\d+ tok \$[\d.]+ \d+ms .*rejected by bob: tone too casual/);
    // Not waiting any more: a second decision is refused, naming the job.
    const again = await runCli(['review', 'approve', String(waiting!.id)], { cwd: h.dir, env: h.env });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`job ${waiting!.id} is skipped, not waiting for review[\\s\\S]*review list`));
  });

  it('an answer counts against the spend caps when it arrives, not when a person decides, and only once', async () => {
    h = await startHarness({ config: { sync: { review: 'required', concurrency: 1 }, budget: { daily: { tokens: 1_000 } } } });
    // About 360 tokens a call: two fit under 1,000, the third would not, though nothing was decided yet.
    const s = await sync(h, 'CUST-10045', 'CUST-10046', 'CUST-10047', 'CUST-10048');
    expect(completions(h)).toBe(2);
    expect(s).toMatchObject({ awaitingReview: 2 });
    const spent = h.connector.budget!.snapshot().today.tokens;
    // The run's own figures say what it paid for, though nothing is logged as synced yet.
    expect(s.inputTokens + s.outputTokens).toBe(spent);
    expect(s.costUsd).toBeGreaterThan(0);
    expect(spent).toBeGreaterThan(600);
    // The ledger (what a restart or another instance reads) counts the waiting answers too.
    const reopened = await Budget.open(h.connector.config.budget, h.connector.store.ledger);
    expect(reopened.snapshot().today.tokens).toBe(spent);

    // Rejected: the attempt logs the call's cost, and the caps do not count it a second time.
    const [waiting] = await h.connector.store.queue.reviews();
    await endReview(h.connector, waiting!, 'rejected by ann: no');
    expect((await h.connector.store.log.list({ customerNumber: waiting!.ref }))[0]!.inputTokens).toBeGreaterThan(0);
    expect(h.connector.budget!.snapshot().today.tokens).toBe(spent);
    expect((await Budget.open(h.connector.config.budget, h.connector.store.ledger)).snapshot().today.tokens).toBe(spent);
  });

  it('a human edit made while the answer waited is kept; the other fields are written', async () => {
    h = await startHarness({ config: REVIEW });
    await sync(h, 'CUST-10045');
    const [waiting] = await h.connector.store.queue.reviews();
    h.emulators.ipaas.emulator.humanUpdate(customer(h, 'CUST-10045').id, { comment: 'Edited by a person meanwhile.' });
    const approve = await runCli(['review', 'approve', '--all', '--by', 'ann'], { cwd: h.dir, env: h.env });
    expect(approve.stdout).toMatch(new RegExp(`✔ job ${waiting!.id} CUST-10045 written`));
    expect(customer(h, 'CUST-10045').comment).toBe('Edited by a person meanwhile.');
    expect(field(h, 'CUST-10045', 'Known To Film')).toBe('true');
    const a = (await h.connector.store.log.list({ customerNumber: 'CUST-10045', outcome: 'synced' }))[0]!;
    expect(a.flags).toContain('human-edit: Comment was changed in iPaaS.com while the answer awaited review; kept');
    expect(completions(h)).toBe(1);
  });

  it('a newer answer for the same customer makes the waiting proposal stale', async () => {
    h = await startHarness({ config: REVIEW });
    await sync(h, 'CUST-10045');
    const [first] = await h.connector.store.queue.reviews();
    h.emulators.ipaas.emulator.humanUpdate(customer(h, 'CUST-10045').id, { first_name: 'Keanu Charles' });
    await sync(h, 'CUST-10045');
    const waiting = await h.connector.store.queue.reviews();
    expect(waiting.map((j) => j.id)).not.toContain(first!.id);
    expect(waiting).toHaveLength(1);
    expect((await h.connector.store.queue.get(first!.id))!.state).toBe('skipped');
    const stale = (await h.connector.store.log.list({ customerNumber: 'CUST-10045', outcome: 'skipped' }))[0]!;
    expect(stale.errorMessage).toMatch(new RegExp(`^stale: a newer answer for this customer arrived \\(job ${waiting[0]!.id}\\)`));
    expect(puts(h)).toBe(0);
  });

  it('through the service: the API lists, approves (the service writes) and rejects; /readyz shows the oldest waiting age', async () => {
    const sh = await startServiceHarness({ config: REVIEW, webhooks: false });
    h = sh;
    const r = await sh.api('POST', '/api/sync', { customerNumbers: ['CUST-10045', 'CUST-10046'] });
    expect(r.status).toBe(202);
    await waitFor(async () => (await sh.api('GET', '/api/review')).body.waiting === 2, 15_000, 'two answers waiting');
    const ready = await sh.api('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.review).toMatchObject({ waiting: 2, oldestAgeSeconds: expect.any(Number) });
    const list = (await sh.api('GET', '/api/review')).body as { items: Array<{ jobId: number; ref: string }> };
    const [keanu, ada] = ['CUST-10045', 'CUST-10046'].map((n) => list.items.find((i) => i.ref === n)!.jobId);

    expect((await sh.api('POST', '/api/review/reject', { jobIds: [ada], reason: '' })).status).toBe(400);
    expect((await sh.api('POST', '/api/review/approve', { jobIds: [999999] })).status).toBe(404);
    const approved = await sh.api('POST', '/api/review/approve', { jobIds: [keanu] });
    expect(approved).toMatchObject({ status: 202, body: { approved: [keanu], by: 'dashboard' } });
    const rejected = await sh.api('POST', '/api/review/reject', { jobIds: [ada], reason: 'wrong person' });
    expect(rejected.body).toEqual({ rejected: [ada], by: 'dashboard' });
    await waitFor(async () => (await sh.api('GET', `/api/jobs/${keanu}`)).body.state === 'written', 15_000, 'the approved answer written by the service');
    expect(puts(sh)).toBe(1);
    expect(completions(sh)).toBe(2);
    expect((await sh.api('POST', '/api/review/approve', { jobIds: [keanu] })).status).toBe(409);
    expect((await sh.api('GET', '/readyz')).body.review).toMatchObject({ waiting: 0, oldestAgeSeconds: null });
  });
});
