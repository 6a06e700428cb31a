import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { laptopPage, launchBrowser, screenshot } from './helpers/browser.js';
import { spawnCli } from './helpers/cli.js';
import { ADMIN_TOKEN, startServiceHarness, waitFor, WEBHOOK_KEY, type ServiceHarness } from './helpers/service-harness.js';

// Each step builds on the one before (a person's session): run in order, one browser.
describe('dashboard in a browser, against the service and both emulators', { timeout: 60_000 }, () => {
  let h: ServiceHarness;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  const go = (hash: string) => page.goto(`${h.service.url}/${hash}`);

  beforeAll(async () => {
    h = await startServiceHarness({ webhooks: false });
    browser = await launchBrowser();
    ({ page, errors } = await laptopPage(browser));
  }, 60_000);
  afterAll(async () => {
    await page?.close();
    await browser?.close();
    await h?.close();
  });

  it('opens on the overview; the first Tab reaches the skip link', async () => {
    await go('');
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.getByRole('region', { name: 'Synced today' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await screenshot(page, '01-overview-empty');
  });

  it('a manual sync from the page asks for the admin token, then the record appears as synced', async () => {
    await go('#/sync');
    await page.getByLabel('CustomerNumbers').fill('CUST-10045\n');
    await expect.poll(() => page.locator('#sync-count').textContent()).toBe('1 CustomerNumber');
    await page.getByRole('button', { name: 'Submit' }).click();
    const dialog = page.getByRole('dialog', { name: 'Admin token' });
    await dialog.waitFor();
    await dialog.getByLabel('Admin token').fill('not-the-token-0123456789');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('The service refused this token').waitFor();
    await dialog.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.locator('#run-jobs tr[data-ref="CUST-10045"][data-state="written"]').waitFor();
    await page.getByText('Finished.').waitFor();
    expect(await page.locator('#token-state').textContent()).toBe('set');
    await screenshot(page, '02-manual-sync-done');

    await go('#/activity');
    const row = page.locator('tr[data-outcome="synced"]', { hasText: 'CUST-10045' });
    await row.waitFor();
    expect(await row.getByText('Synced').count()).toBe(1);
    await screenshot(page, '03-activity');
  });

  it('the record page shows the exact request (instructions + customer data) and the fields written, reached by keyboard', async () => {
    await page.getByRole('link', { name: /^CUST-10045, attempt \d+, synced$/ }).first().focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /^CUST-10045 attempt #\d+$/, level: 1 }).waitFor();
    const request = page.getByRole('region', { name: 'Request sent to OpenAI' });
    await request.getByText('Write a short, bulleted summary of this customer profile', { exact: false }).first().waitFor();
    const sent = request.getByRole('table', { name: 'Fields sent' });
    expect(await sent.getByRole('row', { name: /CustomerNumber/ }).textContent()).toContain('CUST-10045');
    expect(await sent.getByRole('row', { name: /FirstName/ }).textContent()).toContain('Keanu');
    const writes = page.getByRole('region', { name: 'Fields written (before → after)' });
    expect(await writes.locator('tr[data-field="Known To Film"] td.after').textContent()).toBe('true');
    expect(await writes.locator('tr[data-field="Comment"] td.before').textContent()).toBe('Prefers email contact.');
    expect(await writes.locator('tr[data-field="Comment"] td.after').textContent()).toContain('- Name: Keanu Reeves');
    await screenshot(page, '04-record-detail');
    await screenshot(page, '04-record-detail-full', true);
  });

  it('a failed record shows its error with the fix, and Retry syncs it', async () => {
    h.emulators.openai.emulator.injectFault({ kind: 'status', status: 400, match: 'CUST-10046', times: 1 });
    await go('#/sync');
    await page.getByLabel('CustomerNumbers').fill('CUST-10046');
    await page.getByRole('button', { name: 'Submit' }).click();
    const failedRow = page.locator('#run-jobs tr[data-ref="CUST-10046"][data-state="failed"]');
    await failedRow.waitFor();
    await failedRow.getByRole('link', { name: 'CUST-10046' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'API request failed.' });
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/Fix: .+/);
    await screenshot(page, '05-failed-record');
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.locator('#retry-result-link').waitFor();
    expect(await page.locator('.retry-done').textContent()).toMatch(/^Retry finished: Synced/);
    await screenshot(page, '06-retry-done');
    // Wait for the new attempt's page, not the failed one still on screen when the link is clicked.
    const newAttempt = (await page.locator('#retry-result-link').getAttribute('href'))!.replace('#/attempt/', '');
    await page.locator('#retry-result-link').click();
    await page.getByRole('heading', { name: `CUST-10046 attempt #${newAttempt}`, exact: true }).waitFor();
    expect(await page.locator('.page-head .badge').textContent()).toBe('Synced');
  });

  it('validation shows each checklist item; a failure comes with its fix', async () => {
    await go('#/validation');
    const webhooks = page.locator('li[data-status="fail"]', { hasText: 'Outbound webhooks are configured' });
    await webhooks.waitFor();
    expect(await webhooks.locator('.fix').textContent()).toMatch(/^Fix: In iPaaS.com, add outbound webhooks/);
    expect(await page.locator('li[data-status="pass"]').count()).toBeGreaterThanOrEqual(3);
    await screenshot(page, '07-validation');
  });

  it('configuration shows both mapping collections and secrets only as present/absent; no secret is in the page', async () => {
    await go('#/config');
    await page.getByRole('heading', { name: 'OpenAI Add/Update Customer FROM iPaaS' }).waitFor();
    await page.getByRole('heading', { name: 'OpenAI Add/Update Customer TO iPaaS' }).waitFor();
    expect(await page.getByRole('row', { name: /PromptText/ }).first().textContent()).toContain('Static');
    expect(await page.locator('#secrets tr[data-secret="openai.apiKey"]').textContent()).toContain('present');
    expect(await page.locator('#secrets tr[data-secret="ipaas.login.password"]').textContent()).toContain('absent');
    await screenshot(page, '08-configuration');
    const html = await page.content();
    for (const secret of [h.env.OPENAI_API_KEY!, h.env.IPAAS_API_KEY!, WEBHOOK_KEY, ADMIN_TOKEN]) expect(html).not.toContain(secret);
  });

  it('the overview charts the syncs', async () => {
    await go('#/?range=1h');
    const synced = page.getByRole('region', { name: 'Synced today' });
    await expect.poll(() => synced.locator('.card-value').textContent()).toBe('2');
    expect(await page.getByRole('region', { name: 'Failed today' }).locator('.card-value').textContent()).toBe('1');
    expect(await page.getByRole('img', { name: /2 synced, 0 skipped, 1 failed/ }).count()).toBe(1);
    await page.mouse.move(0, 0); // no hover highlight in the picture
    await screenshot(page, '09-overview');
    expect(errors).toEqual([]);
  });
});

describe('npm start: the demo prints the dashboard URL and the page shows its syncs', { timeout: 60_000 }, () => {
  let cwd: string;
  let child: ChildProcess | undefined;
  let browser: Browser | undefined;
  beforeAll(() => {
    cwd = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-demo-page-'));
  });
  afterAll(async () => {
    await browser?.close();
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  });

  it('demo --keep serves the page until Ctrl-C', async () => {
    child = spawnCli(['demo', '--keep'], { cwd, env: { PORT: '0' } });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    await waitFor(() => /Ctrl-C stops them/.test(out), 45_000, `the demo to serve the dashboard; output so far:\n${out}`);
    const url = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)![1]!;
    browser = await launchBrowser();
    const { page, errors } = await laptopPage(browser);
    await page.goto(`${url}#/activity`);
    await page.getByText('Showing 1–6 of 6 attempts').waitFor();
    expect(await page.locator('tr[data-outcome="synced"]').count()).toBe(5);
    expect(await page.locator('tr[data-outcome="failed"]', { hasText: 'Nora Numberless' }).count()).toBe(1);
    await screenshot(page, '10-demo-activity');
    expect(errors).toEqual([]);
    const exited = new Promise<number | null>((resolve) => child!.on('close', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
