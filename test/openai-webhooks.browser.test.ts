import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWebhookSecret } from '../emulators/openai/index.js';
import { laptopPage, launchBrowser, screenshot } from './helpers/browser.js';
import { startServiceHarness, waitFor, type ServiceHarness } from './helpers/service-harness.js';

const SECRET = newWebhookSecret();

describe('the Messages page lists the webhooks OpenAI sent', { timeout: 60_000 }, () => {
  let h: ServiceHarness;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    h = await startServiceHarness({ webhooks: false, env: { OPENAI_WEBHOOK_SECRET: SECRET } });
    const em = h.emulators.openai.emulator;
    em.updateSettings({ webhook: { url: `${h.service.url}/webhooks/openai`, secret: SECRET, retryBaseMs: 5 } });
    const sent = await em.webhooks.send({ type: 'batch.expired', data: { id: 'batch_page0001' } });
    await em.webhooks.send({ replayOf: sent.webhookId });
    await em.webhooks.send({ type: 'response.completed', data: { id: 'resp_page0001' } });
    await waitFor(async () => (await h.connector.store.messages.list({ outcome: 'received' })).total === 0, 10_000, 'the messages to be acted on');
    browser = await launchBrowser();
    ({ page, errors } = await laptopPage(browser));
  }, 60_000);
  afterAll(async () => {
    await page?.close();
    await browser?.close();
    await h?.close();
  });

  it('newest first, each with its id, outcome in words, what happened and its replays; filtered by outcome; fits a phone', async () => {
    await page.goto(`${h.service.url}/#/messages`);
    await page.getByRole('heading', { name: 'Messages', level: 1 }).waitFor();
    const rows = page.locator('tr[data-webhook-id]');
    await rows.nth(1).waitFor();
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).locator('code').textContent()).toBe('response.completed:resp_page0001');
    expect(await rows.nth(0).locator('.badge').textContent()).toBe('Nothing to do');
    const batch = rows.nth(1);
    expect(await batch.locator('code').textContent()).toBe('batch.expired:batch_page0001');
    expect(await batch.locator('.badge').textContent()).toBe('Unknown batch');
    expect(await batch.textContent()).toContain("No batch batch_page0001 in this connector's store");
    expect(await batch.textContent()).toContain('1 replay ignored');
    expect(await page.locator('[data-nav="messages"][aria-current="page"]').count()).toBe(1);
    await screenshot(page, 'messages-desktop', true);

    await page.getByLabel('Outcome').selectOption('unknown-batch');
    await page.waitForFunction("document.querySelectorAll('tr[data-webhook-id]').length === 1");
    expect(page.url()).toContain('outcome=unknown-batch');

    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await screenshot(page, 'messages-mobile', true);
    expect(errors).toEqual([]);
  });
});
