/**
 * The customer dashboard and the partner view in a real Chromium (playwright-core driving the system
 * /usr/bin/chromium) against a real Tollgate with test-mode payments, PGlite and a fake OpenRouter.
 * Writes screenshots of every page at desktop and phone width to test-artifacts/screenshots/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config/load-config.ts';
import { type FakeOpenRouter, startFakeOpenRouter } from '../../server/test/fakes/fake-openrouter.ts';
import { type FakeUpstream, startFakeUpstream } from '../../server/test/fakes/fake-upstream.ts';
import { expectStatus } from '../../server/test/support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../server/test/support/server.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`Skipping the dashboard browser tests: ${CHROMIUM} is missing (apt-get install -y chromium).`);
}

const SCREENSHOTS = fileURLToPath(new URL('../../../test-artifacts/screenshots/', import.meta.url));
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const DAY = 86_400_000;

type App = { id: string; secret_key: string; publishable_key: string };

describe.skipIf(!hasChromium)('dashboard in Chromium', () => {
  let server: TestServer;
  let openRouter: FakeOpenRouter;
  // fal as far as key checks go: it accepts the two keys the Settings test saves.
  let fal: FakeUpstream;
  let browser: Browser;
  let app: App;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    openRouter = await startFakeOpenRouter();
    fal = await startFakeUpstream({
      acceptedKeys: ['fal-key-0123456789abcdef', 'fal-key-replaced-99999999'],
    });
    const env = {
      TOLLGATE_ADMIN_KEY: ADMIN_KEY,
      TOLLGATE_SECRET: 'test-secret-0123456789abcdef',
      OPENROUTER_BASE_URL: `${openRouter.baseUrl}/api/v1`,
      FAL_BASE_URL: fal.url,
    };
    // No signup bonus: a new customer has neither credits nor keys, which is what the billing gate is for.
    server = await startTestServer(
      { name: 'pglite' },
      { env, config: { ...loadConfig(undefined, env), signupBonusMicros: 0n } },
    );
    app = await server.createApp({ name: 'Storyboard Studio', referral_rate: 0.1 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await openRouter?.close();
    await fal?.close();
  });

  async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US', timezoneId: 'UTC' });
    const page = await context.newPage();
    page.on('pageerror', (error) => {
      throw error;
    });
    return { context, page };
  }

  /** The page at desktop and phone width (then back to desktop). */
  async function screenshot(page: Page, name: string): Promise<void> {
    await page.setViewportSize(DESKTOP);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-desktop.png`), fullPage: true });
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(50);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-phone.png`), fullPage: true });
    await page.setViewportSize(DESKTOP);
  }

  async function customer(externalId: string) {
    return server.createCustomer(app.secret_key, externalId);
  }

  async function portalUrl(customerId: string): Promise<string> {
    return expectStatus(
      await server.call('POST', `/v1/customers/${customerId}/portal-links`, { key: app.secret_key }),
      201,
    ).url;
  }

  const gate = (page: Page) => page.getByTestId('billing-gate');
  const balanceOf = async (customerId: string): Promise<number> =>
    expectStatus(await server.call('GET', `/v1/customers/${customerId}`, { key: app.secret_key }), 200)
      .balance;

  it('buys credits in test mode and shows the purchase in Transactions', async () => {
    const buyer = await customer('buyer');
    const { context, page } = await newPage();
    await page.goto(await portalUrl(buyer.id));
    // No credits, no keys: the billing gate greets the customer.
    await expect.poll(() => gate(page).isVisible()).toBe(true);
    expect(page.url()).not.toContain('portal=');
    await screenshot(page, 'billing-gate-onboarding');
    // The server simulates payments: the page says so.
    expect(await page.getByTestId('test-mode-banner').textContent()).toContain('TEST MODE');
    await gate(page)
      .getByRole('button', { name: /Add credits/ })
      .click();
    await expect.poll(() => gate(page).count()).toBe(0);
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid')))
      .toBe('buy-amount');
    await screenshot(page, 'credits-balance');

    await page.getByLabel('Amount in US dollars').fill('10');
    await page.getByTestId('buy-credits').click();
    await page.waitForURL(/\/checkout\/test\//);
    await expect.poll(() => page.locator('body').textContent()).toContain('TEST MODE');
    await page.locator('#pay').click();
    await page.waitForURL(/\/dashboard\/#\/credits\/balance$/);
    const confirmation = page.getByTestId('notice-success');
    await expect.poll(() => confirmation.textContent()).toContain('Purchase complete');
    expect(await confirmation.textContent()).toContain('1,000 credits were added');
    expect(await page.getByTestId('available-balance').textContent()).toBe('1,000');
    await screenshot(page, 'purchase-confirmation');

    await page.getByRole('tab', { name: 'Transactions' }).click();
    const purchaseRow = page.getByTestId('transactions').locator('tr[data-type="purchase"]');
    await expect.poll(() => purchaseRow.count()).toBe(1);
    expect(await purchaseRow.textContent()).toContain('+1,000');
    expect(page.url()).toMatch(/#\/credits\/transactions$/);
    await screenshot(page, 'credits-transactions');

    // Keyboard: arrows move between tabs.
    await page.getByRole('tab', { name: 'Transactions' }).focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.getByRole('tab', { name: 'Gift Codes' }).getAttribute('aria-selected')).toBe('true');

    // A cancelled checkout comes back with a notice and no money moved.
    await page.getByRole('tab', { name: 'Balance' }).click();
    await page.getByLabel('Amount in US dollars').fill('5');
    await page.getByTestId('buy-credits').click();
    await page.waitForURL(/\/checkout\/test\//);
    await page.locator('#cancel').click();
    await page.waitForURL(/\/dashboard\/#\/credits\/balance$/);
    await expect.poll(() => page.getByTestId('notice-warning').textContent()).toContain('Checkout cancelled');
    await screenshot(page, 'purchase-cancelled');
    expect(await balanceOf(buyer.id)).toBe(1000);
    await context.close();
  });

  it('redeems a gift code in the Gift Codes tab, with errors inline', async () => {
    const codes = expectStatus(
      await server.call('POST', '/v1/gift-codes', { key: app.secret_key, body: { amount: 50 } }),
      201,
    ).codes;
    const gifted = await customer('gifted');
    const { context, page } = await newPage();
    await page.goto(await portalUrl(gifted.id));
    // Waits on the page's state (Playwright's own waiting, up to its timeout), never a 1 s poll:
    // under load a redemption can take longer than that.
    await gate(page).waitFor({ state: 'visible' });
    await page.keyboard.press('Escape');
    await gate(page).waitFor({ state: 'detached' });

    await page.getByRole('tab', { name: 'Gift Codes' }).click();
    await page.getByLabel('Gift code', { exact: true }).fill('NOPE-NOPE-NOPE');
    await page.getByRole('button', { name: 'Redeem' }).click();
    await page.getByRole('alert').filter({ hasText: "doesn't exist" }).waitFor();
    expect(await page.getByLabel('Gift code', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await screenshot(page, 'gift-codes-error');

    await page.getByLabel('Gift code', { exact: true }).fill(codes[0]);
    await page.getByRole('button', { name: 'Redeem' }).click();
    await page.getByTestId('gift-success').filter({ hasText: '50 credits added' }).waitFor();
    await page
      .getByTestId('balance-pill')
      .filter({ hasText: /^50 credits$/ })
      .waitFor();
    expect(await balanceOf(gifted.id)).toBe(50);
    await screenshot(page, 'credits-gift-codes');

    // The same code again: refused inline.
    await page.getByLabel('Gift code', { exact: true }).fill(codes[0]);
    await page.getByRole('button', { name: 'Redeem' }).click();
    await page.getByRole('alert').filter({ hasText: 'already redeemed' }).waitFor();
    await context.close();
  });

  it('shows the billing gate to a customer with no credits and no keys, and when a generation is refused', async () => {
    const broke = await customer('broke');
    const { context, page } = await newPage();
    await page.goto(await portalUrl(broke.id));
    const dialog = gate(page);
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await dialog.getByRole('heading').textContent()).toBe('Choose how to pay for generations');
    for (const name of [/Add credits/, /Add API keys/, /Connect OpenRouter/]) {
      expect(await dialog.getByRole('button', { name }).isVisible()).toBe(true);
    }
    // Focus is inside the modal, on its first action; Tab stays in the dialog.
    const focused = () =>
      page.evaluate(
        () =>
          document.querySelector('[data-tollgate="billing-gate"]')?.shadowRoot?.activeElement?.textContent ??
          null,
      );
    expect(await focused()).toContain('Add credits');
    await page.keyboard.press('Tab');
    expect(await focused()).toContain('Add API keys');
    await dialog.getByRole('button', { name: 'Not now' }).click();
    await expect.poll(() => dialog.count()).toBe(0);

    // Only once per session.
    await page.reload();
    await page.getByTestId('try-generation').waitFor();
    expect(await dialog.count()).toBe(0);

    // A generation that would be refused: the gate again, and the "Insufficient credits" toast.
    await page.getByTestId('try-generation').click();
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await dialog.getByRole('heading').textContent()).toBe('Not enough credits for this generation');
    const toast = page.getByTestId('toast');
    // The toast waits for the gate to close: never on top of the dialog, where it cannot be clicked.
    expect(await toast.count()).toBe(0);
    await screenshot(page, 'billing-gate-insufficient');
    await dialog.getByRole('button', { name: 'Not now' }).click();
    expect(await toast.textContent()).toContain('Insufficient credits');
    // Focus went back to the button that asked.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe(
      'try-generation',
    );
    await toast.getByRole('button', { name: 'Add credits' }).click();
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid')))
      .toBe('buy-amount');
    await context.close();
  });

  it('adds a Fal key in Settings so that the next hold is byok, and connects OpenRouter', async () => {
    const owner = await customer('key-owner');
    const { context, page } = await newPage();
    // Signing in with a pasted user key, remembered on the device.
    await page.goto(`${server.url}/dashboard/`);
    await screenshot(page, 'sign-in');
    await page.getByLabel('User key').fill(owner.user_key);
    await page.getByLabel('Keep me signed in on this device').check();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => gate(page).isVisible()).toBe(true);
    expect(await page.evaluate(() => localStorage.getItem('tollgate.user_key'))).toMatch(/^tg_uk_/);
    await gate(page)
      .getByRole('button', { name: /Add API keys/ })
      .click();
    await page.waitForURL(/#\/settings\/api-keys$/);
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid')))
      .toBe('key-input-fal');

    const falKey = 'fal-key-0123456789abcdef';
    const holdFal = async () =>
      expectStatus(
        await server.call('POST', '/v1/holds', {
          key: app.secret_key,
          body: { customer: owner.id, model: 'fal-ai/flux/schnell' },
        }),
        201,
      );
    // Without a key a hold is refused (no credits); with one it is byok.
    expect(
      (
        await server.call('POST', '/v1/holds', {
          key: app.secret_key,
          body: { customer: owner.id, model: 'fal-ai/flux/schnell' },
        })
      ).status,
    ).toBe(402);
    // A key fal does not accept is refused, said plainly, and not saved.
    await page.getByLabel('Fal.ai API key', { exact: true }).fill('fal-key-made-up-0000');
    await page.getByRole('button', { name: 'Save key' }).first().click();
    const refusal = page.locator('[data-provider="fal"] .field-error');
    await expect
      .poll(() => refusal.textContent())
      .toContain('Fal.ai did not accept this key, so it was not saved');
    expect(await page.getByTestId('key-missing-fal').isVisible()).toBe(true);
    await screenshot(page, 'settings-api-key-refused');
    await page.getByLabel('Fal.ai API key', { exact: true }).fill(falKey);
    await page.getByRole('button', { name: 'Save key' }).first().click();
    const saved = page.getByTestId('key-saved-fal');
    await expect.poll(() => saved.isVisible()).toBe(true);
    const masked = (await saved.textContent()) ?? '';
    expect(masked).not.toContain(falKey);
    expect(masked).toContain('cdef');
    expect((await holdFal()).funding).toBe('byok');

    // Replace, then remove (through the confirmation dialog).
    await page.getByLabel('New Fal.ai API key').fill('fal-key-replaced-99999999');
    await page.getByRole('button', { name: 'Replace key' }).click();
    await expect.poll(() => saved.textContent()).toContain('9999');
    await screenshot(page, 'settings-api-keys');
    await page.locator('[data-provider="fal"]').getByRole('button', { name: 'Remove' }).click();
    const confirm = page.getByRole('dialog', { name: 'Remove your Fal.ai key?' });
    await expect.poll(() => confirm.isVisible()).toBe(true);
    await confirm.getByRole('button', { name: 'Remove key' }).click();
    await expect.poll(() => page.getByTestId('key-missing-fal').isVisible()).toBe(true);
    expect(
      (
        await server.call('POST', '/v1/holds', {
          key: app.secret_key,
          body: { customer: owner.id, model: 'fal-ai/flux/schnell' },
        })
      ).status,
    ).toBe(402);
    await page.getByLabel('Fal.ai API key', { exact: true }).fill(falKey);
    await page.getByRole('button', { name: 'Save key' }).first().click();
    await expect.poll(() => saved.isVisible()).toBe(true);
    expect((await holdFal()).funding).toBe('byok');

    // Connect via OpenRouter: the fake signs in at once and returns to the dashboard's callback.
    await page.getByTestId('connect-openrouter').click();
    await page.waitForURL(/\/dashboard\/#\/settings\/api-keys$/);
    await expect
      .poll(() => page.getByTestId('notice-success').textContent())
      .toContain('OpenRouter connected');
    await expect.poll(() => page.getByTestId('key-saved-openrouter').isVisible()).toBe(true);
    expect(openRouter.issuedKeys).toHaveLength(1);
    expect(await page.content()).not.toContain(openRouter.issuedKeys[0]);
    const llmHold = expectStatus(
      await server.call('POST', '/v1/holds', {
        key: app.secret_key,
        body: { customer: owner.id, model: 'llama-3.3-70b-versatile' },
      }),
      201,
    );
    expect(llmHold.funding).toBe('byok');
    await screenshot(page, 'settings-openrouter-connected');

    // Declining at OpenRouter comes back with a notice, nothing saved.
    openRouter.denyNext();
    await page.getByTestId('connect-openrouter').click();
    await page.waitForURL(/\/dashboard\/#\/settings\/api-keys$/);
    await expect
      .poll(() => page.getByTestId('notice-warning').textContent())
      .toContain('OpenRouter was not connected');
    await context.close();
  });

  it('lists, creates (shown once), limits and revokes API keys in Settings', async () => {
    const owner = await customer('api-keys-owner');
    expectStatus(
      await server.call('POST', `/v1/customers/${owner.id}/grants`, {
        key: app.secret_key,
        body: { amount: 50, source: 'purchase' },
      }),
      201,
    );
    const { context, page } = await newPage();
    await page.goto(await portalUrl(owner.id));
    await page.waitForURL(/\/dashboard\/#/);
    await page.goto(`${server.url}/dashboard/#/settings/api-keys`);
    const section = page.getByTestId('user-keys');
    await expect.poll(() => section.getByTestId('user-key').count()).toBe(1);
    expect(await section.getByTestId('user-key').first().textContent()).toContain('Default');

    await section.getByLabel('Name').fill('Laptop');
    await section.getByTestId('user-key-limit-input').fill('2');
    await section.getByRole('button', { name: 'Create key' }).click();
    await expect.poll(() => section.getByTestId('user-key').count()).toBe(2);
    const secret = (await section.getByTestId('user-key-secret').textContent())!;
    expect(secret).toMatch(/^tg_uk_/);
    const laptop = section.getByTestId('user-key').filter({ hasText: 'Laptop' });
    expect(await laptop.getByTestId('user-key-limit').textContent()).toMatch(/^0 of 2 credits per day/);

    // Spending with the new key shows in its limit; past it the key is refused.
    expectStatus(
      await server.call('POST', '/v1/holds', {
        key: secret,
        body: { customer: owner.id, model: 'fal-ai/flux/schnell', amount: 1.5 },
      }),
      201,
    );
    await page.reload();
    await expect
      .poll(() =>
        page
          .getByTestId('user-key')
          .filter({ hasText: 'Laptop' })
          .getByTestId('user-key-limit')
          .textContent(),
      )
      .toMatch(/^1\.5 of 2 credits per day/);
    await screenshot(page, 'settings-user-keys');

    const row = page.getByTestId('user-key').filter({ hasText: 'Laptop' });
    await row.getByLabel('Spend limit of Laptop').fill('');
    await row.getByRole('button', { name: 'Save limit' }).click();
    await expect
      .poll(() =>
        page
          .getByTestId('user-key')
          .filter({ hasText: 'Laptop' })
          .getByTestId('user-key-limit')
          .textContent(),
      )
      .toBe('No limit');

    await page
      .getByTestId('user-key')
      .filter({ hasText: 'Laptop' })
      .getByRole('button', { name: 'Revoke' })
      .click();
    await page.getByRole('button', { name: 'Revoke key' }).click();
    await expect
      .poll(() =>
        page
          .getByTestId('user-key')
          .filter({ hasText: 'Laptop' })
          .getByTestId('user-key-limit')
          .textContent(),
      )
      .toMatch(/^Revoked/);
    expect((await server.call('GET', '/v1/credits/balance', { key: secret })).status).toBe(401);
    await context.close();
  });

  it('charts usage by model type and changes plans', async () => {
    const busy = await customer('busy');
    expectStatus(
      await server.call('POST', `/v1/customers/${busy.id}/grants`, {
        key: app.secret_key,
        body: { amount: 2000, source: 'promo' },
      }),
      201,
    );
    const now = server.clock.now();
    const models = [
      'fal-ai/flux/schnell',
      'fal-ai/veo3.1',
      'minimax/speech-02-hd',
      'gmi/deepseek-r1',
      'fal-ai/flux-2-flex',
    ];
    for (let daysAgo = 0; daysAgo < 28; daysAgo++) {
      server.clock.set(new Date(now.getTime() - daysAgo * DAY));
      for (let index = 0; index < ((daysAgo * 7) % 4) + 1; index++) {
        const model = models[(daysAgo + index) % models.length]!;
        const response = await server.call('POST', '/v1/charges', {
          key: app.secret_key,
          body: { customer: busy.id, model, quantity: 1 },
        });
        expect(response.status, JSON.stringify(response.body)).toBe(201);
      }
    }
    server.clock.set(now);

    const { context, page } = await newPage();
    await page.goto(await portalUrl(busy.id));
    await page.getByRole('link', { name: 'Usage' }).click();
    const chart = page.locator('svg.chart');
    await expect.poll(() => chart.locator('rect').count()).toBeGreaterThan(20);
    expect(await chart.getAttribute('role')).toBe('img');
    expect(Number((await page.getByTestId('usage-total').textContent())!.replace(/,/g, ''))).toBeGreaterThan(
      0,
    );
    await screenshot(page, 'usage');

    await page.getByRole('link', { name: 'Plans' }).click();
    await expect.poll(() => page.getByTestId('no-plan').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Start Microbudget' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Start plan' }).click();
    // Test mode: the plan's first period is paid on the test checkout page, like any purchase.
    await page.waitForURL(/\/checkout\/test\//);
    await expect.poll(() => page.locator('body').textContent()).toContain('TEST MODE');
    await page.locator('#pay').click();
    await page.waitForURL(/\/dashboard\/#\/plans$/);
    await expect
      .poll(() => page.getByTestId('notice-success').textContent())
      .toContain('Your plan is active');
    await expect.poll(() => page.getByTestId('current-plan').textContent()).toContain('Microbudget');
    await page.getByRole('button', { name: 'Upgrade to Hollywood' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Upgrade now' }).click();
    // So is the upgrade's prorated charge.
    await page.waitForURL(/\/checkout\/test\//);
    await page.locator('#pay').click();
    await page.waitForURL(/\/dashboard\/#\/plans$/);
    await expect.poll(() => page.getByTestId('notice-success').textContent()).toContain('Upgrade complete');
    expect(await page.getByTestId('current-plan').textContent()).toContain('Hollywood');
    await page.getByRole('button', { name: 'Downgrade to Independent' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Downgrade at period end' }).click();
    await expect
      .poll(() => page.getByTestId('notice-success').textContent())
      .toContain('Your plan changes to Independent');
    await screenshot(page, 'plans');
    const subscription = expectStatus(
      await server.call('GET', `/v1/customers/${busy.id}/subscription`, { key: app.secret_key }),
      200,
    ).subscription;
    expect(subscription).toMatchObject({ plan: 'hollywood', pending_plan: 'independent' });
    await page.getByRole('button', { name: 'Cancel plan' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel plan' }).click();
    await expect.poll(() => page.getByTestId('notice-success').textContent()).toContain('Your plan ends on');
    await context.close();
  });

  it('lets the partner see customers, revenue, usage, gift codes and models', async () => {
    const { context, page } = await newPage();
    await page.goto(`${server.url}/partner/`);
    await page.getByLabel('Secret or admin key').fill(app.secret_key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('partner-account').textContent()).toBe('Storyboard Studio');
    expect(await page.evaluate(() => sessionStorage.getItem('tollgate.partner_key'))).toBe(app.secret_key);
    await expect.poll(() => page.getByTestId('total-purchases').textContent()).toBe('$10.00');
    // Usage and referral; credit purchases and plan payments.
    await expect.poll(() => page.locator('svg.chart polyline').count()).toBe(4);
    expect(Number(await page.getByTestId('total-referral').textContent())).toBeGreaterThan(0);
    // What is owed to the app (its referral account, all time; no payout recorded yet).
    await expect
      .poll(async () => Number(await page.getByTestId('earnings-owed').textContent()))
      .toBeGreaterThan(0);
    await screenshot(page, 'partner-overview');

    await page.getByRole('link', { name: 'Customers' }).click();
    const customers = page.getByTestId('customers');
    await expect.poll(() => customers.textContent()).toContain('buyer');
    for (const externalId of ['gifted', 'broke', 'key-owner', 'busy'])
      expect(await customers.textContent()).toContain(externalId);
    await screenshot(page, 'partner-customers');

    await page.getByRole('link', { name: 'Recent usage' }).click();
    await expect.poll(() => page.getByTestId('recent-usage').locator('tbody tr').count()).toBeGreaterThan(5);
    await screenshot(page, 'partner-usage');

    await page.getByRole('link', { name: 'Gift codes' }).click();
    await page.getByLabel('Credits per code').fill('25');
    await page.getByLabel('Number of codes').fill('3');
    await page.getByRole('button', { name: 'Create codes' }).click();
    await expect.poll(() => page.getByTestId('new-codes').textContent()).toMatch(/\S+\n\S+\n\S+/);
    await expect.poll(() => page.getByTestId('gift-batches').locator('tbody tr').count()).toBe(2);
    await screenshot(page, 'partner-gift-codes');

    await page.getByRole('link', { name: 'Models' }).click();
    await expect.poll(() => page.getByTestId('models').locator('tbody tr').count()).toBeGreaterThan(20);
    await page.getByLabel('Type', { exact: true }).selectOption('video');
    expect(await page.getByTestId('models').textContent()).toContain('per call');
    await screenshot(page, 'partner-models');
    await context.close();
  });
});
