/**
 * The prompt lab (`ipaas-openai try`) against the emulators over HTTP, as a user runs it: real OpenAI
 * calls, nothing written to iPaaS.com (not even a custom field definition), a candidate PromptText's
 * answers differ where the prompt differs, trials kept apart from the sync log and never counted as
 * syncs, and the prompt version recorded on every attempt.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runSync } from '../src/triggers/manual-sync.js';
import { runCli } from './helpers/cli.js';
import { startHarness, type Harness } from './helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ipaasWrites = (hh: Harness) => {
  const byRoute = hh.emulators.ipaas.emulator.counters.byRoute;
  return Object.entries(byRoute).filter(([route]) => !route.startsWith('GET ')).reduce((n, [, c]) => n + c, 0);
};

describe('ipaas-openai try (prompt lab)', () => {
  it('compares the active PromptText with a candidate on the same customers: OpenAI called, nothing written to iPaaS.com', async () => {
    h = await startHarness();
    const candidate = path.join(h.dir, 'candidate.txt');
    writeFileSync(candidate, 'Summarise this customer profile in one line in the comment field. Check whether this customer is known by imdb.com. Return TRUE or FALSE in custom field named Known To Film.');
    const r = await runCli(['try', 'CUST-10045', 'CUST-10046', '--prompt-file', candidate, '--yes', '--json'], { cwd: h.dir, env: h.env });
    expect(r.code, r.stderr).toBe(0);
    const [estimateLine, ...rest] = r.stdout.trim().split('\n');
    expect(JSON.parse(estimateLine!).estimate).toMatchObject({ customers: 2, variants: 2, calls: 4 });
    const out = JSON.parse(rest.join('\n'));

    // Four real calls; not one write of any kind to iPaaS.com (a fresh account: the custom fields stay missing).
    expect(h.emulators.openai.emulator.counters.completions).toBe(4);
    expect(ipaasWrites(h)).toBe(0);

    expect(out.prompts.map((p: { variant: string }) => p.variant)).toEqual(['active', 'candidate']);
    const [active, cand] = out.prompts as Array<{ id: string; text: string }>;
    expect(active!.id).not.toBe(cand!.id);
    const keanu = out.customers.find((c: { customerNumber: string }) => c.customerNumber === 'CUST-10045');
    const [a, b] = keanu.results;
    expect(a.answer.Comment).toMatch(/^- Name: Keanu Reeves\n/);
    expect(b.answer.Comment).toMatch(/^Name: Keanu Reeves · Customer number: CUST-10045/);
    expect(a.answer['Known To Film']).toBe(b.answer['Known To Film']);
    // The Comment would change from what iPaaS.com holds now.
    expect(a.writes.find((w: { field: string }) => w.field === 'Comment')).toMatchObject({ before: 'Prefers email contact.' });
    expect(out.summary.compared).toEqual({ customers: 2, differing: 2, byField: { Comment: 2, 'Known To Film': 0 } });
    expect(out.summary.costUsd).toBeGreaterThan(0);

    // Trials are not syncs: the sync log is empty, the trials are listed apart.
    const store = h.connector.store;
    expect(await store.log.list()).toEqual([]);
    expect(await store.log.records()).toEqual([]);
    const trials = await store.trials.list({ trialId: out.summary.trialId });
    expect(trials.map((t) => t.variant).sort()).toEqual(['active', 'active', 'candidate', 'candidate']);
    expect((await store.prompts.get(cand!.id))!.text).toMatch(/^Summarise this customer profile in one line/);
    const logs = await runCli(['logs', '--trials'], { cwd: h.dir, env: h.env });
    expect(logs.stdout).toMatch(new RegExp(`trial #\\d+ \\S+ ${out.summary.trialId} candidate prompt ${cand!.id} CUST-10046 ANSWERED`));

    // No sync state either: a sync of the same customer afterwards calls OpenAI (nothing is "unchanged"), and records the prompt version.
    const synced = await runSync(h.connector, [{ customerNumber: 'CUST-10045' }], { trigger: { source: 'manual' } });
    expect(synced.synced).toBe(1);
    expect(synced.results[0]!.attempt.promptVersion).toBe(active!.id);
    expect(h.emulators.openai.emulator.counters.completions).toBe(5);
  });

  it('a random sample by default; refuses to spend without --yes off a terminal; text output shows both answers side by side', async () => {
    h = await startHarness();
    const refused = await runCli(['try', '--sample', '2'], { cwd: h.dir, env: h.env });
    expect(refused.code).toBe(2);
    expect(refused.stdout).toMatch(/^Trial: 2 customers × 1 prompt = 2 OpenAI calls/);
    expect(refused.stderr).toMatch(/Not confirmed: this is not a terminal[\s\S]*--yes/);
    expect(h.emulators.openai.emulator.counters.completions).toBe(0);

    const r = await runCli(['try', 'CUST-10045', '--yes'], { cwd: h.dir, env: h.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/CUST-10045 \(Keanu Reeves\)\n\s+field\s+now\s+active [0-9a-f]{10}/);
    expect(r.stdout).toMatch(/~ Comment\s+Prefers email contact\.\s+- Name: Keanu Reeves/);
    expect(r.stdout).toMatch(/1 customers, 1 OpenAI calls \(0 failed\)/);
    expect(r.stdout).toContain('Nothing was written to iPaaS.com.');
    expect(ipaasWrites(h)).toBe(0);
  });

  it('a missing candidate file is a usage error naming the file', async () => {
    h = await startHarness();
    const r = await runCli(['try', 'CUST-10045', '--prompt-file', 'nope.txt', '--yes'], { cwd: h.dir, env: h.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Cannot read the candidate PromptText nope\.txt[\s\S]*Fix: Check the path given with --prompt-file/);
  });
});
