import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { laptopPage, launchBrowser, overflowReport, PHONE, screenshot } from './helpers/browser.js';
import { spawnCli } from './helpers/cli.js';
import { ADMIN_TOKEN, startServiceHarness, waitFor, WEBHOOK_KEY, type ServiceHarness } from './helpers/service-harness.js';

const DESKTOP = { width: 1440, height: 900 };

// Browser-side code is kept as plain JavaScript text: the test project has no DOM types.

/**
 * Reports every text the page ever shows (even for a moment, as while a run starts) that holds the
 * words null, undefined or NaN: a value that was missing, written out as text. JSON in <pre> and
 * <code> is left out (null is a fair JSON value there).
 */
const WATCH_FOR_MISSING_VALUES = String.raw`
  const BAD = /\b(null|undefined|NaN)\b/;
  const scan = () => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!BAD.test(n.nodeValue || '') || n.parentElement?.closest('pre, code, textarea, script, style')) continue;
      const where = n.parentElement?.closest('tr, li, p, dd, section, div');
      window.reportMissingValueText(location.hash + ': ' + ((where ? where.textContent : n.nodeValue) || '').trim().slice(0, 200));
    }
  };
  document.addEventListener('DOMContentLoaded', () => {
    new MutationObserver(scan).observe(document.body, { subtree: true, childList: true, characterData: true });
    scan();
  });
`;

async function watchForMissingValues(page: Page): Promise<string[]> {
  const found: string[] = [];
  await page.exposeFunction('reportMissingValueText', (text: string) => {
    if (!found.includes(text)) found.push(text);
  });
  await page.addInitScript({ content: WATCH_FOR_MISSING_VALUES });
  return found;
}

