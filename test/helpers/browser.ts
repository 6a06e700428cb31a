import { mkdirSync } from 'node:fs';
import sparticuz from '@sparticuz/chromium';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from './cli.js';

export const SCREENSHOTS = path.join(REPO_ROOT, 'test-output/screenshots');

/**
 * Headless Chromium from the npm registry: @sparticuz/chromium carries the browser inside its package and
 * unpacks it to the temp dir on first use, so `npm ci && npm test` needs no system browser and downloads
 * nothing of its own. A failure to start fails the test with the reason (never a silent skip).
 */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = await sparticuz.executablePath();
  return chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--no-zygote', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A laptop-sized page that records script errors (the tests expect none). */
export async function laptopPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

/** A wide page whose tab already holds the admin token (as after the token dialog), recording script errors. */
export async function operatorPage(browser: Browser, adminToken: string): Promise<{ page: Page; errors: string[] }> {
  const opened = await laptopPage(browser);
  await opened.page.setViewportSize(WIDE);
  await opened.page.addInitScript({ content: `sessionStorage.setItem('ipaas-openai.adminToken', ${JSON.stringify(adminToken)})` });
  return opened;
}

/** Saves a screenshot for a person to look at: test-output/screenshots/<name>.png */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

/** Viewports the page is checked at: a wide desktop and a phone. */
export const WIDE = { width: 1440, height: 900 };
export const PHONE = { width: 390, height: 844 };

/** What sticks out past the viewport's right edge other than inside a box that scrolls sideways. */
const OVERFLOW_REPORT = String.raw`(() => {
  const vw = document.documentElement.clientWidth;
  const scrolls = (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const outside = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= vw + 0.5) continue;
    let contained = false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (scrolls(p) && p.getBoundingClientRect().right <= vw + 0.5) contained = true;
    }
    if (!contained) outside.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + (el.getAttribute('class') || '') + ' right=' + Math.round(r.right));
  }
  return { scrollWidth: document.documentElement.scrollWidth, outside: outside.slice(0, 10) };
})()`;

/** The page's width against the viewport's, and up to 10 elements that stick out (none expected). */
export const overflowReport = (page: Page) => page.evaluate<{ scrollWidth: number; outside: string[] }>(OVERFLOW_REPORT);
