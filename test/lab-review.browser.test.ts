import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, operatorPage, overflowReport, PHONE, screenshot, WIDE } from './helpers/browser.js';
import { parsePrometheus, valueOf } from './helpers/prometheus.js';
import { ADMIN_TOKEN, startServiceHarness, waitFor, type ServiceHarness } from './helpers/service-harness.js';

/**
 * The Prompt lab and Review pages in Chromium, with review required: three answers (CUST-10045, -10046,
 * -10047) wait for a person when the tests start. The lab runs a real trial through the service; the
 * review page approves two at once and rejects one with a reason, by keyboard.
 */
const CANDIDATE = 'Summarise this customer profile in one line in the comment field. Check whether this customer is known by imdb.com. Return TRUE or FALSE in custom field named Known To Film.';

describe('Prompt lab and Review pages in a browser', { timeout: 90_000 }, () => {
  let h: ServiceHarness;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  const go = (hash: string) => page.goto(`${h.service.url}/${hash}`);
  const api = async (path: string, body?: unknown) => (await h.api(body === undefined ? 'GET' : 'POST', path, body)).body;
  const format = (fn: string, arg: unknown) => page.evaluate<string>(`import('/assets/format.js').then((f) => f.${fn}(${JSON.stringify(arg)}))`);
  const ipaasWrites = () => Object.entries(h.emulators.ipaas.emulator.counters.byRoute).filter(([route]) => !route.startsWith('GET ')).reduce((n, [, c]) => n + c, 0);
  const focusedId = () => page.evaluate<string>('document.activeElement?.id ?? ""');

  beforeAll(async () => {
    h = await startServiceHarness({ webhooks: false, config: { sync: { review: 'required' } } });
    await h.api('POST', '/api/sync', { customerNumbers: ['CUST-10045', 'CUST-10046', 'CUST-10047'] });
    await waitFor(async () => (await api('/api/review/summary')).waiting === 3, 15_000, 'three answers waiting for review');
    browser = await launchBrowser();
    ({ page, errors } = await operatorPage(browser, ADMIN_TOKEN));
  }, 90_000);
  afterAll(async () => {
    await page?.close();
    await browser?.close();
    await h?.close();
  });

  it('Prompt lab: customers and a candidate, the estimate, confirm by keyboard; both answers side by side, nothing written', async () => {
    const writesBefore = ipaasWrites();
    const callsBefore = h.emulators.openai.emulator.counters.completions;
    await go('#/lab');
    await page.getByRole('heading', { name: 'Prompt lab', level: 1 }).waitFor();
    await page.getByLabel('These CustomerNumbers').check();
    await page.locator('#lab-numbers').fill('CUST-10045\nCUST-10046\nCUST-10045');
    await expect.poll(() => page.locator('#lab-count').textContent()).toBe('2 CustomerNumbers (1 duplicate left out)');
    await page.getByLabel('Candidate PromptText (optional)').fill(CANDIDATE);
    // The active PromptText is there to copy from.
    expect(await page.locator('#lab-active-prompt pre').textContent()).toMatch(/imdb\.com/);
    await page.locator('#lab-prompt').press('Tab');
    expect(await focusedId()).toBe('lab-estimate-button');
    await page.keyboard.press('Enter');
    // The estimate takes the focus on its Run button: Enter confirms.
    await expect.poll(focusedId).toBe('lab-run');
    const est = await api('/api/trials/estimate', { customerNumbers: ['CUST-10045', 'CUST-10046'], promptText: CANDIDATE });
    expect(est.estimate).toMatchObject({ customers: 2, variants: 2, calls: 4 });
    expect(await page.locator('#lab-estimate-text').textContent()).toBe(
      `2 customers × 2 prompts = 4 OpenAI calls, ~${await format('num', est.estimate.inputTokens)} in / ~${await format('num', est.estimate.outputTokens)} out tokens, about ${await format('usd', est.estimate.costUsd)}. Nothing is written to iPaaS.com.`,
    );
    expect(await page.locator('#lab-run').textContent()).toBe(`Run the trial (4 OpenAI calls, about ${await format('usd', est.estimate.costUsd)})`);
    expect(await page.locator('#lab-estimate-customers').textContent()).toBe('CUST-10045, CUST-10046');
    expect(h.emulators.openai.emulator.counters.completions).toBe(callsBefore); // nothing sent before the confirmation
    await screenshot(page, 'lab-01-estimate');
    await page.keyboard.press('Enter');

    await page.locator('#lab-status[data-status="finished"]').waitFor({ timeout: 20_000 });
    expect(h.emulators.openai.emulator.counters.completions - callsBefore).toBe(4);
    expect(ipaasWrites()).toBe(writesBefore);
    const trialId = new URLSearchParams(page.url().split('?')[1]).get('trial')!;
    expect(trialId).toMatch(/^trial-/);
    const t = await api(`/api/trials/${trialId}`);
    // Per customer, side by side: what iPaaS.com holds now and what each prompt would write; the Comment answers differ.
    for (const c of t.customers as Array<{ ref: string; results: Array<{ variant: string; writes: Array<{ field: string; before: string; after: string }>; costUsd: number }> }>) {
      const article = page.locator(`article.lab-customer[data-ref="${c.ref}"]`);
      const comment = article.locator('tr[data-field="Comment"]');
      expect(await comment.getAttribute('data-differs')).toBe('true');
      expect(await comment.locator('.badge').textContent()).toBe('differs');
      expect(await comment.locator('td.before').textContent()).toBe(c.results[0]!.writes.find((w) => w.field === 'Comment')!.before ?? '(empty)');
      for (const r of c.results) {
        expect(await comment.locator(`td[data-variant="${r.variant}"]`).textContent()).toBe(r.writes.find((w) => w.field === 'Comment')!.after);
        expect(await article.locator(`tr.lab-cost td[data-variant="${r.variant}"]`).textContent()).toMatch(new RegExp(` · ${(await format('usd', r.costUsd)).replace(/[$.]/g, '\\$&')}$`));
      }
      // Both prompts answer Known To Film alike; the response's date and id are not compared.
      expect(await article.locator('tr[data-field="Known To Film"]').getAttribute('data-differs')).toBe('false');
      expect(await article.locator('tr[data-field="Last Response ID"]').getAttribute('data-differs')).toBe('false');
    }
    expect(await page.locator('#lab-differ').textContent()).toBe('Answers differ for 2 of 2 customers answered by both prompts.');
    expect(await page.locator('#lab-by-field tr[data-field="Comment"] td').textContent()).toBe('2');
    expect(await page.locator('#lab-by-field tr[data-field="Known To Film"] td').textContent()).toBe('0');
    expect(await page.locator('[data-summary="calls"]').textContent()).toBe('4');
    expect(await page.locator('[data-summary="costUsd"]').textContent()).toBe(await format('usd', t.summary.costUsd));
    // The Trials list is polled once a second: the finished trial shows there within a poll or two.
    await expect.poll(() => page.locator(`#lab-history tr[data-trial-id="${trialId}"]`).count(), { timeout: 5_000 }).toBe(1);
    await page.mouse.move(0, 0);
    await screenshot(page, 'lab-02-results', true);

    // A random sample: the estimate draws the customers it will run on; Cancel sends nothing.
    await page.getByLabel('A random sample of').check();
    await page.locator('#lab-sample').fill('2');
    await page.getByLabel('Candidate PromptText (optional)').fill('');
    await page.getByRole('button', { name: 'Estimate' }).click();
    await page.locator('#lab-run').waitFor();
    expect((await page.locator('#lab-estimate-customers').textContent())!.split(', ')).toHaveLength(2);
    expect(await page.locator('#lab-estimate-text').textContent()).toMatch(/^2 customers × 1 prompt = 2 OpenAI calls/);
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect(await page.locator('#lab-estimate').isHidden()).toBe(true);
    expect(h.emulators.openai.emulator.counters.completions - callsBefore).toBe(4);
  });

  it('every page of this work fits 390 px and 1440 px without sideways scrolling', { timeout: 120_000 }, async () => {
    const trialId = (await api('/api/trials')).trials[0].trialId;
    const pages: Array<[string, string, () => Promise<unknown>]> = [
      ['lab', `#/lab?trial=${trialId}`, () => page.locator('#lab-status[data-status="finished"]').waitFor()],
      ['review', '#/review', () => page.locator('li.review-item').nth(2).waitFor()],
      ['overview', '#/?range=1h', () => page.locator('#prompt-versions').waitFor()],
    ];
    for (const viewport of [WIDE, PHONE]) {
      await page.setViewportSize(viewport);
      for (const [name, hash, ready] of pages) {
        await go(hash);
        await ready();
        await page.mouse.move(0, 0);
        await screenshot(page, `lab-review-${name}-${viewport.width}`, true);
        const r = await overflowReport(page);
        expect(r.scrollWidth, `${name} at ${viewport.width} px`).toBeLessThanOrEqual(viewport.width);
        expect(r.outside, `${name} at ${viewport.width} px: sticks out of the page`).toEqual([]);
        for (const link of await page.locator('nav[aria-label="Main"] a').all()) {
          const box = (await link.boundingBox())!;
          expect(box.x + box.width, `${name} at ${viewport.width} px: menu item ${await link.textContent()}`).toBeLessThanOrEqual(viewport.width);
        }
      }
    }
    await page.setViewportSize(WIDE);
  });

  it('Review: the waiting answers with their writes; approve two at once and reject one with a reason, by keyboard; the overview and the menu count them', async () => {
    // The overview and the menu say how many wait, and since when the oldest.
    await go('#/?range=1h');
    await page.locator('[data-figure="review.waiting"]').waitFor();
    const o = await api('/api/overview?range=1h');
    const m = parsePrometheus(await (await fetch(`${h.service.url}/metrics`)).text()).samples;
    expect(o.review.waiting).toBe(3);
    expect(await page.locator('[data-figure="review.waiting"]').textContent()).toBe('3');
    expect(valueOf(m, 'ipaas_openai_queue_jobs', { state: 'review' })).toBe(3);
    expect(await page.locator('#review-oldest').textContent()).toMatch(new RegExp(`^oldest waits \\d+ (s|min) \\(since ${await format('hms', o.review.oldestSince)}\\)$`));
    await expect.poll(() => page.locator('#review-count').textContent()).toBe('3');
    expect(await page.getByRole('link', { name: 'Review, 3 answers wait' }).count()).toBe(1);

    await page.getByRole('link', { name: 'Review, 3 answers wait' }).click();
    await page.locator('li.review-item').nth(2).waitFor();
    const waiting = (await api('/api/review')).items as Array<{ jobId: number; ref: string; since: string; answer: { proposal: Array<{ field: string; before: string | null; after: string | null }> } }>;
    expect(await Promise.all((await page.locator('li.review-item').all()).map((e) => e.getAttribute('data-ref')))).toEqual(waiting.map((w) => w.ref));
    for (const w of waiting) {
      const comment = w.answer.proposal.find((p) => p.field === 'Comment')!;
      const row = page.locator(`li.review-item[data-job-id="${w.jobId}"] tr[data-field="Comment"]`);
      expect(await row.locator('td.before').textContent()).toBe(comment.before ?? '(empty)');
      expect(await row.locator('td.after').textContent()).toBe(comment.after);
      expect(await page.locator(`li.review-item[data-job-id="${w.jobId}"] .review-since`).textContent()).toContain(`since ${await format('dateTime', w.since)}`);
    }
    await screenshot(page, 'review-01-waiting');
    const [keanu, ada, third] = ['CUST-10045', 'CUST-10046', 'CUST-10047'].map((n) => waiting.find((w) => w.ref === n)!.jobId);

    // Select all, then leave the third out: two approved in one go.
    await page.locator('#review-select-all').focus();
    await page.keyboard.press('Space');
    await expect.poll(() => page.locator('#review-approve').textContent()).toBe('Approve 3 answers');
    await page.locator(`#review-job-${third}`).focus();
    await page.keyboard.press('Space');
    expect(await page.locator('#review-approve').textContent()).toBe('Approve 2 answers');
    expect(await page.evaluate<boolean>(`document.getElementById('review-select-all').indeterminate`)).toBe(true);
    await page.locator('#review-approve').focus();
    await page.keyboard.press('Enter');
    await page.getByText('2 answers approved.').waitFor();
    await h.idle();
    expect((await api(`/api/jobs/${keanu}`)).state).toBe('written');
    expect((await api(`/api/jobs/${ada}`)).state).toBe('written');
    await expect.poll(() => page.locator('li.review-item').count()).toBe(1);

    // Reject the last one: a reason is required, and kept with the record.
    await page.locator(`#review-job-${third}`).focus();
    await page.keyboard.press('Space');
    await page.locator('#review-reject-open').focus();
    await page.keyboard.press('Enter');
    await expect.poll(focusedId).toBe('review-reason');
    await page.locator('#review-reject').click();
    expect(await page.locator('#review-reason-error').textContent()).toBe('Say why: the reason is kept in the sync log with each rejected record.');
    await page.locator('#review-reason').fill('tone too casual');
    await screenshot(page, 'review-02-reject');
    await page.locator('#review-reject').focus();
    await page.keyboard.press('Enter');
    await page.getByText('1 answer rejected.').waitFor();
    expect((await api(`/api/jobs/${third}`)).state).toBe('skipped');
    const rejected = (await api('/api/activity?customerNumber=CUST-10047')).items[0];
    expect(rejected).toMatchObject({ outcome: 'skipped', reason: 'rejected by dashboard: tone too casual' });
    await page.getByText('No answers wait for review.', { exact: false }).waitFor();
    await expect.poll(() => page.locator('#review-count').isHidden()).toBe(true);
    expect(await page.getByRole('link', { name: 'Review', exact: true }).count()).toBe(1);
    expect(h.emulators.openai.emulator.counters.completions).toBe(3 + 4); // the three syncs and the trial; approving calls nothing
  });

  it('the overview splits the range\'s attempts by prompt version, its text on expand; the record page names the version', async () => {
    await go('#/?range=1h');
    const o = await api('/api/overview?range=1h');
    expect(o.promptVersions).toHaveLength(1);
    const v = o.promptVersions[0];
    expect(v.attempts).toEqual({ synced: 2, skipped: 1, failed: 0, retrying: 0 });
    const row = page.locator(`#prompt-versions tr[data-prompt-version="${v.promptVersion}"]`);
    await row.waitFor();
    for (const k of ['synced', 'skipped', 'failed', 'retrying']) expect(await row.locator(`td[data-outcome="${k}"]`).textContent(), k).toBe(await format('num', v.attempts[k]));
    expect(await row.locator('td[data-outcome="total"]').textContent()).toBe('3');
    expect(await row.locator('pre').isVisible()).toBe(false);
    expect(await row.locator('summary').getAttribute('title')).toBe(v.text);
    await row.locator('summary').focus();
    await page.keyboard.press('Enter');
    expect(await row.locator('pre').textContent()).toBe(v.text);
    expect(v.text).toMatch(/imdb\.com/);
    await page.mouse.move(0, 0);
    await screenshot(page, 'overview-prompt-versions');

    const synced = (await api('/api/activity?outcome=synced')).items[0];
    expect(synced.promptVersion).toBe(v.promptVersion);
    await go(`#/attempt/${synced.id}`);
    await page.locator('#attempt-prompt-version').waitFor();
    expect(await page.locator('#attempt-prompt-version').textContent()).toBe(v.promptVersion);
    await expect.poll(() => page.getByRole('region', { name: `PromptText (version ${v.promptVersion})` }).locator('pre').textContent()).toBe(v.text);
    expect(errors).toEqual([]);
  });
});
