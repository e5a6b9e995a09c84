/**
 * The partner view that runs a business, in Chromium against a real Tollgate (PGlite): the embed
 * snippet and the referral rate within the operator's ceiling, customers named for people (widget
 * buyers included), one customer's page (grant with a reason, sign-in link, user keys, transactions)
 * and webhooks (add with the secret shown once, deliveries, send again, delete). Every page passes axe
 * (WCAG 2.1 A/AA) at 1280×800 and 390×844 with no console error.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config/load-config.ts';
import { expectStatus } from '../../server/test/support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../server/test/support/server.ts';
import { axeViolations, expectAccessibleAtBothWidths } from './support/axe.ts';
import {
  hasChromium,
  launchChromium,
  NO_AUTO_TOPUP,
  unexpectedErrors,
  type WatchedPage,
  watchedPage,
} from './support/chromium.ts';

if (!hasChromium) console.warn('Skipping the partner view tests: /usr/bin/chromium is missing.');

describe.skipIf(!hasChromium)('the partner view in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let app: { id: string; secret_key: string; publishable_key: string };
  let receiver: Server;
  let receiverUrl: string;

  beforeAll(async () => {
    const env = { TOLLGATE_ADMIN_KEY: ADMIN_KEY, TOLLGATE_SECRET: 'test-secret-0123456789abcdef' };
    server = await startTestServer(
      { name: 'pglite' },
      { env, config: { ...loadConfig(undefined, env), signupBonusMicros: 0n } },
    );
    app = await server.createApp({ name: 'Storyboard Studio', referral_rate: 0.1, referral_rate_max: 0.3 });
    receiver = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(200).end('ok'));
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  async function signIn(): Promise<WatchedPage> {
    const watched = await watchedPage(browser);
    await watched.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    const { page } = watched;
    await page.goto(`${server.url}/partner/`);
    await page.getByLabel('Secret or admin key').fill(app.secret_key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('partner-account').waitFor();
    return watched;
  }

  /** axe finds nothing at desktop and at phone width, and nothing is wider than the phone. */
  async function accessible(page: Page, name: string): Promise<void> {
    await expectAccessibleAtBothWidths(page, name);
  }

  async function done(watched: WatchedPage): Promise<void> {
    expect(unexpectedErrors(watched, NO_AUTO_TOPUP)).toEqual([]);
    await watched.context.close();
  }

  it('shows the embed snippet and sets the referral rate within the ceiling', async () => {
    const watched = await signIn();
    const { page } = watched;
    await page.getByTestId('referral-rate').filter({ hasText: '10%' }).waitFor();
    await accessible(page, 'partner-overview');

    await page.getByRole('link', { name: 'Setup' }).click();
    const snippet = page.getByTestId('embed-snippet');
    await snippet.waitFor();
    expect(await snippet.textContent()).toBe(
      `<script src="${server.url}/sdk.js"></script>\n<script>\n  Tollgate.init({ publishableKey: "${app.publishable_key}" });\n</script>`,
    );
    await page.getByTestId('copy-snippet').click();
    await page.getByTestId('copy-snippet').filter({ hasText: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toContain(app.publishable_key);

    const rate = page.getByLabel('Referral rate (%)');
    await rate.fill('45');
    await page.getByRole('button', { name: 'Save rate' }).click();
    await page.getByText('At most 30%, the ceiling your operator set.').waitFor();
    expect(await rate.getAttribute('aria-invalid')).toBe('true');
    await rate.fill('22.5');
    await page.getByRole('button', { name: 'Save rate' }).click();
    await page.getByTestId('rate-saved').filter({ hasText: 'now 22.5%' }).waitFor();
    expect(await page.getByTestId('rate-history').locator('tbody tr').first().textContent()).toContain(
      '10% → 22.5%',
    );
    expect(
      expectStatus(await server.call('GET', `/v1/apps/${app.id}`, { key: ADMIN_KEY }), 200).referral_rate,
    ).toBe(0.225);
    await accessible(page, 'partner-setup');
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByTestId('referral-rate').filter({ hasText: '22.5%' }).waitFor();
    await done(watched);
  });

  it("names widget buyers, and runs one customer's account: grant with a reason, sign-in link, keys, history", async () => {
    const named = await server.createCustomer(app.secret_key, 'ada-42');
    const guest = expectStatus(
      await server.call('POST', '/v1/widget/session', { body: { publishable_key: app.publishable_key } }),
      201,
    );
    const watched = await signIn();
    const { page } = watched;
    await page.getByRole('link', { name: 'Customers' }).click();
    const table = page.getByTestId('customers');
    await table.waitFor();
    const labels = await table.getByTestId('customer-link').allTextContents();
    expect(labels).toContain('ada-42');
    expect(labels.some((label) => /^Widget buyer · [0-9a-z]{8}$/.test(label))).toBe(true);
    expect(labels.join(' ')).not.toContain('widget:');
    expect(guest).toBeTruthy();
    await accessible(page, 'partner-customers-labels');

    await table.getByRole('link', { name: 'ada-42' }).click();
    await page.getByRole('heading', { level: 1, name: 'ada-42' }).waitFor();
    await page.getByLabel('Credits', { exact: true }).fill('25');
    await page.getByLabel('Reason').fill('Refund for a failed render');
    await page.getByRole('button', { name: 'Grant credits' }).click();
    await page.getByTestId('grant-done').waitFor();
    await page.getByTestId('customer-available').filter({ hasText: /^25$/ }).waitFor();
    await page
      .getByTestId('customer-transactions')
      .getByText('Refund for a failed render', { exact: false })
      .waitFor();
    // Without a reason nothing is granted.
    await page.getByLabel('Credits', { exact: true }).fill('5');
    await page.getByRole('button', { name: 'Grant credits' }).click();
    await page.getByText('Say why: the customer sees it in their history.').waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe(
      await page.getByLabel('Reason').getAttribute('id'),
    );

    await page.getByTestId('portal-link').click();
    const url = await page.getByTestId('portal-url').inputValue();
    expect(url).toMatch(new RegExp(`^${server.url}/dashboard/#portal=`));

    await page.getByLabel('Name').fill('Render farm');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page
      .getByTestId('user-key-created')
      .getByText(/tg_uk_/)
      .waitFor();
    await page.getByTestId('user-keys-list').getByText('Render farm').waitFor();
    const keys = expectStatus(
      await server.call('GET', `/v1/customers/${named.id}/user-keys`, { key: app.secret_key }),
      200,
    );
    expect(keys.data.map((key: { name: string }) => key.name)).toContain('Render farm');
    await accessible(page, 'partner-customer');

    // The sign-in link opens the customer's dashboard with the credits granted.
    const customerPage = await watchedPage(browser);
    await customerPage.page.goto(url);
    await customerPage.page.getByTestId('available-balance').filter({ hasText: /^25$/ }).waitFor();
    await done(customerPage);
    await done(watched);
  });

  it('adds a webhook endpoint (secret once), lists deliveries, sends one again, deletes the endpoint', async () => {
    const buyer = await server.createCustomer(app.secret_key, 'hook-buyer');
    const watched = await signIn();
    const { page } = watched;
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByText('No endpoints yet.').waitFor();
    await page.getByText('No deliveries yet.').waitFor();
    await accessible(page, 'partner-webhooks-empty');
    // Every event the server sends can be chosen, the newest ones included.
    for (const type of ['auto_topup.succeeded', 'auto_topup.failed', 'spend_limit.reached']) {
      expect(await page.getByLabel(type, { exact: true }).count()).toBe(1);
    }

    await page.getByLabel('Endpoint URL').fill('not a url');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByText('Enter the full URL (https://…).').waitFor();
    await page.getByLabel('Endpoint URL').fill(receiverUrl);
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = (await page.getByTestId('hook-secret').textContent()) ?? '';
    expect(secret).toMatch(/^whsec_/);
    await page.getByTestId('hook-endpoints').getByText(receiverUrl).waitFor();

    // A charge that takes the buyer under its low-balance threshold emits balance.low; it is delivered.
    expectStatus(
      await server.call('POST', `/v1/customers/${buyer.id}/grants`, {
        key: app.secret_key,
        body: { amount: 50, source: 'promo' },
      }),
      201,
    );
    expectStatus(
      await server.call('PUT', `/v1/customers/${buyer.id}/alerts`, {
        key: app.secret_key,
        body: { low_balance: 40 },
      }),
      200,
    );
    expectStatus(
      await server.call('POST', '/v1/charges', {
        key: app.secret_key,
        body: { customer: buyer.id, model: 'fal-ai/flux/schnell', amount: 20 },
      }),
      201,
    );
    await expect.poll(() => server.tollgate.deliverWebhooks(), { timeout: 30_000 }).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Refresh' }).click();
    const deliveries = page.getByTestId('hook-deliveries');
    await deliveries.getByText('Delivered').waitFor();
    expect(await deliveries.getByText('HTTP 200').count()).toBe(1);
    await accessible(page, 'partner-webhooks');

    await deliveries
      .getByRole('button', { name: /^Send again: delivery whd_/ })
      .first()
      .click();
    await expect.poll(() => deliveries.locator('tbody tr').count(), { timeout: 30_000 }).toBe(2);
    await deliveries.getByText('Pending').waitFor();

    await page.getByRole('button', { name: `Delete ${receiverUrl}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this endpoint?' });
    await dialog.getByRole('button', { name: 'Delete endpoint' }).click();
    await page.getByText('No endpoints yet.').waitFor();
    expect(
      expectStatus(await server.call('GET', '/v1/webhook-endpoints', { key: app.secret_key }), 200).data,
    ).toEqual([]);
    await done(watched);
  });

  it('the other pages of the partner view pass axe too', async () => {
    const watched = await signIn();
    const { page } = watched;
    for (const [name, ready] of [
      ['Recent usage', 'Recent usage'],
      ['Gift codes', 'Batches'],
      ['Models', 'Models'],
    ] as const) {
      await page.getByRole('link', { name, exact: true }).click();
      await page.getByRole('heading', { name: ready }).first().waitFor();
      await page
        .getByText(/^Loading/)
        .first()
        .waitFor({ state: 'detached' });
      expect(await axeViolations(page)).toEqual([]);
    }
    await done(watched);
  });
});
