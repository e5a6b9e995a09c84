/**
 * The checkout widget in a real browser: Debian Chromium driven by playwright-core, a real Tollgate
 * (PGlite, test-mode payments), and a host page on another origin that loads `${tollgate}/sdk.js`
 * the way a partner's site would. Screenshots of each state (desktop 1280×800, phone 390×844) land
 * in test-artifacts/screenshots/ for a person to look at.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Frame,
  type FrameLocator,
  type Page,
} from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigSource } from '../../server/src/config/load-config.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../server/test/support/server.ts';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = join(import.meta.dirname, '../../../test-artifacts/screenshots');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const WIDGET = 'iframe[title="Buy credits"]';

const hasChromium = existsSync(CHROMIUM);
/** The browser and a busy machine need more than expect.poll's default second. */
const poll = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 20_000, interval: 100 });
if (!hasChromium)
  console.warn(
    `Skipping the widget browser tests: ${CHROMIUM} does not exist (apt-get install -y chromium).`,
  );

interface HostEvent {
  name: string;
  data: any;
}

/** The partner's page: loads sdk.js from Tollgate, records every callback in window.events. */
function hostPage(
  tollgateUrl: string,
  publishableKey: string,
  foreignUrl: string,
  query: URLSearchParams,
): string {
  const mode = query.get('mode') ?? 'embedded';
  const forge = query.get('forge') === '1';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Image Studio</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#0f172a;color:#e2e8f0}
header{padding:20px 32px;border-bottom:1px solid #1e293b;display:flex;justify-content:space-between;align-items:center}
main{padding:32px;max-width:900px}.card{background:#1e293b;border-radius:12px;padding:24px;margin-top:16px}
button{font:inherit;padding:10px 18px;border-radius:8px;border:0;background:#22c55e;color:#052e16;font-weight:700;cursor:pointer}</style></head>
<body><header><strong>Acme Image Studio</strong><button id="buy" type="button">Buy credits</button></header>
<main><h1>Generate images with AI</h1><div class="card"><p>Each image costs a few credits. Top up to keep creating.</p>
<label>Prompt <input id="prompt" value="a lighthouse at dawn"></label></div></main>
${forge ? `<iframe id="forger" title="ad" src="${foreignUrl}/forge" style="width:1px;height:1px;border:0"></iframe>` : ''}
<script src="${tollgateUrl}/sdk.js"></script>
<script>
window.events = [];
const record = (name) => (data) => window.events.push({ name, data: data === undefined ? null : JSON.parse(JSON.stringify(data)) });
Tollgate.init({
  publishableKey: ${JSON.stringify(query.get('pk') ?? publishableKey)},
  checkoutMode: ${JSON.stringify(mode)},
  ${query.get('currency') ? `currency: ${JSON.stringify(query.get('currency'))},` : ''}
  onPurchaseCompleted: record('purchase_completed'),
  onLoginCompleted: record('login_completed'),
  onCheckoutOpened: record('checkout_opened'),
  onPurchaseError: record('purchase_error'),
  onError: record('error'),
  onComplete: record('complete'),
  onLoggedOut: record('logged_out'),
});
document.getElementById('buy').addEventListener('click', () => Tollgate.open());
</script></body></html>`;
}

/** A third origin that tries to pass itself off as the widget, to the host page and to every frame. */
const FORGER_PAGE = `<!doctype html><html><body><script>
const forged = [
  { tollgate: 1, type: 'purchase_completed', session_id: 'cs_forged', user_key: 'tg_uk_forged', balance: 1e9, credits_added: 1e9 },
  { tollgate: 1, type: 'login_completed', user_key: 'tg_uk_forged', balance: 1e9 },
  { tollgate: 1, type: 'session', user_key: 'tg_uk_forged' },
  { tollgate: 1, type: 'logged_out' },
  { tollgate: 1, type: 'close' },
];
const forgedInit = { tollgate: 1, type: 'init', user_key: 'tg_uk_forged' };
setInterval(() => {
  for (const message of forged) parent.postMessage(message, '*');
  for (let index = 0; index < parent.frames.length; index++) {
    try { parent.frames[index].postMessage(forgedInit, '*'); } catch (error) {}
  }
}, 50);
</script></body></html>`;

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe.skipIf(!hasChromium)('checkout widget in Chromium', () => {
  let tollgate: TestServer;
  let publishableKey: string;
  let secretKey: string;
  let host: Server;
  let foreign: Server;
  let hostUrl: string;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    // Euros besides dollars (seed 004's `currency: 'eur'`): €0.0095 a credit, from €4.50, +12.5% from €40.
    const env = { TOLLGATE_ADMIN_KEY: ADMIN_KEY, TOLLGATE_SECRET: 'test-secret-0123456789abcdef' };
    tollgate = await startTestServer(
      { name: 'pglite' },
      {
        env,
        config: parseConfigSource(
          'currencies:\n  eur: { per_credit: 0.0095, minimum: 4.5, bonus: [{ from: 40, percent: 12.5 }] }',
          { env },
        ),
      },
    );
    const app = await tollgate.createApp({ name: 'Acme Image Studio' });
    publishableKey = app.publishable_key;
    secretKey = app.secret_key;
    foreign = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(FORGER_PAGE);
    });
    const foreignUrl = `http://127.0.0.1:${await listen(foreign)}`;
    host = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (url.pathname !== '/') {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(hostPage(tollgate.url, publishableKey, foreignUrl, url.searchParams));
    });
    // "localhost" vs Tollgate's 127.0.0.1 (and another port): a different origin and site.
    hostUrl = `http://localhost:${await listen(host)}`;
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
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => host?.close(resolve));
    await new Promise((resolve) => foreign?.close(resolve));
    await tollgate?.close();
  });

  async function newPage(viewport = DESKTOP, query = ''): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({
      viewport,
      deviceScaleFactor: 1,
      isMobile: viewport === PHONE,
      hasTouch: viewport === PHONE,
    });
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error('page error:', error));
    await page.goto(`${hostUrl}/${query}`);
    await page.waitForFunction(() => typeof (window as any).Tollgate?.open === 'function');
    return { context, page };
  }

  const events = (page: Page): Promise<HostEvent[]> => page.evaluate(() => (window as any).events);
  const eventsNamed = async (page: Page, name: string) =>
    (await events(page)).filter((event) => event.name === name);
  async function waitForEvent(page: Page, name: string): Promise<HostEvent> {
    await page.waitForFunction(
      (wanted) => (window as any).events.some((event: HostEvent) => event.name === wanted),
      name,
      { timeout: 30_000 },
    );
    return (await eventsNamed(page, name)).at(-1)!;
  }
  const storedKey = (page: Page) =>
    page.evaluate((key) => localStorage.getItem(`tollgate:user_key:${key}`), publishableKey);

  async function openWidget(page: Page): Promise<FrameLocator> {
    await page.click('#buy');
    const widget = page.frameLocator(WIDGET);
    await widget.getByRole('heading', { name: 'Buy credits' }).waitFor({ timeout: 30_000 });
    return widget;
  }

  function widgetFrame(page: Page): Frame {
    const frame = page.frames().find((candidate) => candidate.url().includes('/widget/checkout'));
    if (!frame) throw new Error('widget frame not found');
    return frame;
  }

  /**
   * Escape pressed inside the widget's frame, released once `settled` holds. The key closes (or
   * navigates) that frame, which runs in another process than the host page: a key-up sent while the
   * frame is being torn down is sometimes never acknowledged, and `keyboard.press` then waits forever.
   * Released after the frame is gone, the key-up goes to the host page.
   */
  async function pressEscapeInFrame(page: Page, settled: () => Promise<void>): Promise<void> {
    await page.keyboard.down('Escape');
    await settled();
    await page.keyboard.up('Escape');
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
  const modalCount = (page: Page) => page.locator('[data-tollgate]').count();

  it('buys $50 in the modal: test-mode page inside the frame, 6,000 credits with the bonus, then Done', async () => {
    const { context, page } = await newPage();
    const widget = await openWidget(page);
    await poll(() => widgetFrame(page).evaluate(() => document.activeElement?.id)).toBe('amount-500');
    await shot(page, 'widget-amounts-desktop');

    await widget.getByLabel('Or enter an amount').fill('100');
    await poll(() => widget.locator('#summary').textContent()).toBe('$100 → 11,000 credits (+1,000 bonus)');
    await widget.getByLabel('Or enter an amount').fill('3');
    await widget.getByRole('button', { name: 'Pay $3' }).click();
    await poll(() => widget.getByRole('alert').textContent()).toBe('The minimum purchase is $5.');
    await shot(page, 'widget-minimum-desktop');

    await widget.locator('label[for="amount-5000"]').click();
    await poll(() => widget.getByLabel('Or enter an amount').inputValue()).toBe('');
    await poll(() => widget.locator('#summary').textContent()).toBe('$50 → 5,500 credits (+500 bonus)');
    await widget.getByRole('button', { name: 'Pay $50' }).click();

    // The test-mode checkout page, inside the modal's frame.
    await widget.getByRole('button', { name: 'Pay $50.00' }).waitFor({ timeout: 30_000 });
    await widget.getByText('5,500 credits').first().waitFor();
    await shot(page, 'widget-test-checkout-desktop');
    await widget.getByRole('button', { name: 'Pay $50.00' }).click();

    const opened = await waitForEvent(page, 'checkout_opened');
    expect(opened.data.session_id).toMatch(/^cs_test_local_/);
    expect(opened.data.checkout_url).toBeUndefined();
    const purchased = await waitForEvent(page, 'purchase_completed');
    expect(purchased.data).toEqual({
      user_key: expect.stringMatching(/^tg_uk_/),
      balance: 6000,
      credits_added: 5500,
    });
    expect(opened.data.user_key).toBe(purchased.data.user_key);
    await widget.getByRole('heading', { name: 'Payment complete' }).waitFor();
    await widget.getByText('+5,500 credits').waitFor();
    // The same account's statement on the dashboard, where the app is named for email sign-in.
    expect(await widget.getByTestId('view-history').getAttribute('href')).toMatch(
      /\/dashboard\/\?app=tg_pk_[\w-]+#\/credits\/transactions$/,
    );
    await shot(page, 'widget-success-desktop');

    // The key is the app's to use: the balance is real.
    const balance = await tollgate.call('GET', '/v1/credits/balance', { key: purchased.data.user_key });
    expect(balance.body.balance).toBe(6000);
    expect(await storedKey(page)).toBe(purchased.data.user_key);
    expect(await page.evaluate(() => (window as any).Tollgate.getUserKey())).toBe(purchased.data.user_key);

    await widget.getByRole('button', { name: 'Done' }).click();
    const completed = await waitForEvent(page, 'complete');
    expect(completed.data).toEqual(purchased.data);
    expect(await modalCount(page)).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('buy');
    expect((await events(page)).map((event) => event.name)).toEqual([
      'checkout_opened',
      'purchase_completed',
      'complete',
    ]);

    // The key survives a reload; the widget greets the returning visitor with their balance.
    await page.reload();
    await page.waitForFunction(() => typeof (window as any).Tollgate?.getUserKey === 'function');
    expect(await page.evaluate(() => (window as any).Tollgate.getUserKey())).toBe(purchased.data.user_key);
    const again = await openWidget(page);
    await again.getByText('6,000 credits').waitFor();
    await shot(page, 'widget-returning-desktop');
    await context.close();
  }, 180_000);

  it('signs a returning user in with an emailed code (test mode shows it), and logs out', async () => {
    const email = 'returning.buyer@example.com';
    const signIn = async (page: Page, screenshots: boolean) => {
      const widget = await openWidget(page);
      await widget.getByRole('button', { name: 'Sign in' }).click();
      await widget.getByLabel('Email').fill(email);
      if (screenshots) await shot(page, 'widget-signin-email-desktop');
      await widget.getByRole('button', { name: 'Email me a code' }).click();
      const note = widget.locator('.test-code strong');
      await note.waitFor();
      const code = (await note.textContent())!;
      expect(code).toMatch(/^\d{6}$/);
      if (screenshots) {
        // A wrong code says how many tries are left.
        await widget.getByLabel('6-digit code').fill(code === '000000' ? '111111' : '000000');
        await widget.getByRole('button', { name: 'Sign in' }).click();
        await poll(() => widget.getByRole('alert').textContent()).toMatch(
          /That code is not right\. \d tries? left\./,
        );
      }
      await widget.getByLabel('6-digit code').fill(code);
      if (screenshots) await shot(page, 'widget-signin-code-desktop');
      await widget.getByRole('button', { name: 'Sign in' }).click();
      return { widget, login: await waitForEvent(page, 'login_completed') };
    };

    // First visit: the email opens an account (signup bonus), which buys $10.
    const first = await newPage();
    const { widget, login } = await signIn(first.page, true);
    expect(login.data).toEqual({ user_key: expect.stringMatching(/^tg_uk_/), balance: 500 });
    await widget.getByText(`Signed in as ${email}`).first().waitFor();
    await shot(first.page, 'widget-signed-in-desktop');
    await widget.locator('label[for="amount-1000"]').click();
    await widget.getByRole('button', { name: 'Pay $10' }).click();
    await widget.getByRole('button', { name: 'Pay $10.00' }).click();
    expect((await waitForEvent(first.page, 'purchase_completed')).data).toMatchObject({
      balance: 1500,
      credits_added: 1000,
    });
    await first.context.close();

    // Another browser: the same email signs in to the same credits, with a key of its own.
    const second = await newPage();
    const returning = await signIn(second.page, false);
    expect(returning.login.data.balance).toBe(1500);
    expect(returning.login.data.user_key).not.toBe(login.data.user_key);
    expect(await storedKey(second.page)).toBe(returning.login.data.user_key);

    await returning.widget.getByRole('button', { name: 'Log out' }).click();
    await waitForEvent(second.page, 'logged_out');
    await returning.widget.getByText('You are signed out.').waitFor();
    expect(await storedKey(second.page)).toBeNull();
    expect(await second.page.evaluate(() => (window as any).Tollgate.getUserKey())).toBeNull();
    await second.context.close();
  }, 180_000);

  it('manual mode hands the checkout URL to the host page and closes', async () => {
    const { context, page } = await newPage(DESKTOP, '?mode=manual');
    await page.evaluate(() => (window as any).Tollgate.open({ amount: 25 }));
    const widget = page.frameLocator(WIDGET);
    // The preset amount is selected and the pay button focused.
    await poll(() => widget.getByRole('radio', { name: /\$25/ }).isChecked()).toBe(true);
    await poll(() => widgetFrame(page).evaluate(() => document.activeElement?.textContent)).toBe('Pay $25');
    await widget.getByRole('button', { name: 'Pay $25' }).click();
    const opened = await waitForEvent(page, 'checkout_opened');
    expect(opened.data).toEqual({
      session_id: expect.stringMatching(/^cs_test_local_/),
      user_key: expect.stringMatching(/^tg_uk_/),
      // The test page's URL carries the session's own secret: only whoever was handed it can pay.
      checkout_url: expect.stringMatching(
        new RegExp(`^${tollgate.url}/checkout/test/${opened.data.session_id}/[\\w-]{20,}$`),
      ),
    });
    await poll(() => modalCount(page)).toBe(0);
    expect(await storedKey(page)).toBe(opened.data.user_key);
    const status = await tollgate.call('GET', `/v1/checkout/sessions/${opened.data.session_id}`, {
      key: opened.data.user_key,
    });
    expect(status.body).toMatchObject({ status: 'pending', purchase: { amount_usd: 25, credits: 2500 } });
    expect(await eventsNamed(page, 'purchase_completed')).toEqual([]);
    await context.close();
  }, 120_000);

  it('new-tab mode waits in the modal while the buyer pays in another tab', async () => {
    const { context, page } = await newPage(DESKTOP, '?mode=new_tab');
    const widget = await openWidget(page);
    await widget.locator('label[for="amount-1000"]').click();
    const [tab] = await Promise.all([
      context.waitForEvent('page'),
      widget.getByRole('button', { name: 'Pay $10' }).click(),
    ]);
    await widget.getByRole('heading', { name: 'Finish paying in the new tab' }).waitFor();
    await shot(page, 'widget-new-tab-waiting-desktop');
    await tab.waitForURL(/\/checkout\/test\//);
    await tab.getByRole('button', { name: 'Pay $10.00' }).click();
    await tab.waitForURL(/\/widget\/return\?status=success/);
    await tab.getByRole('heading', { name: 'Payment received' }).waitFor();
    const purchased = await waitForEvent(page, 'purchase_completed');
    expect(purchased.data).toMatchObject({ balance: 1500, credits_added: 1000 });
    await widget.getByRole('heading', { name: 'Payment complete' }).waitFor();
    // Closing the success screen with the × also counts as dismissing it.
    await page.locator('[data-tollgate]').getByRole('button', { name: 'Close' }).click();
    expect((await waitForEvent(page, 'complete')).data).toEqual(purchased.data);
    await context.close();
  }, 120_000);

  it('keeps keyboard focus inside the modal, closes on Escape and close(), restoring focus', async () => {
    const { context, page } = await newPage();
    const widget = await openWidget(page);
    await poll(() => widgetFrame(page).evaluate(() => document.activeElement?.id)).toBe('amount-500');
    // Arrow keys move through the amounts.
    await page.keyboard.press('ArrowRight');
    await poll(() => widget.getByRole('radio', { name: /\$10\b/ }).isChecked()).toBe(true);
    await poll(() => widget.locator('#summary').textContent()).toBe('$10 → 1,000 credits');
    for (let press = 0; press < 14; press++) {
      await page.keyboard.press(press % 3 === 2 ? 'Shift+Tab' : 'Tab');
      // Crossing the iframe's edge hands focus over in steps (the frame, a sentinel, a message to the
      // widget), and focus that lands outside is sent back: what matters is where it settles.
      await expect
        .poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-tollgate')), {
          message: `focus left the modal after ${press + 1} presses`,
          timeout: 2_000,
          interval: 50,
        })
        .toBe('checkout');
    }
    await pressEscapeInFrame(page, () => poll(() => modalCount(page)).toBe(0));
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('buy');

    // Escape from the host page itself, and Tollgate.close().
    await openWidget(page);
    await page.evaluate(() =>
      (document.querySelector('[data-tollgate]') as HTMLElement)
        .shadowRoot!.querySelector<HTMLElement>('.close')!
        .focus(),
    );
    await page.keyboard.press('Escape');
    await poll(() => modalCount(page)).toBe(0);
    await openWidget(page);
    await page.evaluate(() => (window as any).Tollgate.close());
    expect(await modalCount(page)).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('buy');
    expect(await events(page)).toEqual([]);
    await context.close();
  }, 120_000);

  it('ignores postMessage from any other origin or window, on both sides', async () => {
    const { context, page } = await newPage(DESKTOP, '?forge=1');
    const widget = await openWidget(page);
    // The host page posting to itself is not the widget either.
    await page.evaluate(() =>
      window.postMessage(
        {
          tollgate: 1,
          type: 'purchase_completed',
          session_id: 'x',
          user_key: 'tg_uk_self',
          balance: 1,
          credits_added: 1,
        },
        '*',
      ),
    );
    // Nor is the widget's own window talking to itself.
    await widgetFrame(page).evaluate(() =>
      window.postMessage({ tollgate: 1, type: 'init', user_key: 'tg_uk_self' }, '*'),
    );
    await page.waitForTimeout(1000);
    expect(await events(page)).toEqual([]);
    expect(await modalCount(page)).toBe(1);
    expect(await storedKey(page)).toBeNull();

    // The widget kept the host's (absent) key: a purchase goes through under a fresh, genuine key.
    await widget.locator('label[for="amount-500"]').click();
    await widget.getByRole('button', { name: 'Pay $5' }).click();
    await widget.getByRole('button', { name: 'Pay $5.00' }).click();
    const purchased = await waitForEvent(page, 'purchase_completed');
    expect(purchased.data).toMatchObject({ balance: 1000, credits_added: 500 });
    expect(purchased.data.user_key).not.toMatch(/forged|self/);
    expect(await storedKey(page)).toBe(purchased.data.user_key);
    expect((await events(page)).some((event) => JSON.stringify(event).includes('forged'))).toBe(false);
    await context.close();
  }, 120_000);

  it('refuses to run when framed by an origin other than the one it was opened for', async () => {
    const { context, page } = await newPage();
    await page.evaluate(
      ({ url, key }) => {
        const frame = document.createElement('iframe');
        frame.title = 'impostor';
        frame.src = `${url}/widget/checkout?pk=${key}&origin=${encodeURIComponent('https://victim.example')}`;
        document.body.append(frame);
      },
      { url: tollgate.url, key: publishableKey },
    );
    const impostor = page.frameLocator('iframe[title="impostor"]');
    await impostor.getByRole('heading', { name: 'Checkout unavailable' }).waitFor();
    await context.close();
  }, 60_000);

  it('fits a phone screen', async () => {
    const { context, page } = await newPage(PHONE);
    const widget = await openWidget(page);
    const box = await page.locator('[data-tollgate]').evaluate((host) => {
      const dialog = host.shadowRoot!.querySelector('.dialog')!.getBoundingClientRect();
      return { width: dialog.width, height: dialog.height };
    });
    expect(box).toEqual({ width: PHONE.width, height: PHONE.height });
    expect(
      await widgetFrame(page).evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
    ).toBe(true);
    await shot(page, 'widget-amounts-phone');
    await widget.locator('label[for="amount-10000"]').click();
    await poll(() => widget.locator('#summary').textContent()).toBe('$100 → 11,000 credits (+1,000 bonus)');
    await shot(page, 'widget-bonus-phone');
    await widget.getByRole('button', { name: 'Sign in' }).click();
    await widget.getByLabel('Email').fill('phone@example.com');
    await widget.getByRole('button', { name: 'Email me a code' }).click();
    await widget.locator('.test-code').waitFor();
    await shot(page, 'widget-signin-code-phone');
    await widget.getByRole('button', { name: 'Back' }).click();
    await widget.locator('label[for="amount-10000"]').click();
    await widget.getByRole('button', { name: 'Pay $100' }).click();
    await widget.getByRole('button', { name: 'Pay $100.00' }).waitFor();
    await shot(page, 'widget-test-checkout-phone');
    await widget.getByRole('button', { name: 'Pay $100.00' }).click();
    await widget.getByRole('heading', { name: 'Payment complete' }).waitFor();
    await shot(page, 'widget-success-phone');
    expect((await waitForEvent(page, 'purchase_completed')).data).toMatchObject({
      balance: 11_500,
      credits_added: 11_000,
    });
    await context.close();
    void secretKey;
  }, 180_000);

  it('reads "12,50" as $12.50 and asks before paying a large amount', async () => {
    const { context, page } = await newPage();
    const widget = await openWidget(page);
    const custom = widget.getByLabel('Or enter an amount');
    await custom.fill('12,50');
    // Was "$1,250 → 137,500 credits" and "Pay $1,250".
    await poll(() => widget.locator('#summary').textContent()).toBe('$12.50 → 1,250 credits');
    expect(await widget.getByRole('button', { name: 'Pay $12.50' }).isVisible()).toBe(true);
    await custom.fill('100000');
    await widget.getByRole('button', { name: 'Pay $100,000' }).click();
    const confirm = widget.getByTestId('confirm-large');
    await poll(() => confirm.textContent()).toContain('You are about to pay $100,000.00');
    await poll(() => widgetFrame(page).evaluate(() => document.activeElement?.textContent)).toBe(
      'Yes, pay $100,000',
    );
    await shot(page, 'widget-large-amount-desktop');
    expect(await eventsNamed(page, 'checkout_opened')).toEqual([]);
    await widget.getByRole('button', { name: 'Change amount' }).click();
    await poll(() => confirm.isVisible()).toBe(false);
    await context.close();
  }, 120_000);

  it('opens with the first amount chosen; on the test checkout focus is on Pay and Escape cancels', async () => {
    const { context, page } = await newPage();
    const widget = await openWidget(page);
    // The tile that looks selected is the one Continue pays (it said "Choose an amount first").
    expect(await widget.locator('#amount-500').isChecked()).toBe(true);
    await widget.getByRole('button', { name: 'Pay $5' }).click();
    await widget.getByRole('button', { name: 'Pay $5.00' }).waitFor({ timeout: 30_000 });
    await poll(() =>
      page
        .frames()
        .find((frame) => frame.url().includes('/checkout/test/'))
        ?.evaluate(() => document.activeElement?.id),
    ).toBe('pay');
    const notice = widget.locator('.notice');
    await pressEscapeInFrame(page, () =>
      poll(() => notice.textContent()).toBe('Payment cancelled. Nothing was charged.'),
    );
    // A warning, not the green of success.
    expect(await notice.getAttribute('class')).toContain('warning');
    await shot(page, 'widget-cancelled-desktop');
    // Landmarks: the widget's content is its main.
    expect(await widget.getByRole('main').count()).toBe(1);
    await context.close();
  }, 120_000);

  it("sells in the host's currency: euro amounts, bonus and minimum, a euro checkout that credits at the euro price", async () => {
    const { context, page } = await newPage(DESKTOP, '?currency=EUR');
    const widget = await openWidget(page);
    await poll(() => widget.locator('label[for="amount-500"] .price').textContent()).toBe('€5');
    expect(await widget.locator('label[for="amount-500"] .credits').textContent()).toBe('526.32 credits');
    expect(await widget.locator('#custom-hint').textContent()).toBe(
      'Minimum €4.50. +12.5% bonus credits from €40.',
    );
    const custom = widget.locator('#custom-amount');
    await custom.fill('12,50');
    await poll(() => widget.locator('#summary').textContent()).toBe('€12.50 → 1,315.79 credits');
    await custom.fill('4');
    await widget.getByRole('button', { name: 'Pay €4' }).click();
    await poll(() => widget.getByRole('alert').first().textContent()).toBe('The minimum purchase is €4.50.');
    await custom.fill('12.50');
    await widget.getByRole('button', { name: 'Pay €12.50' }).click();
    // The test checkout page charges euros, and the credits are the server's, at the euro price.
    await widget.getByRole('button', { name: /Pay €12\.50|Pay 12\.50 EUR/ }).click();
    const purchased = await waitForEvent(page, 'purchase_completed');
    expect(purchased.data.credits_added).toBe(1315.789473);
    const purchases = await tollgate.call('GET', '/v1/credits/purchases', { key: purchased.data.user_key });
    expect(purchases.body.data[0]).toMatchObject({ currency: 'eur', amount: 12.5, amount_usd: null });
    await context.close();
  }, 120_000);

  it('refuses a currency the server does not sell in, saying so', async () => {
    const { context, page } = await newPage(DESKTOP, '?currency=GBP');
    await page.click('#buy');
    await page
      .frameLocator(WIDGET)
      .getByRole('heading', { name: 'Checkout unavailable' })
      .waitFor({ timeout: 30_000 });
    await context.close();
  }, 60_000);

  it('a bad publishable key says so, styled, and reaches onError', async () => {
    const { context, page } = await newPage(DESKTOP, '?pk=tg_pk_not_a_real_key_000000');
    await page.click('#buy');
    const error = await waitForEvent(page, 'error');
    expect(error.data.error.code).toBe('invalid_publishable_key');
    const widget = page.frameLocator(WIDGET);
    await widget.getByRole('heading', { name: 'Checkout unavailable' }).waitFor();
    // Styled by the widget's stylesheet (an inline <style> was blocked by the page's CSP).
    expect(
      await widgetFrame(page).evaluate(() => getComputedStyle(document.querySelector('h1')!).fontSize),
    ).toBe('22px');
    await shot(page, 'widget-bad-key-desktop');
    await context.close();
  }, 120_000);
});
