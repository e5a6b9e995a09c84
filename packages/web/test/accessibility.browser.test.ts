/**
 * axe (WCAG 2.1 A/AA) on the customer-facing pages, at 1280×800 and 390×844, with no console error:
 * the dashboard's sign-in and every tab, the partner view's sign-in, and the checkout widget in its
 * iframe on a partner's page. (The partner view's own pages: partner.browser.test.ts.)
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config/load-config.ts';
import { expectStatus } from '../../server/test/support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../server/test/support/server.ts';
import { axeViolations } from './support/axe.ts';
import {
  DESKTOP,
  hasChromium,
  launchChromium,
  PHONE,
  type WatchedPage,
  watchedPage,
} from './support/chromium.ts';

if (!hasChromium) console.warn('Skipping the accessibility tests: /usr/bin/chromium is missing.');

describe.skipIf(!hasChromium)('axe on the dashboard, the sign-in pages and the widget', () => {
  let server: TestServer;
  let browser: Browser;
  let app: { id: string; secret_key: string; publishable_key: string };
  let host: Server;
  let hostUrl: string;

  beforeAll(async () => {
    const env = { TOLLGATE_ADMIN_KEY: ADMIN_KEY, TOLLGATE_SECRET: 'test-secret-0123456789abcdef' };
    server = await startTestServer(
      { name: 'pglite' },
      { env, config: { ...loadConfig(undefined, env), signupBonusMicros: 0n } },
    );
    app = await server.createApp({ name: 'Storyboard Studio', referral_rate: 0.1 });
    // A partner's page on another origin that loads sdk.js the way the embed snippet says.
    host = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme</title></head><body><main><h1>Acme</h1><button id="buy" type="button">Buy credits</button></main>
<script src="${server.url}/sdk.js"></script>
<script>Tollgate.init({ publishableKey: ${JSON.stringify(app.publishable_key)} });
document.getElementById('buy').addEventListener('click', () => Tollgate.open());</script></body></html>`,
      );
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    hostUrl = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await new Promise((resolve) => host?.close(resolve));
  });

  /** No violation at desktop and at phone width. */
  async function accessible(target: Page, frame: Page | Frame = target): Promise<void> {
    for (const viewport of [DESKTOP, PHONE]) {
      await target.setViewportSize(viewport);
      await target.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve(null))));
      expect(await axeViolations(frame), `${viewport.width}×${viewport.height}`).toEqual([]);
    }
    await target.setViewportSize(DESKTOP);
  }

  async function done(watched: WatchedPage): Promise<void> {
    expect(watched.errors).toEqual([]);
    await watched.context.close();
  }

  it('the sign-in pages', async () => {
    const watched = await watchedPage(browser);
    const { page } = watched;
    await page.goto(`${server.url}/dashboard/`);
    await page
      .getByRole('button', { name: /sign in/i })
      .first()
      .waitFor();
    await accessible(page);
    await page.goto(`${server.url}/partner/`);
    await page.getByLabel('Secret or admin key').waitFor();
    await accessible(page);
    await done(watched);
  });

  it('every tab of the dashboard', async () => {
    const customer = await server.createCustomer(app.secret_key, 'axe-user');
    expectStatus(
      await server.call('POST', `/v1/customers/${customer.id}/grants`, {
        key: app.secret_key,
        body: { amount: 40, source: 'promo', reason: 'Welcome' },
      }),
      201,
    );
    const link = expectStatus(
      await server.call('POST', `/v1/customers/${customer.id}/portal-links`, { key: app.secret_key }),
      201,
    ).url;
    const watched = await watchedPage(browser);
    const { page } = watched;
    await page.goto(link);
    await page.getByTestId('available-balance').filter({ hasText: /^40$/ }).waitFor();
    await accessible(page);
    for (const tab of ['Transactions', 'Gift Codes']) {
      await page.getByRole('tab', { name: tab }).click();
      await page.getByRole('tab', { name: tab, selected: true }).waitFor();
      await page
        .getByText(/^Loading/)
        .first()
        .waitFor({ state: 'detached' });
      await accessible(page);
    }
    for (const [name, heading] of [
      ['Usage', 'Usage'],
      ['Plans', 'Plans'],
      ['Settings', 'Settings'],
    ] as const) {
      await page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
      await page.getByRole('heading', { level: 1, name: heading }).waitFor();
      await page
        .getByText(/^Loading/)
        .first()
        .waitFor({ state: 'detached' });
      await accessible(page);
    }
    await done(watched);
  });

  it('the checkout widget in its iframe on a partner page', async () => {
    const watched = await watchedPage(browser);
    const { page } = watched;
    await page.goto(hostUrl);
    await page.waitForFunction(() => typeof (window as any).Tollgate?.open === 'function');
    await page.click('#buy');
    await page
      .frameLocator('iframe')
      .getByRole('heading', { name: 'Buy credits' })
      .waitFor({ timeout: 30_000 });
    const frame = page.frames().find((candidate) => candidate.url().includes('/widget/checkout'));
    if (!frame) throw new Error('widget frame not found');
    await accessible(page, frame);
    await done(watched);
  });
});
