/**
 * The partner view's customer page over a real Tollgate in test mode (PGlite), in Chromium: the grants
 * list (refreshed by the grant form), voiding a grant's remainder and cancelling a scheduled one, auto
 * top-up (set, save a test card, turn off) and an organisation's members (add — key shown once —,
 * remove). The page passes axe (WCAG 2.1 A/AA) at 1280×800 and 390×844 with no console error.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config/load-config.ts';
import { expectStatus } from '../../server/test/support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../server/test/support/server.ts';
import { expectAccessibleAtBothWidths } from './support/axe.ts';
import {
  hasChromium,
  launchChromium,
  NO_AUTO_TOPUP,
  unexpectedErrors,
  type WatchedPage,
  watchedPage,
} from './support/chromium.ts';

if (!hasChromium)
  console.warn('Skipping the partner customer resources tests: /usr/bin/chromium is missing.');

describe.skipIf(!hasChromium)("the partner view's customer resources in Chromium", () => {
  let server: TestServer;
  let browser: Browser;
  let app: { id: string; secret_key: string };

  beforeAll(async () => {
    const env = {
      TOLLGATE_ADMIN_KEY: ADMIN_KEY,
      TOLLGATE_SECRET: 'test-secret-0123456789abcdef',
      TOLLGATE_TEST_MODE: '1',
    };
    server = await startTestServer(
      { name: 'pglite' },
      { env, config: { ...loadConfig(undefined, env), signupBonusMicros: 0n } },
    );
    app = await server.createApp({ name: 'Storyboard Studio' });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const call = (method: string, path: string, body?: unknown) =>
    server.call(method, path, { key: app.secret_key, body });

  async function openCustomer(customerId: string, heading: string): Promise<WatchedPage> {
    const watched = await watchedPage(browser);
    const { page } = watched;
    await page.goto(`${server.url}/partner/`);
    await page.getByLabel('Secret or admin key').fill(app.secret_key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('partner-account').waitFor();
    await page.goto(`${server.url}/partner/#/customers/${customerId}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    return watched;
  }

  /** axe finds nothing at desktop and at phone width, and nothing is wider than the phone. */
  async function accessible(page: Page, name: string): Promise<void> {
    await page
      .getByText(/^Loading/)
      .first()
      .waitFor({ state: 'detached' });
    await expectAccessibleAtBothWidths(page, name);
  }

  /** No console error (but Chromium's line for "no auto top-up set", a 404 by contract). */
  async function done(watched: WatchedPage): Promise<void> {
    expect(unexpectedErrors(watched, NO_AUTO_TOPUP)).toEqual([]);
    await watched.context.close();
  }

  it("lists grants and voids one's remainder; sets auto top-up, saves a test card, turns it off", async () => {
    const customer = await server.createCustomer(app.secret_key, 'grace-7');
    const promo = expectStatus(
      await call('POST', `/v1/customers/${customer.id}/grants`, {
        amount: 30,
        source: 'promo',
        priority: 10,
        scope: { types: ['image'] },
        reason: 'Launch promo',
      }),
      201,
    );
    expectStatus(
      await call('POST', `/v1/customers/${customer.id}/grants`, { amount: 12, source: 'gift' }),
      201,
    );
    const watched = await openCustomer(customer.id, 'grace-7');
    const { page } = watched;

    const grants = page.getByTestId('grants');
    await expect.poll(() => grants.locator('tbody tr').count(), { timeout: 30_000 }).toBe(2);
    const promoRow = grants.locator('tbody tr').filter({ hasText: 'Promo ·' });
    expect(await promoRow.textContent()).toContain('image');
    expect(await promoRow.textContent()).toContain('10');
    await page.getByTestId('customer-available').filter({ hasText: /^42$/ }).waitFor();

    // Auto top-up: nothing yet, then set (test mode saves the simulated card at once).
    const setting = page.getByTestId('auto-topup-setting');
    await setting.getByText('Off: no auto top-up is set.').waitFor();
    await page.getByTestId('auto-topup-attempts').getByText('No top-up payments yet.').waitFor();
    await accessible(page, 'partner-customer-resources');

    await page.getByRole('button', { name: `Void remainder: grant ${promo.id}` }).click();
    const dialog = page.getByRole('dialog', { name: "Void this grant's remainder?" });
    await dialog.getByText('30 credits are written off now.').waitFor();
    await dialog.getByRole('button', { name: 'Void remainder' }).click();
    await page.getByTestId('grant-voided').waitFor();
    await expect.poll(() => grants.locator('tbody tr').count(), { timeout: 30_000 }).toBe(1);
    expect(await grants.locator('tbody tr').textContent()).toContain('Gift');
    await page.getByTestId('customer-available').filter({ hasText: /^12$/ }).waitFor();
    expect(expectStatus(await call('GET', `/v1/customers/${customer.id}`), 200).available).toBe(12);

    // A scheduled grant is listed after the live ones and can be cancelled before it is credited.
    const effectiveAt = new Date(server.clock.now().getTime() + 7 * 24 * 3600 * 1000).toISOString();
    const scheduled = expectStatus(
      await call('POST', `/v1/customers/${customer.id}/grants`, {
        amount: 8,
        source: 'promo',
        effective_at: effectiveAt,
      }),
      201,
    );
    await page.getByLabel('Credits', { exact: true }).fill('1');
    await page.getByLabel('Reason').fill('Goodwill');
    await page.getByRole('button', { name: 'Grant credits' }).click();
    await expect.poll(() => grants.locator('tbody tr').count(), { timeout: 30_000 }).toBe(3);
    await grants.getByText(/^Scheduled for /).waitFor();
    await page.getByRole('button', { name: `Cancel grant: grant ${scheduled.id}` }).click();
    await page
      .getByRole('dialog', { name: 'Cancel this scheduled grant?' })
      .getByRole('button', { name: 'Cancel grant' })
      .click();
    await page.getByTestId('grant-voided').filter({ hasText: 'Grant cancelled.' }).waitFor();
    await expect.poll(() => grants.locator('tbody tr').count(), { timeout: 30_000 }).toBe(2);
    await page.getByTestId('customer-available').filter({ hasText: /^13$/ }).waitFor();

    // A setting refused in the browser says why and moves focus to the field.
    await page.getByLabel('Threshold (credits)').fill('5');
    await page.getByRole('button', { name: 'Save auto top-up' }).click();
    await page.getByText('Enter how many dollars each top-up buys.').waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe(
      await page.getByLabel('Amount ($)').getAttribute('id'),
    );
    await page.getByLabel('Amount ($)').fill('20');
    await page.getByLabel('Monthly cap ($)').fill('100');
    await page.getByRole('button', { name: 'Save auto top-up' }).click();
    await page.getByTestId('auto-topup-saved').waitFor();
    await setting.getByText('5 credits available').waitFor();
    await setting.getByText('$0.00 of $100.00 at most').waitFor();
    expect(expectStatus(await call('GET', `/v1/customers/${customer.id}/auto-topup`), 200)).toMatchObject({
      threshold: 5,
      amount_usd: 20,
      monthly_cap_usd: 100,
      provider: 'test',
    });

    // A declining card saved behind the page's back; "Save a test card" puts the succeeding one back.
    expectStatus(
      await call('POST', `/v1/customers/${customer.id}/auto-topup/setup`, { test_card: 'declines' }),
      201,
    );
    const declining = expectStatus(await call('GET', `/v1/customers/${customer.id}/auto-topup`), 200)
      .payment_method as string;
    await page.getByRole('button', { name: 'Save a test card' }).click();
    await page.getByTestId('test-card-saved').waitFor();
    await setting.getByText('pm_test_tollgate_card').waitFor();
    expect(declining).not.toBe('pm_test_tollgate_card');
    await accessible(page, 'partner-customer-auto-topup');

    await page.getByRole('button', { name: 'Turn off' }).click();
    await page
      .getByRole('dialog', { name: 'Turn auto top-up off?' })
      .getByRole('button', { name: 'Turn off' })
      .click();
    await page.getByTestId('auto-topup-removed').waitFor();
    await setting.getByText('Off: no auto top-up is set.').waitFor();
    expect((await call('GET', `/v1/customers/${customer.id}/auto-topup`)).status).toBe(404);
    await done(watched);
  });

  it('adds a member to an organisation (key shown once) and removes them', async () => {
    const organisation = expectStatus(
      await call('POST', '/v1/customers', { external_id: 'acme-studio', type: 'organization' }),
      201,
    );
    const watched = await openCustomer(organisation.id, 'acme-studio');
    const { page } = watched;
    const section = page.getByTestId('members-section');
    await section.getByText('No members yet.').waitFor();

    await section.getByRole('button', { name: 'Add member' }).click();
    await section.getByText("Enter the member's id in your app.").waitFor();
    await section.getByLabel('Member id').fill('user-ada');
    await section.getByLabel('Spend limit (credits, optional)').fill('50');
    await section.getByRole('button', { name: 'Add member' }).click();
    const key = (await page.getByTestId('member-key').textContent()) ?? '';
    expect(key).toMatch(/^tg_uk_/);
    const members = page.getByTestId('members');
    await members.getByRole('cell', { name: 'user-ada', exact: true }).waitFor();
    expect(await members.locator('tbody tr').textContent()).toContain('0 of 50 credits per month');
    const listed = expectStatus(await call('GET', `/v1/customers/${organisation.id}/members`), 200).data;
    expect(listed.map((member: { external_id: string }) => member.external_id)).toEqual(['user-ada']);
    await accessible(page, 'partner-customer-members');

    await page.getByRole('button', { name: 'Remove user-ada' }).click();
    await page
      .getByRole('dialog', { name: 'Remove user-ada?' })
      .getByRole('button', { name: 'Remove member' })
      .click();
    await section.getByText('No members yet.').waitFor();
    expect(expectStatus(await call('GET', `/v1/customers/${organisation.id}/members`), 200).data).toEqual([]);
    // The removed member's key no longer works.
    expect(
      (await server.call('GET', `/v1/customers/${organisation.id}`, { key })).status,
    ).toBeGreaterThanOrEqual(400);

    // An individual customer has no Members section.
    const person = await server.createCustomer(app.secret_key, 'solo-1');
    await page.goto(`${server.url}/partner/#/customers/${person.id}`);
    await page.getByRole('heading', { level: 1, name: 'solo-1' }).waitFor();
    await page.getByTestId('grants-section').waitFor();
    expect(await page.getByTestId('members-section').count()).toBe(0);
    await done(watched);
  });
});
