/**
 * Issue 16's web surfaces for the end user, in Chromium against a real Tollgate (test-mode payments,
 * PGlite): prices before generating (the price list, its cost preview, the estimate on "Try a
 * generation"), the transactions as a statement (descriptions, pending holds, receipts, CSV) and
 * email sign-in on the dashboard. Each page at desktop and phone width, no console errors, and no
 * axe violations (WCAG 2 A/AA).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config/load-config.ts';
import { expectStatus } from '../../server/test/support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../server/test/support/server.ts';
import {
  DESKTOP,
  fitsWidth,
  hasChromium,
  launchChromium,
  PHONE,
  screenshotBoth,
  type WatchedPage,
  watchedPage,
} from './support/chromium.ts';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

if (!hasChromium) console.warn('Skipping the dashboard statement tests: /usr/bin/chromium is missing.');

describe.skipIf(!hasChromium)('prices, statement and email sign-in in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let app: { id: string; secret_key: string; publishable_key: string };

  beforeAll(async () => {
    const env = { TOLLGATE_ADMIN_KEY: ADMIN_KEY, TOLLGATE_SECRET: 'test-secret-0123456789abcdef' };
    server = await startTestServer(
      { name: 'pglite' },
      { env, config: { ...loadConfig(undefined, env), signupBonusMicros: 0n } },
    );
    app = await server.createApp({
      name: 'Storyboard Studio',
      referral_rate: 0.1,
      return_origins: ['https://app.example'],
    });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function done(watched: WatchedPage, allowed: RegExp[] = []): Promise<void> {
    expect(watched.errors.filter((error) => !allowed.some((pattern) => pattern.test(error)))).toEqual([]);
    await watched.context.close();
  }

  /** axe's WCAG 2 A/AA rules on the page as it is now, at desktop and phone width. */
  async function expectAccessible(page: Page): Promise<void> {
    // Evaluated over the DevTools protocol: the dashboard's CSP (script-src 'self') rightly refuses an injected tag.
    if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize(viewport);
      const violations = await page.evaluate(async () => {
        const result = await (window as any).axe.run(document, {
          runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] },
        });
        return result.violations.map(
          (violation: any) =>
            `${violation.id}: ${violation.nodes.map((node: any) => node.target.join(' ')).join(', ')}`,
        );
      });
      expect(violations, `at ${viewport.width}px`).toEqual([]);
      expect(await fitsWidth(page), `fits ${viewport.width}px`).toBe(true);
    }
    await page.setViewportSize(DESKTOP);
  }

  const customer = (externalId: string) => server.createCustomer(app.secret_key, externalId);
  const grant = async (customerId: string, amount: number, reason?: string) =>
    expectStatus(
      await server.call('POST', `/v1/customers/${customerId}/grants`, {
        key: app.secret_key,
        body: { amount, source: reason ? 'adjustment' : 'promo', ...(reason ? { reason } : {}) },
      }),
      201,
    );
  const portalUrl = async (customerId: string): Promise<string> =>
    expectStatus(
      await server.call('POST', `/v1/customers/${customerId}/portal-links`, { key: app.secret_key }),
      201,
    ).url;

  it('shows prices with ≈ $ by type, and the cost of a duration and count before generating', async () => {
    const viewer = await customer('price-viewer');
    await grant(viewer.id, 1000);
    const watched = await watchedPage(browser);
    const { page } = watched;
    await page.goto(await portalUrl(viewer.id));
    await page.getByTestId('balance-pill').waitFor();

    // "Try a generation" says what it would cost before the click: 8 s at 11 credits (10 + 10%).
    await page.getByLabel('Model').selectOption('fal-ai/veo3.1');
    await page.getByLabel('Duration (seconds)').fill('8');
    await page.getByLabel('How many').fill('2');
    await expect
      .poll(() => page.getByTestId('try-estimate').textContent())
      .toMatch(/^Estimated cost: 176 credits \(≈ \$[\d.,]+\)\.$/);

    await page.getByRole('link', { name: 'Prices' }).click();
    const list = page.getByTestId('price-list');
    await list.waitFor();
    const veo = list.locator('tr[data-model="fal-ai/veo3.1"]');
    expect(await veo.textContent()).toMatch(/11 credits per second/);
    expect(await veo.textContent()).toMatch(/≈ \$[\d.,]+ per second/);
    await page.getByLabel('Model type').selectOption('video');
    await expect
      .poll(async () =>
        (await list.locator('tbody tr td:nth-child(2)').allTextContents()).every((type) => type === 'Video'),
      )
      .toBe(true);

    const preview = page.getByTestId('cost-preview');
    await preview.getByLabel('Model').selectOption('fal-ai/veo3.1');
    await preview.getByLabel('Duration (seconds)').fill('5');
    await preview.getByLabel('How many').fill('3');
    await expect
      .poll(() => page.getByTestId('preview-cost').textContent())
      .toMatch(/^About 165 credits \(≈ \$/);
    await preview.getByLabel('How many').fill('1000');
    await expect.poll(() => page.getByTestId('preview-cost').textContent()).toContain('within the limits');

    await page.getByLabel('Model type').selectOption('language');
    await expect.poll(() => preview.getByLabel('Input tokens').isVisible()).toBe(true);
    await preview.getByLabel('How many').fill('1');
    await expect
      .poll(() => page.getByTestId('preview-cost').textContent())
      .toMatch(/^About [\d.,<]+ credits \(≈ /);
    await expectAccessible(page);
    await screenshotBoth(page, 'statement-prices');
    await done(watched);
  });

  it('reads the transactions as a statement: descriptions, pending holds, a receipt and the CSV', async () => {
    const buyer = await customer('statement-viewer');
    const checkout = expectStatus(
      await server.call('POST', '/v1/checkout/sessions', {
        key: app.secret_key,
        body: {
          customer: buyer.id,
          amount_usd: 12.5,
          success_url: 'https://app.example/done',
          cancel_url: 'https://app.example/cancel',
        },
      }),
      201,
    );
    const paid = await fetch(`${checkout.url}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
      redirect: 'manual',
    });
    expect(paid.status).toBe(303);
    await grant(buyer.id, 5, 'Sorry for the outage');
    expectStatus(
      await server.call('POST', '/v1/charges', {
        key: app.secret_key,
        body: { customer: buyer.id, model: 'custom/render', amount: 3 },
      }),
      201,
    );
    expectStatus(
      await server.call('POST', '/v1/holds', {
        key: app.secret_key,
        body: { customer: buyer.id, model: 'custom/render', amount: 2 },
      }),
      201,
    );

    const watched = await watchedPage(browser);
    const { page } = watched;
    await page.goto(await portalUrl(buyer.id));
    await page.getByTestId('balance-pill').waitFor();
    await page.getByRole('tab', { name: 'Transactions' }).click();
    const table = page.getByTestId('transactions');
    await table.waitFor();
    expect(await table.locator('tr.pending').textContent()).toContain('Reserved for custom/render (pending)');
    expect(await table.locator('tr[data-type="purchase"]').textContent()).toContain(
      'Credit purchase · $12.50 paid',
    );
    expect(await table.textContent()).toContain('Sorry for the outage');
    await expectAccessible(page);
    await screenshotBoth(page, 'statement-transactions');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('download-statement').click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^statement-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\n')[0]).toBe('id,created_at,status,type,description,model,amount,balance_after');
    expect(csv).toContain('Credit purchase · $12.50 paid');
    expect(csv).toContain(',pending,pending,');

    await page.getByTestId('receipt-link').click();
    const receipt = page.getByTestId('receipt');
    await receipt.waitFor();
    expect(await receipt.getByRole('heading', { level: 1 }).textContent()).toBe(
      'Receipt — Storyboard Studio',
    );
    expect(await page.getByTestId('receipt-paid').textContent()).toBe('$12.50');
    expect(await page.getByTestId('receipt-credits').textContent()).toMatch(/^1,250 credits$/);
    await expectAccessible(page);
    await screenshotBoth(page, 'statement-receipt');
    await page.getByTestId('receipt-back').click();
    await table.waitFor();
    await done(watched);
  });

  it('signs in with an emailed code when the dashboard link names the app', async () => {
    const watched = await watchedPage(browser, PHONE);
    const { page } = watched;
    await page.goto(`${server.url}/dashboard/?app=${app.publishable_key}`);
    await page.getByTestId('sign-in-email').fill('reader@example.com');
    await expectAccessible(page);
    await screenshotBoth(page, 'statement-email-sign-in');
    await page.getByTestId('sign-in-email-submit').click();
    const hint = page.getByTestId('sign-in-hint');
    await expect.poll(() => hint.textContent()).toMatch(/Test mode: your code is \d+/);
    const code = /(\d+)/.exec((await hint.textContent()) ?? '')![1]!;
    await page.getByTestId('sign-in-code').fill('12');
    await page.getByTestId('sign-in-email-submit').click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('Enter the code');
    await page.getByTestId('sign-in-code').fill(code);
    await page.getByTestId('sign-in-email-submit').click();
    await page.getByTestId('balance-pill').waitFor();
    await done(watched);
  });

  it("shows the app's name, accent and a link back to it", async () => {
    const branded = await server.createApp({
      name: 'Teal Studio',
      accent_color: '#0f766e',
      website_url: 'https://studio.app.example/',
    });
    const member = await server.createCustomer(branded.secret_key, 'branded-member');
    // With credits, no first-visit gate covers the page.
    expectStatus(
      await server.call('POST', `/v1/customers/${member.id}/grants`, {
        key: branded.secret_key,
        body: { amount: 5, source: 'promo' },
      }),
      201,
    );
    const watched = await watchedPage(browser);
    const { page } = watched;
    await page.goto(
      expectStatus(
        await server.call('POST', `/v1/customers/${member.id}/portal-links`, { key: branded.secret_key }),
        201,
      ).url,
    );
    await page.getByTestId('balance-pill').waitFor();
    expect(await page.getByTestId('brand').textContent()).toBe('Teal Studio');
    expect(await page.getByTestId('back-to-app').getAttribute('href')).toBe('https://studio.app.example/');
    expect(
      await page.evaluate(() =>
        getComputedStyle(document.documentElement).getPropertyValue('--brand').trim(),
      ),
    ).toBe('#0f766e');
    await expectAccessible(page);
    await screenshotBoth(page, 'statement-branding');
    await done(watched);
  });
});
