/**
 * The checkout widget's server side over real HTTP, on every backend: the assets (sdk.js gzipped),
 * the framed page and its checks, the config the widget shows, anonymous sessions, and sign-in by
 * one-time code (test mode, SMTP through a local fake server, and off when payments are live).
 * The browser half is packages/web/test/widget.browser.test.ts.
 */
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSmtp, startFakeSmtp } from './fakes/fake-smtp.ts';
import { type FakeStripe, startFakeStripe } from './fakes/fake-stripe.ts';
import { testBackends } from './support/databases.ts';
import { expectError, expectStatus } from './support/expectations.ts';
import { startTestServer, type TestServer } from './support/server.ts';

type App = { id: string; secret_key: string; publishable_key: string };

for (const backend of testBackends()) {
  describe(`checkout widget (${backend.name})`, () => {
    let server: TestServer;
    let app: App;

    beforeAll(async () => {
      server = await startTestServer(backend);
      app = await server.createApp({ name: 'Widget app' });
    });
    afterAll(async () => {
      await server?.close();
    });

    const startLogin = (email: string) =>
      server.call('POST', '/v1/widget/login/start', {
        body: { publishable_key: app.publishable_key, email },
      });
    const verify = (email: string, code: string, userKey?: string) =>
      server.call('POST', '/v1/widget/login/verify', {
        body: {
          publishable_key: app.publishable_key,
          email,
          code,
          ...(userKey ? { user_key: userKey } : {}),
        },
      });
    const me = async (userKey: string) =>
      expectStatus(await server.call('GET', '/v1/widget/me', { key: userKey }), 200);
    const wrongCode = (code: string) => (code === '000000' ? '000001' : '000000');

    it('serves sdk.js minified, gzipped when accepted, with a validator', async () => {
      const plain = await fetch(`${server.url}/sdk.js`, { headers: { 'accept-encoding': 'identity' } });
      expect(plain.status).toBe(200);
      expect(plain.headers.get('content-type')).toMatch(/javascript/);
      expect(plain.headers.get('content-encoding')).toBeNull();
      const source = await plain.text();
      expect(source).toContain('Tollgate');
      // Minified: no indentation or comments survive.
      expect(source).not.toMatch(/\n\s{2,}|\/\*\*/);

      // undici's fetch would inflate it for us; read the raw bytes to see what went over the wire.
      const { request } = await import('undici');
      const gzipped = await request(`${server.url}/sdk.js`, {
        headers: { 'accept-encoding': 'gzip, deflate' },
      });
      expect(gzipped.headers['content-encoding']).toBe('gzip');
      expect(gzipped.headers.vary).toMatch(/accept-encoding/i);
      const bytes = Buffer.from(await gzipped.body.arrayBuffer());
      expect(gunzipSync(bytes).toString('utf8')).toBe(source);
      console.info(`sdk.js: ${Buffer.byteLength(source)} bytes, ${bytes.length} bytes gzipped`);
      expect(bytes.length).toBeLessThan(8 * 1024);

      const etag = plain.headers.get('etag')!;
      const again = await fetch(`${server.url}/sdk.js`, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
    });

    it('shows the amounts with credits and bonus, the minimum and test mode', async () => {
      const config = expectStatus(
        await server.call('GET', `/v1/widget/config?publishable_key=${app.publishable_key}`),
        200,
      );
      expect(config).toMatchObject({
        app: { name: 'Widget app' },
        currency: 'usd',
        minimum_usd: 5,
        usd_per_credit: 0.01,
        bonus: [{ from: 50, from_usd: 50, percent: 10 }],
        signup_bonus: 500,
        test_mode: true,
        payments_enabled: true,
        checkout_provider: 'test',
        stripe_publishable_key: null,
        email_login: true,
      });
      expect(config.amounts).toEqual([
        { amount: 5, amount_usd: 5, credits: 500, bonus_credits: 0 },
        { amount: 10, amount_usd: 10, credits: 1000, bonus_credits: 0 },
        { amount: 25, amount_usd: 25, credits: 2500, bonus_credits: 0 },
        { amount: 50, amount_usd: 50, credits: 5500, bonus_credits: 500 },
        { amount: 100, amount_usd: 100, credits: 11000, bonus_credits: 1000 },
      ]);
      expectError(
        await server.call('GET', '/v1/widget/config?publishable_key=tg_pk_nope'),
        401,
        'invalid_api_key',
      );
      expectError(await server.call('GET', '/v1/widget/config'), 400, 'invalid_request');
    });

    it('serves the widget page for framing, refusing a malformed origin or an unknown key', async () => {
      const origin = encodeURIComponent('https://app.example.com');
      const page = await fetch(
        `${server.url}/widget/checkout?pk=${app.publishable_key}&origin=${origin}&mode=new_tab&amount=25`,
      );
      expect(page.status).toBe(200);
      expect(page.headers.get('x-frame-options')).toBeNull();
      const policy = page.headers.get('content-security-policy')!;
      expect(policy).toContain('frame-ancestors *');
      expect(policy).toContain("script-src 'self'");
      expect(policy).not.toContain('unsafe-inline');
      const html = await page.text();
      const boot = JSON.parse(
        /<script type="application\/json" id="tollgate-boot">(.*?)<\/script>/s.exec(html)![1]!,
      );
      expect(boot).toMatchObject({
        host_origin: 'https://app.example.com',
        mode: 'new_tab',
        amount: 25,
        config: { minimum_usd: 5 },
      });
      const script = /src="(\/widget\/widget\.js\?v=\w+)"/.exec(html)![1]!;
      const asset = await fetch(`${server.url}${script}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toContain('immutable');

      for (const bad of [
        'https://app.example.com/path',
        'javascript:alert(1)',
        'null',
        'https://app.example.com:99999',
      ]) {
        const refused = await fetch(
          `${server.url}/widget/checkout?pk=${app.publishable_key}&origin=${encodeURIComponent(bad)}`,
        );
        expect(refused.status, bad).toBe(400);
      }
      expect((await fetch(`${server.url}/widget/checkout?pk=tg_pk_unknown&origin=${origin}`)).status).toBe(
        404,
      );
      expect(
        (await fetch(`${server.url}/widget/checkout?pk=${app.publishable_key}&origin=${origin}&mode=popup`))
          .status,
      ).toBe(400);
    });

    it('opens an anonymous customer without the signup bonus; an email given there is only a contact', async () => {
      const session = expectStatus(
        await server.call('POST', '/v1/widget/session', {
          body: { publishable_key: app.publishable_key, email: 'contact@example.com' },
        }),
        201,
      );
      expect(session.user_key).toMatch(/^tg_uk_/);
      // Anyone can open one, so it earns the bonus only by verifying an email or paying.
      expect(session.balance).toBe(0);
      expect(await me(session.user_key)).toEqual({ balance: 0, currency: 'credits', email: null });
      // The key works on the user endpoints like any other.
      expect(
        expectStatus(await server.call('GET', '/v1/credits/balance', { key: session.user_key }), 200).balance,
      ).toBe(0);
      // An unverified email does not make an account one can sign in to.
      const login = expectStatus(await startLogin('contact@example.com'), 200);
      const signedIn = expectStatus(await verify('contact@example.com', login.test_mode_code), 200);
      expect(signedIn.user_key).not.toBe(session.user_key);
      // The verified email is the account that earns the bonus.
      expect(signedIn.balance).toBe(500);
      const listed = expectStatus(
        await server.call('GET', '/v1/customers/email:contact@example.com', { key: app.secret_key }),
        200,
      );
      expect(listed.email).toBe('contact@example.com');
      expectError(
        await server.call('POST', '/v1/widget/session', { body: { publishable_key: 'tg_pk_nope' } }),
        401,
        'invalid_api_key',
      );
      expectError(
        await server.call('POST', '/v1/widget/session', {
          body: { publishable_key: app.publishable_key, email: 'not-an-email' },
        }),
        400,
        'invalid_request',
      );
    });

    it('signs in by code: a new email opens a customer, a returning one gets a new key to the same customer', async () => {
      const started = expectStatus(await startLogin('  Returning@Example.com '), 200);
      expect(started).toMatchObject({
        sent: true,
        email: 'returning@example.com',
        delivery: 'test_mode',
        expires_in_seconds: 600,
      });
      expect(started.test_mode_code).toMatch(/^\d{6}$/);

      const wrong = expectError(
        await verify('returning@example.com', wrongCode(started.test_mode_code)),
        400,
        'invalid_request',
      );
      expect(wrong).toMatchObject({ reason: 'invalid_code', attempts_left: 4 });

      const first = expectStatus(await verify('RETURNING@example.com', started.test_mode_code), 200);
      expect(first).toMatchObject({ balance: 500, email: 'returning@example.com' });
      expect(await me(first.user_key)).toMatchObject({ email: 'returning@example.com', balance: 500 });
      // A code signs in once.
      expect(
        expectError(await verify('returning@example.com', started.test_mode_code), 400, 'invalid_request')
          .reason,
      ).toBe('code_expired');

      await server.call('POST', '/v1/customers/email:returning@example.com/grants', {
        key: app.secret_key,
        body: { amount: 250, source: 'promo' },
      });
      const again = expectStatus(await startLogin('returning@example.com'), 200);
      const second = expectStatus(await verify('returning@example.com', again.test_mode_code), 200);
      expect(second.user_key).not.toBe(first.user_key);
      expect(second.balance).toBe(750);
      // Both keys reach the same customer.
      expect((await me(first.user_key)).balance).toBe(750);
    });

    it('allows five guesses per code, then asks for a new one', async () => {
      const started = expectStatus(await startLogin('guesser@example.com'), 200);
      const wrong = wrongCode(started.test_mode_code);
      for (let attempt = 1; attempt <= 4; attempt++) {
        expect(
          expectError(await verify('guesser@example.com', wrong), 400, 'invalid_request').attempts_left,
        ).toBe(5 - attempt);
      }
      expect(expectError(await verify('guesser@example.com', wrong), 429, 'rate_limited').reason).toBe(
        'too_many_attempts',
      );
      // Even the right code is refused now.
      expect(
        expectError(await verify('guesser@example.com', started.test_mode_code), 400, 'invalid_request')
          .reason,
      ).toBe('code_expired');
    });

    it('expires codes after ten minutes, and a new code replaces the previous one', async () => {
      const old = expectStatus(await startLogin('slow@example.com'), 200);
      server.clock.advance(10 * 60 * 1000 + 1);
      expect(
        expectError(await verify('slow@example.com', old.test_mode_code), 400, 'invalid_request').reason,
      ).toBe('code_expired');

      const first = expectStatus(await startLogin('twice@example.com'), 200);
      const second = expectStatus(await startLogin('twice@example.com'), 200);
      if (first.test_mode_code !== second.test_mode_code) {
        expect(
          expectError(await verify('twice@example.com', first.test_mode_code), 400, 'invalid_request').reason,
        ).toBe('invalid_code');
      }
      expectStatus(await verify('twice@example.com', second.test_mode_code), 200);
    });

    it('limits how many codes one email gets', async () => {
      for (let index = 0; index < 3; index++) expectStatus(await startLogin('popular@example.com'), 200);
      const limited = await startLogin('popular@example.com');
      expectError(limited, 429, 'rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    });

    it('keeps what an anonymous visitor bought when they add their email', async () => {
      // Its own app: the per-address limits above are spent for the first one.
      const app = await server.createApp({ name: 'Claiming app' });
      const startLogin = (email: string) =>
        server.call('POST', '/v1/widget/login/start', {
          body: { publishable_key: app.publishable_key, email },
        });
      const verify = (email: string, code: string, userKey?: string) =>
        server.call('POST', '/v1/widget/login/verify', {
          body: {
            publishable_key: app.publishable_key,
            email,
            code,
            ...(userKey ? { user_key: userKey } : {}),
          },
        });
      const session = expectStatus(
        await server.call('POST', '/v1/widget/session', { body: { publishable_key: app.publishable_key } }),
        201,
      );
      const checkout = expectStatus(
        await server.call('POST', '/v1/checkout/sessions', {
          key: session.user_key,
          body: { amount_usd: 50 },
        }),
        201,
      );
      expectStatus(
        await server.call('POST', `${new URL(checkout.url).pathname}/pay`, {
          headers: { accept: 'application/json' },
        }),
        200,
      );
      // 5,500 credits bought, and the first payment earned the 500-credit signup bonus.
      expect((await me(session.user_key)).balance).toBe(6000);

      const started = expectStatus(await startLogin('saver@example.com'), 200);
      const claimed = expectStatus(
        await verify('saver@example.com', started.test_mode_code, session.user_key),
        200,
      );
      expect(claimed).toMatchObject({
        user_key: session.user_key,
        balance: 6000,
        email: 'saver@example.com',
      });
      // On another device the same email reaches the same credits.
      const later = expectStatus(await startLogin('saver@example.com'), 200);
      const elsewhere = expectStatus(await verify('saver@example.com', later.test_mode_code), 200);
      expect(elsewhere.balance).toBe(6000);
      expect(elsewhere.user_key).not.toBe(session.user_key);
    });

    it('limits anonymous sessions per client address', async () => {
      const other = await server.createApp({ name: 'Session limits' });
      const statuses: number[] = [];
      for (let index = 0; index < 11; index++) {
        statuses.push(
          (
            await server.call('POST', '/v1/widget/session', {
              body: { publishable_key: other.publishable_key },
            })
          ).status,
        );
      }
      expect(statuses.filter((status) => status === 201)).toHaveLength(10);
      expect(statuses.at(-1)).toBe(429);
    });
  });
}

describe('checkout widget sign-in codes by SMTP', () => {
  let fake: FakeSmtp;
  let server: TestServer;
  let app: App;

  beforeAll(async () => {
    fake = await startFakeSmtp();
    server = await startTestServer(
      { name: 'pglite' },
      { env: { SMTP_URL: `${fake.url}?tls=off`, SMTP_FROM: 'Widget <codes@example.com>' } },
    );
    app = await server.createApp({ name: 'Mailing app' });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  it('mails the code and never returns it', async () => {
    const started = expectStatus(
      await server.call('POST', '/v1/widget/login/start', {
        body: { publishable_key: app.publishable_key, email: 'reader@example.com' },
      }),
      200,
    );
    expect(started.delivery).toBe('email');
    expect(started.test_mode_code).toBeUndefined();
    expect(fake.messages).toHaveLength(1);
    const mail = fake.messages[0]!;
    expect(mail).toMatchObject({ from: 'codes@example.com', to: ['reader@example.com'] });
    const code = /\b(\d{6})\b/.exec(mail.text)![1]!;
    expect(mail.headers.subject).toBe(`${code} is your Mailing app sign-in code`);
    const signedIn = expectStatus(
      await server.call('POST', '/v1/widget/login/verify', {
        body: { publishable_key: app.publishable_key, email: 'reader@example.com', code },
      }),
      200,
    );
    expect(signedIn.user_key).toMatch(/^tg_uk_/);
  });
});

describe('checkout widget with live payments and no SMTP', () => {
  let server: TestServer;
  let app: App;

  beforeAll(async () => {
    server = await startTestServer(
      { name: 'pglite' },
      {
        env: {
          STRIPE_SECRET_KEY: 'sk_test_widget_0123456789',
          STRIPE_PUBLISHABLE_KEY: 'pk_test_widget_0123456789',
        },
      },
    );
    app = await server.createApp({ name: 'Live app' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('offers Stripe Embedded Checkout and no email sign-in (codes would have nowhere safe to go)', async () => {
    const config = expectStatus(
      await server.call('GET', `/v1/widget/config?publishable_key=${app.publishable_key}`),
      200,
    );
    expect(config).toMatchObject({
      test_mode: false,
      checkout_provider: 'stripe',
      stripe_publishable_key: 'pk_test_widget_0123456789',
      email_login: false,
    });
    const refused = expectError(
      await server.call('POST', '/v1/widget/login/start', {
        body: { publishable_key: app.publishable_key, email: 'x@example.com' },
      }),
      503,
      'unavailable',
    );
    expect(refused.reason).toBe('email_login_disabled');
    const page = await fetch(
      `${server.url}/widget/checkout?pk=${app.publishable_key}&origin=${encodeURIComponent('https://shop.example')}`,
    );
    expect(page.headers.get('content-security-policy')).toContain('https://js.stripe.com');
  });
});

describe('checkout widget with Stripe Embedded Checkout (fake Stripe)', () => {
  const WEBHOOK_SECRET = 'whsec_widget_e2e_0123456789abcdef';
  let fake: FakeStripe;
  let server: TestServer;
  let app: App;

  beforeAll(async () => {
    fake = await startFakeStripe();
    server = await startTestServer(
      { name: 'pglite' },
      {
        env: {
          STRIPE_SECRET_KEY: 'sk_test_widget_e2e_0123456789',
          STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
          STRIPE_API_BASE: fake.baseUrl,
          STRIPE_PUBLISHABLE_KEY: 'pk_test_widget_e2e',
        },
      },
    );
    fake.setWebhook({ url: `${server.url}/v1/webhooks/stripe`, secret: WEBHOOK_SECRET });
    app = await server.createApp({ name: 'Stripe widget app' });
  });
  afterAll(async () => {
    await fake?.close();
    await server?.close();
  });

  it('creates the session the widget mounts (client secret, return to the widget, no forced redirect) and sees it complete', async () => {
    const session = expectStatus(
      await server.call('POST', '/v1/widget/session', { body: { publishable_key: app.publishable_key } }),
      201,
    );
    const widgetUrl = `${server.url}/widget/checkout?pk=${app.publishable_key}&origin=https%3A%2F%2Fshop.example&mode=embedded`;
    const checkout = expectStatus(
      await server.call('POST', '/v1/checkout/sessions', {
        key: session.user_key,
        body: {
          amount_usd: '50.00',
          ui_mode: 'embedded',
          success_url: `${widgetUrl}&status=success&session_id={CHECKOUT_SESSION_ID}`,
          cancel_url: `${widgetUrl}&status=cancelled&session_id={CHECKOUT_SESSION_ID}`,
        },
      }),
      201,
    );
    expect(checkout.client_secret).toEqual(expect.any(String));
    const stripeSession = fake.checkoutSessions.get(checkout.id)!;
    expect(stripeSession).toMatchObject({ ui_mode: 'embedded', redirect_on_completion: 'if_required' });
    expect(stripeSession.return_url).toContain('session_id={CHECKOUT_SESSION_ID}');

    fake.completeCheckoutSession(checkout.id);
    await fake.settle();
    const status = expectStatus(
      await server.call('GET', `/v1/checkout/sessions/${checkout.id}`, { key: session.user_key }),
      200,
    );
    expect(status).toMatchObject({ status: 'completed', purchase: { credits: 5500, bonus_credits: 500 } });
    expect(
      expectStatus(await server.call('GET', '/v1/widget/me', { key: session.user_key }), 200).balance,
    ).toBe(6000);
  });
});
