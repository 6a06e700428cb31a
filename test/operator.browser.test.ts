import { readFileSync } from 'node:fs';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, operatorPage, overflowReport, PHONE, screenshot, WIDE } from './helpers/browser.js';
import { parseCsv } from './helpers/csv.js';
import { parsePrometheus, valueOf } from './helpers/prometheus.js';
import { ADMIN_TOKEN, startServiceHarness, waitFor, type ServiceHarness } from './helpers/service-harness.js';

/**
 * The operator's pages in Chromium, on one state: CUST-10045 synced; CUST-10046 failed twice (two runs,
 * so two failed jobs and one failed record); CUST-10047 failed once and waits for its next try; the
 * customer with id 6 has no CustomerNumber (failed). Browser-side code is plain JavaScript text.
 */

const FIGURES = `Object.fromEntries([...document.querySelectorAll('[data-figure]')].map((el) => [el.dataset.figure, el.textContent]))`;
const count = (text: string) => Number(text.replace(/[^\d]/g, ''));
const attrs = async (l: Locator, name: string) => Promise.all((await l.all()).map((e) => e.getAttribute(name)));

describe('operator pages in a browser', { timeout: 90_000 }, () => {
  let h: ServiceHarness;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let secondRun = '';
  const go = (hash: string) => page.goto(`${h.service.url}/${hash}`);
  const api = async (path: string) => (await h.api('GET', path)).body;
  const metrics = async () => parsePrometheus(await (await fetch(`${h.service.url}/metrics`)).text()).samples;
  const attemptsOf = async (q: string) => (await api(`/api/activity?limit=200&${q}`)).items as Array<{ id: number; customerNumber: string | null; customerId: string | null; nextTryAt: string | null; instance: string }>;

  beforeAll(async () => {
    h = await startServiceHarness({ webhooks: false, config: { jobs: { maxAttempts: 3, retryBaseMs: 120_000, retryMaxMs: 240_000 }, openai: { maxRetries: 0 } } });
    h.emulators.openai.emulator.injectFault({ kind: 'status', status: 400, match: 'CUST-10046', times: 2 });
    h.emulators.openai.emulator.injectFault({ kind: 'status', status: 503, match: 'CUST-10047', times: 1 });
    await h.api('POST', '/api/sync', { customerNumbers: ['CUST-10045', 'CUST-10046', 'CUST-10047'], ids: [6] });
    await h.idle();
    secondRun = (await h.api('POST', '/api/sync', { customerNumbers: ['CUST-10046'] })).body.runId;
    await h.idle();
    browser = await launchBrowser();
    ({ page, errors } = await operatorPage(browser, ADMIN_TOKEN));
  }, 90_000);
  afterAll(async () => {
    await page?.close();
    await browser?.close();
    await h?.close();
  });

  it('the overview shows records and attempts apart, and every figure equals the API and /metrics', async () => {
    await go('#/?range=1h');
    await page.locator('[data-figure="records.failed"]').waitFor();
    const shown = await page.evaluate<Record<string, string>>(FIGURES);
    const o = await api('/api/overview?range=1h');
    const m = await metrics();
    const expected: Record<string, [number, number | undefined]> = {};
    for (const k of ['synced', 'skipped', 'failed', 'retrying']) {
      expected[`records.${k}`] = [o.records[k], valueOf(m, 'ipaas_openai_records', { outcome: k })];
      expected[`attempts.${k}`] = [o.today.attempts[k], valueOf(m, 'ipaas_openai_attempts_total', { outcome: k })];
    }
    for (const k of ['pending', 'failed', 'held', 'written', 'skipped']) expected[`queue.${k}`] = [o.queue.jobs[k], valueOf(m, 'ipaas_openai_queue_jobs', { state: k })];
    const inFlight = ['calling', 'batched', 'answered'];
    expected['queue.inFlight'] = [inFlight.reduce((n, s) => n + o.queue.jobs[s], 0), inFlight.reduce((n, s) => n + valueOf(m, 'ipaas_openai_queue_jobs', { state: s })!, 0)];
    expected['queue.depthJobs'] = [o.queue.depthJobs, valueOf(m, 'ipaas_openai_queue_depth_jobs')];
    expected['review.waiting'] = [o.review.waiting, valueOf(m, 'ipaas_openai_queue_jobs', { state: 'review' })];
    expected['today.openaiCalls'] = [o.today.openaiCalls, o.today.openaiCalls];
    expected['today.tokens'] = [o.today.inputTokens + o.today.outputTokens, valueOf(m, 'ipaas_openai_tokens_total', { kind: 'input' })! + valueOf(m, 'ipaas_openai_tokens_total', { kind: 'output' })!];
    for (const [key, [fromApi, fromMetrics]] of Object.entries(expected)) {
      expect(count(shown[key] ?? 'missing'), `${key} on the page`).toBe(fromApi);
      expect(fromMetrics, `${key} in /metrics`).toBe(fromApi);
    }
    // The state is the one described above: the counts differ, and each says what it counts.
    expect(o.records).toEqual({ synced: 1, skipped: 0, failed: 2, retrying: 1 });
    expect(o.today.attempts).toEqual({ synced: 1, skipped: 0, failed: 3, retrying: 1 });
    const usd = await page.evaluate<string>(`import('/assets/format.js').then(({ usd }) => usd(${o.today.costUsd}))`);
    expect(shown['today.costUsd']).toBe(usd);
    expect(valueOf(m, 'ipaas_openai_cost_usd_total')).toBeCloseTo(o.today.costUsd, 10);
    expect(Object.keys(shown).sort()).toEqual([...Object.keys(expected), 'today.costUsd'].sort());
    expect(await page.getByRole('region', { name: 'Records (customers)' }).textContent()).toContain('Each customer once, by its latest attempt.');
    expect(await page.getByRole('region', { name: 'Queue (jobs)' }).locator('dt').first().textContent()).toBe('Waiting');
    expect(await page.getByRole('img', { name: /^Attempts per 1 minute: 1 synced, 0 skipped, 3 failed, 1 failed, will retry\./ }).count()).toBe(1);
    await page.mouse.move(0, 0);
    await screenshot(page, 'op-01-overview-counts');
  });

  it('a failed try that will be retried shows as such, with its try, next time and instance', async () => {
    await go('#/activity?outcome=retrying');
    const row = page.locator('tr[data-outcome="retrying"]');
    await row.waitFor();
    expect(await page.locator('tbody tr').count()).toBe(1);
    const [retrying] = await attemptsOf('outcome=retrying');
    const hms = await page.evaluate<string>(`import('/assets/format.js').then(({ hms }) => hms(${JSON.stringify(retrying!.nextTryAt)}))`);
    expect(hms).toMatch(/^\d\d:\d\d:\d\d$/);
    expect(await row.locator('.badge').textContent()).toBe('Will retry');
    expect(await row.locator('.try').textContent()).toBe(`try 1 of 3, next at ${hms}`);
    expect(await row.locator('td.instance').textContent()).toBe(retrying!.instance);
    expect(await page.locator('#activity-summary').textContent()).toBe('Showing 1–1 of 1 attempts');
    // Its own page says it will be tried again, not that it failed; no Retry button competes with the queue.
    await row.getByRole('link').click();
    await page.getByText(`Failed, will retry (API_REQUEST_FAILED): next try at ${hms}`).waitFor();
    expect(await page.locator('#attempt-try').textContent()).toBe(`try 1 of 3, next at ${hms}`);
    expect(await page.getByRole('button', { name: /Retry|Sync again/ }).count()).toBe(0);
    await screenshot(page, 'op-02-record-retrying');
  });

  it("the record page lists only that record's attempts", async () => {
    const mine = await attemptsOf('customerNumber=CUST-10046');
    expect(mine).toHaveLength(2);
    await go(`#/attempt/${mine[0]!.id}`);
    const history = page.getByRole('region', { name: 'Other attempts for this record' });
    await history.locator('li').first().waitFor();
    expect(await attrs(history.locator('li[data-attempt-id]'), 'data-attempt-id')).toEqual([String(mine[1]!.id)]);
    // The customer without a number: its attempts by iPaaS id, none of anyone else's.
    const noNumber = await attemptsOf('customerId=6');
    await go(`#/attempt/${noNumber[0]!.id}`);
    await page.getByRole('heading', { name: `id 6 attempt #${noNumber[0]!.id}` }).waitFor();
    await page.getByRole('region', { name: 'Other attempts for this record' }).getByText('None.').waitFor();
  });

  it('activity filters by trigger and error code, and the CSV export holds the same attempts', async () => {
    await go('#/activity');
    await page.locator('select[name="errorCode"] option[value="MISSING_CUSTOMER_NUMBER"]').waitFor({ state: 'attached' });
    await page.getByLabel('Error code').selectOption('MISSING_CUSTOMER_NUMBER');
    await expect.poll(() => page.locator('#activity-summary').textContent()).toBe('Showing 1–1 of 1 attempts');
    expect(await page.locator('tbody tr').getAttribute('data-attempt-id')).toBe(String((await attemptsOf('errorCode=MISSING_CUSTOMER_NUMBER'))[0]!.id));
    await page.getByLabel('Error code').selectOption('');
    await page.getByLabel('Trigger').selectOption('manual');
    await expect.poll(() => page.locator('#activity-summary').textContent()).toBe('Showing 1–5 of 5 attempts');
    await page.getByLabel('Outcome').selectOption('failed');
    await expect.poll(() => page.locator('#activity-summary').textContent()).toBe('Showing 1–3 of 3 attempts');
    expect(page.url()).toMatch(/outcome=failed/);
    expect(page.url()).toMatch(/trigger=manual/);
    await screenshot(page, 'op-03-activity-filtered');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^ipaas-openai-activity-.+\.csv$/);
    const [header, ...rows] = parseCsv(readFileSync((await download.path())!, 'utf8'));
    expect(header![0]).toBe('attempt_id');
    expect(rows.map((r) => Number(r[0]))).toEqual((await attemptsOf('trigger=manual&outcome=failed')).map((a) => a.id));
    await page.getByText(/^Saved ipaas-openai-activity-/).waitFor();
  });

  it('jobs and runs: the queue by state, and each run with its progress', async () => {
    await go('#/jobs?state=failed');
    await page.locator('tr[data-state="failed"]').first().waitFor();
    expect(await page.locator('tbody tr').count()).toBe(3);
    expect(await page.locator('#jobs-summary').textContent()).toBe('Showing 1–3 of 3 jobs');
    expect(await page.locator('#job-counts [data-state="failed"]').textContent()).toBe('3 failed (dead-lettered)');
    await screenshot(page, 'op-04-jobs-failed');
    await go('#/runs');
    await page.locator(`tr[data-run-id="${secondRun}"]`).waitFor();
    const runs = (await api('/api/runs')).runs as Array<{ runId: string; done: number; total: number }>;
    expect(await attrs(page.locator('tbody tr'), 'data-run-id')).toEqual(runs.map((r) => r.runId));
    expect(await page.locator(`tr[data-run-id="${runs[1]!.runId}"] .progress-cell label`).textContent()).toBe('3 of 4 records done');
    await page.locator(`tr[data-run-id="${secondRun}"]`).getByRole('link').click();
    await page.locator('tr[data-ref="CUST-10046"]').waitFor();
    expect(await page.locator('tbody tr').count()).toBe(1);
  });

  it('retry all failed records from the page, by keyboard: each failed record once', async () => {
    await go('#/');
    const button = page.locator('#retry-all');
    await expect.poll(() => button.textContent()).toBe('Retry all failed records (2)…');
    await button.focus();
    await page.keyboard.press('Enter');
    // The question is drawn after the key press: wait for it (under load it can take a frame or two).
    await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('retry-all-yes');
    expect(await page.locator('#retry-all-question').textContent()).toBe('Queue the 2 failed records again?');
    await screenshot(page, 'op-05-retry-all-confirm');
    await page.keyboard.press('Enter');
    await page.getByText('2 failed records queued again.').waitFor();
    await h.idle();
    // CUST-10046 ran once more (its newest failed job), the customer without a number failed again, CUST-10047 still waits.
    const jobs = (await api('/api/jobs?ref=CUST-10046')).jobs as Array<{ runId: string; state: string }>;
    expect(jobs.map((j) => [j.runId, j.state])).toEqual([[secondRun, 'written'], [jobs[1]!.runId, 'failed']]);
    expect((await attemptsOf('customerNumber=CUST-10047'))).toHaveLength(1);
    await expect.poll(async () => page.locator('[data-figure="records.failed"]').textContent(), { timeout: 10_000 }).toBe('1');
    expect(await page.locator('[data-figure="records.synced"]').textContent()).toBe('2');
  });

  it('sync by iPaaS.com id from the page: a customer without a number, once its number is filled in', async () => {
    await go('#/sync');
    await page.getByLabel('iPaaS.com ids').fill('six');
    await page.locator('#sync-count').getByText(/^Not an iPaaS\.com id \(ids are whole numbers\): six\./).waitFor();
    expect(await page.getByRole('button', { name: 'Submit' }).isDisabled()).toBe(true);
    // As the fix says: fill in the Customer Number in iPaaS.com, then re-run the transfer (by its id: it had no number).
    h.emulators.ipaas.emulator.humanUpdate(6, { customer_number: 'CUST-10050' });
    await page.getByLabel('iPaaS.com ids').fill('6');
    await expect.poll(() => page.locator('#sync-count').textContent()).toBe('1 iPaaS.com id');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.locator('#run-jobs tr[data-ref="6"][data-state="written"]').waitFor({ timeout: 15_000 });
    await screenshot(page, 'op-06-sync-by-id');
    const synced = await attemptsOf('customerId=6&outcome=synced');
    expect(synced.map((a) => a.customerNumber)).toEqual(['CUST-10050']);
  });

  it('sync products from the page: the data model chosen, SKUs in the box', async () => {
    await go('#/sync');
    await page.getByLabel('Data model').selectOption('product');
    await page.getByLabel('CustomerNumbers (SKUs for products)').fill('PROD-SKU-12346');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.locator('#run-jobs tr[data-ref="PROD-SKU-12346"][data-state="written"]').waitFor({ timeout: 15_000 });
    const synced = await attemptsOf('customerNumber=PROD-SKU-12346&outcome=synced');
    expect(synced.map((a) => (a as unknown as { trigger: string }).trigger)).toEqual(['manual@product']);
  });

  it('every page fits 390 px and 1440 px without sideways scrolling, and keeps its menu on screen', { timeout: 180_000 }, async () => {
    const retrying = (await attemptsOf('outcome=retrying'))[0]!.id;
    const failed = (await attemptsOf('outcome=failed'))[0]!.id;
    const pages: Array<[string, string, () => Promise<unknown>]> = [
      ['overview', '#/', () => page.locator('.chart-box svg.chart').waitFor()],
      ['activity', '#/activity', () => page.locator('tr[data-outcome]').first().waitFor()],
      ['record-retrying', `#/attempt/${retrying}`, () => page.getByRole('region', { name: 'Other attempts for this record' }).locator('li').first().waitFor()],
      ['record-failed', `#/attempt/${failed}`, () => page.getByRole('region', { name: 'Other attempts for this record' }).locator('li').first().waitFor()],
      ['jobs', '#/jobs', () => page.locator('tr[data-job-id]').first().waitFor()],
      ['runs', '#/runs', () => page.locator('tr[data-run-id]').first().waitFor()],
      ['usage', '#/usage?range=24h', () => page.locator('#usage-table').waitFor()],
      ['manual-sync', '#/sync', () => page.getByLabel('iPaaS.com ids').waitFor()],
      ['review-empty', '#/review', () => page.getByText('No answers wait for review.', { exact: false }).waitFor()],
      ['prompt-lab', '#/lab', () => page.locator('#lab-history tbody tr').first().waitFor()],
      ['messages', '#/messages', () => page.getByRole('heading', { name: 'Messages', level: 1 }).waitFor()],
      ['validation', '#/validation', () => page.locator('li[data-status]').first().waitFor()],
      ['configuration', '#/config', () => page.locator('#settings').waitFor()],
    ];
    for (const viewport of [WIDE, PHONE]) {
      await page.setViewportSize(viewport);
      for (const [name, hash, ready] of pages) {
        await go(hash);
        await ready();
        await page.mouse.move(0, 0);
        await screenshot(page, `op-${name}-${viewport.width}`, true);
        const r = await overflowReport(page);
        expect(r.scrollWidth, `${name} at ${viewport.width} px`).toBeLessThanOrEqual(viewport.width);
        expect(r.outside, `${name} at ${viewport.width} px: sticks out of the page`).toEqual([]);
        for (const link of await page.locator('nav[aria-label="Main"] a').all()) {
          const box = (await link.boundingBox())!;
          expect(box.x + box.width, `${name} at ${viewport.width} px: menu item ${await link.textContent()}`).toBeLessThanOrEqual(viewport.width);
        }
      }
    }
    // The menu by keyboard: skip link, then each page in order.
    await page.setViewportSize(WIDE);
    await go('#/usage');
    await page.reload(); // a fresh load: focus starts at the top, not on the last page's heading
    await page.locator('#usage-table').waitFor();
    await page.keyboard.press('Tab');
    const names: string[] = [];
    for (let i = 0; i < 11; i++) {
      await page.keyboard.press('Tab');
      names.push((await page.evaluate<string>('document.activeElement?.textContent ?? ""')).trim());
    }
    expect(names).toEqual(['Overview', 'Activity', 'Jobs', 'Runs', 'Review', 'Usage', 'Manual sync', 'Prompt lab', 'Messages', 'Validation', 'Configuration']);
    for (let i = 0; i < 7; i++) await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
    await waitFor(async () => (await page.evaluate<string>('document.activeElement?.tagName')) === 'H1', 5_000, 'focus on the new page heading');
    expect(errors).toEqual([]);
  });
});
