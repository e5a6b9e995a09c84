/**
 * What the browser tests share: the system Chromium through playwright-core, pages that record
 * console errors, and screenshots at desktop and phone width into test-artifacts/screenshots/
 * (gitignored: look at them, never commit them).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
export const SCREENSHOTS = join(import.meta.dirname, '../../../../test-artifacts/screenshots');

export async function launchChromium(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions so far (each test asserts there are none). */
  errors: string[];
  /** The URL paths that answered 404 (Chromium logs each as a console error). */
  notFound: string[];
}

export async function watchedPage(browser: Browser, viewport = DESKTOP): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'UTC' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(String(error)));
  const notFound: string[] = [];
  page.on('response', (response) => {
    if (response.status() === 404) notFound.push(new URL(response.url()).pathname);
  });
  return { context, page, errors, notFound };
}

const NOT_FOUND_LOG = /^Failed to load resource: the server responded with a status of 404/;

/**
 * The console errors but Chromium's own line for each 404 the page expected: requests whose path
 * matches `expected` may answer 404 by contract (a customer without auto top-up); any other 404 stays
 * an error.
 */
export function unexpectedErrors(watched: WatchedPage, expected: RegExp): string[] {
  const unexpected = watched.notFound.filter((path) => !expected.test(path));
  let allowed = watched.notFound.length - unexpected.length;
  const errors = watched.errors.filter((error) => {
    if (allowed > 0 && NOT_FOUND_LOG.test(error)) {
      allowed -= 1;
      return false;
    }
    return true;
  });
  return [...errors, ...unexpected.map((path) => `404 from ${path}`)];
}

/** The one 404 the partner view's customer page expects: no auto top-up set. */
export const NO_AUTO_TOPUP = /^\/v1\/customers\/[^/]+\/auto-topup$/;

/** The page at desktop and phone width (then back to desktop). */
export async function screenshotBoth(page: Page, name: string): Promise<void> {
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve(null))));
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

/** True when nothing on the page is wider than the viewport (no sideways scrolling on a phone). */
export function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}