// Each step builds on the one before (a person's session): run in order, one browser.
describe('dashboard in a browser, against the service and both emulators', { timeout: 60_000 }, () => {
  let h: ServiceHarness;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let missingValueTexts: string[];
  let syncedAttempt = '';
  let syncedCost = '';
  let failedAttempt = '';
  const go = (hash: string) => page.goto(`${h.service.url}/${hash}`);

  beforeAll(async () => {
    h = await startServiceHarness({ webhooks: false });
    browser = await launchBrowser();
    ({ page, errors } = await laptopPage(browser));
    missingValueTexts = await watchForMissingValues(page);
  }, 60_000);
  afterAll(async () => {
    await page?.close();
    await browser?.close();
    await h?.close();
  });

  it('opens on the overview; the first Tab reaches the skip link', async () => {
    await go('');
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.getByRole('region', { name: 'Records (customers)' }).locator('[data-figure="records.synced"]').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    // No OpenAI call yet, so no rate limit is known: that alone is said, with no "100%" beside it.
    const headroom = page.getByRole('region', { name: 'Rate-limit headroom' });
    expect(await headroom.locator('#headroom-value').textContent()).toBe('No limit known yet');
    expect(await headroom.textContent()).not.toContain('%');
    expect(await headroom.locator('meter').count()).toBe(0);
    await screenshot(page, '01-overview-empty');
  });

  it('a manual sync from the page asks for the admin token, then the record appears as synced', async () => {
    await go('#/sync');
    await page.getByLabel('CustomerNumbers').fill('CUST-10045\n');
    await expect.poll(() => page.locator('#sync-count').textContent()).toBe('1 CustomerNumber');
    await page.getByRole('button', { name: 'Submit' }).click();
    const dialog = page.getByRole('dialog', { name: 'Admin token' });
    await dialog.waitFor();
    // No token was given yet: the dialog says so (and not that one was wrong).
    expect(await dialog.locator('#token-reason').textContent()).toMatch(/^No admin token was given/);
    await dialog.getByLabel('Admin token').fill('not-the-token-0123456789');
    await dialog.getByRole('button', { name: 'Save' }).click();
    // A wrong one is called wrong, not missing.
    await dialog.getByText('The service refused this token (wrong token)').waitFor();
    expect(await dialog.locator('#token-error').textContent()).not.toMatch(/needs the admin token/);
    await dialog.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.locator('#run-jobs tr[data-ref="CUST-10045"][data-state="written"]').waitFor();
    await page.getByText('Finished.').waitFor();
    expect(await page.locator('#token-state').textContent()).toBe('set');
    // From the first progress drawn to the end, no missing value was written out as "null".
    expect(await page.locator('#sync-result').textContent()).not.toMatch(/\bnull\b|\bundefined\b/);
    expect(missingValueTexts).toEqual([]);
    await screenshot(page, '02-manual-sync-done');

    await go('#/activity');
    const row = page.locator('tr[data-outcome="synced"]', { hasText: 'CUST-10045' });
    await row.waitFor();
    expect(await row.getByText('Synced').count()).toBe(1);
    syncedAttempt = (await row.getAttribute('data-attempt-id'))!;
    syncedCost = (await row.locator('td.cost').textContent())!;
    expect(syncedCost).toMatch(/^\$\d+\.\d{2,6}$/);
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
    // The same cost, written the same way, as on the Activity page.
    const cost = page.locator('.facts div', { has: page.locator('dt', { hasText: /^Cost$/ }) }).locator('dd');
    expect(await cost.textContent()).toBe(syncedCost);
    await screenshot(page, '04-record-detail');
    await screenshot(page, '04-record-detail-full', true);
  });

  it('one money format for every page: small amounts to 6 decimals, a dollar or more in cents', async () => {
    // As a string: the test runner would rewrite a dynamic import() in a function.
    const shown = await page.evaluate(`import('/assets/format.js').then(({ usd }) => [0.000172, 0.0001724999, 0.5, 0.012345678, 12.3449, 1234.5, 0, null].map((n) => usd(n)))`);
    expect(shown).toEqual(['$0.000172', '$0.000172', '$0.50', '$0.012346', '$12.34', '$1,234.50', '$0.00', '–']);
  });

  it('a saved token the service refuses is reported as wrong, not as missing', async () => {
    await page.evaluate("sessionStorage.setItem('ipaas-openai.adminToken', 'stale-token-from-an-earlier-run')");
    await go('#/sync');
    await page.getByLabel('CustomerNumbers').fill('CUST-10045');
    await page.getByRole('button', { name: 'Submit' }).click();
    const dialog = page.getByRole('dialog', { name: 'Admin token' });
    await dialog.waitFor();
    const reason = await dialog.locator('#token-reason').textContent();
    expect(reason).toMatch(/refused the admin token saved in this tab/);
    expect(reason).not.toMatch(/No admin token was given/);
    expect(await page.locator('#token-state').textContent()).toBe('refused');
    await screenshot(page, '04b-token-refused');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'The sync was not started' });
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/refused the admin token saved in this tab.*Fix: Enter the current admin token/);
    // The header button takes the right one.
    await page.getByRole('button', { name: /^Admin token:/ }).click();
    await dialog.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('#token-state').textContent()).toBe('set');
  });

  it('a failed record shows its error with the fix, and Retry syncs it', async () => {
    h.emulators.openai.emulator.injectFault({ kind: 'status', status: 400, match: 'CUST-10046', times: 1 });
    await go('#/sync');
    await page.getByLabel('CustomerNumbers').fill('CUST-10046');
    await page.getByRole('button', { name: 'Submit' }).click();
    const failedRow = page.locator('#run-jobs tr[data-ref="CUST-10046"][data-state="failed"]');
    await failedRow.waitFor();
    failedAttempt = (await failedRow.getByRole('link', { name: 'CUST-10046' }).getAttribute('href'))!.replace('#/attempt/', '');
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
    // Settings in words, each with the real key of ipaas-openai.yaml, never a key shouted in capitals.
    const maxOut = page.locator('#settings [data-setting="openai.maxOutputTokens"]');
    expect(await maxOut.locator('.setting-label').innerText()).toBe('Max output tokens');
    expect(await maxOut.locator('.setting-key').innerText()).toBe('openai.maxOutputTokens');
    expect(await maxOut.locator('dd').innerText()).toBe('2,048');
    const settings = await page.evaluate<Array<{ path: string; label: string; key: string }>>(
      "[...document.querySelectorAll('#settings [data-setting]')].map((el) => ({ path: el.dataset.setting, label: el.querySelector('.setting-label').innerText, key: el.querySelector('.setting-key').innerText }))",
    );
    expect(settings.length).toBeGreaterThan(20);
    for (const st of settings) {
      expect(st.label, st.path).not.toMatch(/^[A-Z]{4,}$/);
      expect(st.label, st.path).not.toBe(st.path.split('.').pop());
      expect(st.key === st.path || st.key === 'worked out at start', st.path).toBe(true);
    }
    // Both files are listed (the store's path is no longer hidden by the log's).
    expect(settings.map((st) => st.path)).toEqual(expect.arrayContaining(['store.path', 'log.path', 'openai.timeoutMs', 'ipaas.timeoutMs']));
    expect(settings.find((st) => st.path === 'openai.timeoutMs')!.label).toBe('Timeout (ms)');
    await screenshot(page, '08-configuration');
    const html = await page.content();
    for (const secret of [h.env.OPENAI_API_KEY!, h.env.IPAAS_API_KEY!, WEBHOOK_KEY, ADMIN_TOKEN]) expect(html).not.toContain(secret);
  });

  it('a page that does not exist says so in its heading and in the tab title', async () => {
    expect(await page.title()).toBe('Configuration · ipaas-openai');
    await go('#/no-such-page');
    await page.getByRole('heading', { name: 'Page not found', level: 1 }).waitFor();
    expect(await page.title()).toBe('Page not found · ipaas-openai');
    expect(await page.locator('#view').textContent()).toContain('#/no-such-page');
    expect(await page.locator('[data-nav][aria-current]').count()).toBe(0);
    await screenshot(page, '08b-not-found');
  });

  it('the overview charts the syncs', async () => {
    await go('#/?range=1h');
    // Two records synced (CUST-10046 after its retry), none failed now; three attempts, one of them failed.
    await expect.poll(() => page.locator('[data-figure="records.synced"]').textContent()).toBe('2');
    expect(await page.locator('[data-figure="records.failed"]').textContent()).toBe('0');
    expect(await page.locator('[data-figure="attempts.synced"]').textContent()).toBe('2');
    expect(await page.locator('[data-figure="attempts.failed"]').textContent()).toBe('1');
    expect(await page.getByRole('img', { name: /2 synced, 0 skipped, 1 failed, 0 failed, will retry/ }).count()).toBe(1);
    // OpenAI's x-ratelimit headers have been seen: now there is a figure, and no "not known".
    const headroom = page.getByRole('region', { name: 'Rate-limit headroom' });
    expect(await headroom.locator('#headroom-value').textContent()).toMatch(/^\d+%$/);
    expect(await headroom.textContent()).not.toContain('No limit known yet');
    // Today's cost: the same figure on the card and in the budget panel, written the same way.
    const card = (await page.getByRole('region', { name: 'Cost today' }).locator('.card-value').textContent())!;
    const budgetRow = page.getByRole('region', { name: 'Budget' }).locator('dl.rows div', { has: page.locator('dt', { hasText: /^Today, cost$/ }) }).locator('dd');
    expect(card).toMatch(/^\$\d+\.\d{2,6}$/);
    expect(await budgetRow.textContent()).toBe(`${card} (no cap)`);
    await page.mouse.move(0, 0); // no hover highlight in the picture
    await screenshot(page, '09-overview');
    expect(errors).toEqual([]);
  });

  it('every page fits a 390 px phone (menu wrapped, wide tables scroll in their box) and a 1440 px desktop', { timeout: 120_000 }, async () => {
    const pages: Array<{ name: string; hash: string; ready: () => Promise<unknown> }> = [
      { name: 'overview', hash: '#/', ready: () => page.locator('.chart-box svg.chart').waitFor() },
      { name: 'activity', hash: '#/activity', ready: () => page.locator('tr[data-outcome]').first().waitFor() },
      { name: 'record', hash: `#/attempt/${syncedAttempt}`, ready: () => page.getByRole('region', { name: 'Other attempts for this record' }).locator('li').first().waitFor() },
      { name: 'record-failed', hash: `#/attempt/${failedAttempt}`, ready: () => page.getByRole('button', { name: 'Retry' }).waitFor() },
      {
        name: 'manual-sync',
        hash: '#/sync',
        ready: async () => {
          await page.getByLabel('CustomerNumbers').fill('CUST-10045\nCUST-10046');
          await page.getByRole('button', { name: 'Submit' }).click();
          await page.getByText('Finished.').waitFor();
        },
      },
      { name: 'jobs', hash: '#/jobs', ready: () => page.locator('tr[data-job-id]').first().waitFor() },
      { name: 'runs', hash: '#/runs', ready: () => page.locator('tr[data-run-id]').first().waitFor() },
      { name: 'usage', hash: '#/usage', ready: () => page.locator('#usage-table').waitFor() },
      { name: 'validation', hash: '#/validation', ready: () => page.locator('li[data-status]').first().waitFor() },
      { name: 'configuration', hash: '#/config', ready: () => page.locator('#settings').waitFor() },
      { name: 'not-found', hash: '#/no-such-page', ready: () => page.getByRole('heading', { name: 'Page not found', level: 1 }).waitFor() },
    ];
    expect(syncedAttempt && failedAttempt).toBeTruthy();
    for (const [size, viewport] of [['desktop', DESKTOP], ['mobile', PHONE]] as const) {
      await page.setViewportSize(viewport);
      for (const p of pages) {
        await go(p.hash);
        await p.ready();
        await page.mouse.move(0, 0);
        const r = await overflowReport(page);
        expect(r.scrollWidth, `${p.name} at ${viewport.width} px`).toBeLessThanOrEqual(viewport.width);
        expect(r.outside, `${p.name} at ${viewport.width} px: sticks out of the page`).toEqual([]);
        // The whole menu is on screen, none of it cut off.
        for (const link of await page.locator('nav[aria-label="Main"] a').all()) {
          const box = (await link.boundingBox())!;
          expect(box.x, `${p.name}: menu item ${await link.textContent()}`).toBeGreaterThanOrEqual(0);
          expect(box.x + box.width, `${p.name}: menu item ${await link.textContent()}`).toBeLessThanOrEqual(viewport.width);
        }
        const token = (await page.locator('#token-button').boundingBox())!;
        expect(token.x + token.width).toBeLessThanOrEqual(viewport.width);
        if (p.name === 'activity' && size === 'mobile') {
          // Outcome is in view as the page opens; the further columns scroll inside the table's box.
          const outcome = (await page.getByRole('columnheader', { name: 'Outcome' }).boundingBox())!;
          expect(outcome.x + outcome.width).toBeLessThanOrEqual(viewport.width);
          const wrap = "[...document.querySelectorAll('.table-wrap')].find((w) => w.querySelector('th:nth-child(5)')?.textContent === 'Outcome')";
          expect(await page.evaluate<string>(`getComputedStyle(${wrap}).overflowX`)).toBe('auto');
          const costHeader = page.getByRole('columnheader', { name: 'Cost' });
          await costHeader.scrollIntoViewIfNeeded();
          const cost = (await costHeader.boundingBox())!;
          expect(cost.x + cost.width).toBeLessThanOrEqual(viewport.width);
          expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(viewport.width);
          await page.evaluate(`${wrap}.scrollTo({ left: 0 })`);
        }
        await screenshot(page, `${p.name}-${size}`, true);
      }
    }
    await page.setViewportSize({ width: 1366, height: 768 });
    expect(missingValueTexts).toEqual([]);
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
