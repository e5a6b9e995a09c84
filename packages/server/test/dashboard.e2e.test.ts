/**
 * The endpoints behind the customer dashboard and the partner view, over real HTTP on every backend:
 * portal links (single use, hashed at rest, expiring, ending in a session key that itself ends),
 * OpenRouter OAuth PKCE against a local fake, the usage report, the app's customers, partner stats and
 * recent usage, and the pages and bundles themselves.
 */
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeOpenRouter, startFakeOpenRouter } from './fakes/fake-openrouter.ts';
import { testBackends } from './support/databases.ts';
import { expectError, expectStatus } from './support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './support/server.ts';

type App = { id: string; secret_key: string; publishable_key: string };

const DAY = 86_400_000;

for (const backend of testBackends()) {
  describe(`dashboard endpoints (${backend.name})`, () => {
    let server: TestServer;
    let openRouter: FakeOpenRouter;
    let app: App;
    let otherApp: App;
    let startedAt: Date;

    beforeAll(async () => {
      openRouter = await startFakeOpenRouter();
      server = await startTestServer(backend, {
        env: { OPENROUTER_BASE_URL: `${openRouter.baseUrl}/api/v1` },
      });
      startedAt = server.clock.now();
      app = await server.createApp({ name: 'Dashboard app', referral_rate: 0.2 });
      otherApp = await server.createApp({ name: 'Other app' });
    });
    afterAll(async () => {
      await server?.close();
      await openRouter?.close();
    });

    describe('portal links', () => {
      it('signs a customer in once, with a token kept only as its hash', async () => {
        const customer = await server.createCustomer(app.secret_key, 'portal-1');
        const link = expectStatus(
          await server.call('POST', `/v1/customers/portal-1/portal-links`, { key: app.secret_key }),
          201,
        );
        expect(link.url).toMatch(new RegExp(`^${server.url}/dashboard/#portal=tg_portal_`));
        const expiresIn = new Date(link.expires_at).getTime() - server.clock.now().getTime();
        expect(expiresIn).toBe(15 * 60 * 1000);
        const token = new URL(link.url).hash.slice('#portal='.length);

        const rows = await server.database.db.query<Record<string, unknown>>(
          'select * from portal_links where customer_id = $1',
          [customer.id],
        );
        expect(rows).toHaveLength(1);
        expect(JSON.stringify(rows)).not.toContain(token);

        const session = expectStatus(
          await server.call('POST', '/v1/portal/exchange', { body: { token } }),
          200,
        );
        expect(session.customer).toBe(customer.id);
        expect(session.user_key).toMatch(/^tg_uk_/);
        const balance = expectStatus(
          await server.call('GET', '/v1/credits/balance', { key: session.user_key }),
          200,
        );
        expect(balance.customer).toBe(customer.id);

        expectError(
          await server.call('POST', '/v1/portal/exchange', { body: { token } }),
          409,
          'invalid_state',
        );
        expectError(
          await server.call('POST', '/v1/portal/exchange', {
            body: { token: 'tg_portal_nonexistent_token' },
          }),
          404,
          'not_found',
        );
      });

      it('expires the link after 15 minutes and the session after 12 hours', async () => {
        await server.createCustomer(app.secret_key, 'portal-2');
        const stale = expectStatus(
          await server.call('POST', '/v1/customers/portal-2/portal-links', { key: app.secret_key, body: {} }),
          201,
        );
        const fresh = expectStatus(
          await server.call('POST', '/v1/customers/portal-2/portal-links', {
            key: app.secret_key,
            body: { expires_in_seconds: 3600 },
          }),
          201,
        );
        server.clock.advance(16 * 60 * 1000);
        const token = (url: string) => new URL(url).hash.slice('#portal='.length);
        const refused = expectError(
          await server.call('POST', '/v1/portal/exchange', { body: { token: token(stale.url) } }),
          409,
          'invalid_state',
        );
        expect(refused.message).toMatch(/expired/);
        const session = expectStatus(
          await server.call('POST', '/v1/portal/exchange', { body: { token: token(fresh.url) } }),
          200,
        );
        expect(new Date(session.expires_at).getTime() - server.clock.now().getTime()).toBe(12 * 3600 * 1000);
        expectStatus(await server.call('GET', '/v1/credits/balance', { key: session.user_key }), 200);

        server.clock.advance(12 * 3600 * 1000 + 1000);
        // The key store caches a resolved key for a few seconds; a fresh server-side lookup sees the end.
        server.tollgate.services.keys.forget();
        expectError(
          await server.call('GET', '/v1/credits/balance', { key: session.user_key }),
          401,
          'invalid_user_key',
        );
        server.clock.set(startedAt);
      });

      it('is for the app that owns the customer, with sane lifetimes', async () => {
        const customer = await server.createCustomer(app.secret_key, 'portal-3');
        expectError(
          await server.call('POST', `/v1/customers/${customer.id}/portal-links`, {
            key: otherApp.secret_key,
          }),
          404,
          'not_found',
        );
        expectError(
          await server.call('POST', `/v1/customers/${customer.id}/portal-links`, { key: customer.user_key }),
          403,
          'forbidden',
        );
        expectError(
          await server.call('POST', `/v1/customers/${customer.id}/portal-links`, {
            key: app.secret_key,
            body: { expires_in_seconds: 5 },
          }),
          400,
          'invalid_request',
        );
        expectStatus(
          await server.call('POST', `/v1/customers/${customer.id}/portal-links`, { key: ADMIN_KEY }),
          201,
        );
      });
    });

    describe('Connect via OpenRouter', () => {
      /** What the browser does: follow the authorize URL to the fake, which redirects back with a code. */
      async function authorizeInBrowser(url: string): Promise<URL> {
        const response = await fetch(url, { redirect: 'manual' });
        expect(response.status).toBe(302);
        return new URL(response.headers.get('location')!);
      }

      it('runs the PKCE flow and stores the key as the customer’s openrouter key', async () => {
        const customer = await server.createCustomer(app.secret_key, 'or-1');
        const authorization = expectStatus(
          await server.call('POST', `/v1/customers/${customer.id}/openrouter/authorize`, {
            key: customer.user_key,
          }),
          201,
        );
        const authorizeUrl = new URL(authorization.url);
        expect(authorizeUrl.origin + authorizeUrl.pathname).toBe(`${openRouter.baseUrl}/auth`);
        expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
        expect(authorizeUrl.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
        const callbackUrl = new URL(authorizeUrl.searchParams.get('callback_url')!);
        expect(callbackUrl.origin + callbackUrl.pathname).toBe(`${server.url}/dashboard/openrouter/callback`);
        expect(callbackUrl.searchParams.get('state')).toBe(authorization.state);

        // The verifier never left the server: not in the URL, sealed in the database.
        const [stored] = await server.database.db.query<{ code_verifier_sealed: string; state_hash: string }>(
          'select code_verifier_sealed, state_hash from oauth_states where customer_id = $1',
          [customer.id],
        );
        expect(stored!.state_hash).not.toBe(authorization.state);

        const callback = await authorizeInBrowser(authorization.url);
        expect(callback.pathname).toBe('/dashboard/openrouter/callback');
        const code = callback.searchParams.get('code')!;
        const state = callback.searchParams.get('state')!;

        // Another customer cannot finish someone else's flow.
        const intruder = await server.createCustomer(app.secret_key, 'or-intruder');
        expectError(
          await server.call('POST', `/v1/customers/${intruder.id}/openrouter/exchange`, {
            key: intruder.user_key,
            body: { code, state },
          }),
          409,
          'invalid_state',
        );

        const saved = expectStatus(
          await server.call('POST', `/v1/customers/${customer.id}/openrouter/exchange`, {
            key: customer.user_key,
            body: { code, state },
          }),
          200,
        );
        expect(saved.provider).toBe('openrouter');
        // Stored like any other key: only after OpenRouter confirmed it (GET /api/v1/key).
        expect(openRouter.keyChecks).toBeGreaterThanOrEqual(1);
        const issued = openRouter.issuedKeys.at(-1)!;
        expect(saved.masked_key).not.toContain(issued);
        expect(openRouter.exchanges.at(-1)).toMatchObject({ code, code_challenge_method: 'S256' });
        expect(String(openRouter.exchanges.at(-1)!.code_verifier)).toMatch(/^[A-Za-z0-9_-]{43}$/);

        const masked = expectStatus(
          await server.call('GET', `/v1/customers/${customer.id}/provider-keys/openrouter`, {
            key: customer.user_key,
          }),
          200,
        );
        expect(masked.masked_key).toBe(saved.masked_key);
        const hold = expectStatus(
          await server.call('POST', '/v1/holds', {
            key: app.secret_key,
            body: { customer: customer.id, model: 'llama-3.3-70b-versatile' },
          }),
          201,
        );
        expect(hold.funding).toBe('byok');

        // A state is single use.
        expectError(
          await server.call('POST', `/v1/customers/${customer.id}/openrouter/exchange`, {
            key: customer.user_key,
            body: { code, state },
          }),
          409,
          'invalid_state',
        );
      });

      it('stores nothing when OpenRouter does not confirm the key, and refuses the flow for an app without BYOK', async () => {
        const customer = await server.createCustomer(app.secret_key, 'or-revoked');
        const authorization = expectStatus(
          await server.call('POST', `/v1/customers/${customer.id}/openrouter/authorize`, {
            key: customer.user_key,
          }),
          201,
        );
        const callback = await authorizeInBrowser(authorization.url);
        openRouter.rejectNextKeyCheck();
        const refused = expectError(
          await server.call('POST', `/v1/customers/${customer.id}/openrouter/exchange`, {
            key: customer.user_key,
            body: { code: callback.searchParams.get('code'), state: callback.searchParams.get('state') },
          }),
          400,
          'invalid_request',
        );
        expect(refused.reason).toBe('provider_key_rejected');
        expectError(
          await server.call('GET', `/v1/customers/${customer.id}/provider-keys/openrouter`, {
            key: customer.user_key,
          }),
          404,
          'not_found',
        );

        const strict = await server.createApp({ name: 'No BYOK', allow_byok: false });
        const member = await server.createCustomer(strict.secret_key, 'or-strict');
        const forbidden = expectError(
          await server.call('POST', `/v1/customers/${member.id}/openrouter/authorize`, {
            key: member.user_key,
          }),
          403,
          'forbidden',
        );
        expect(forbidden.reason).toBe('byok_not_allowed');
      });

      it('reports a refused code exchange as an upstream error and an old state as expired', async () => {
        const customer = await server.createCustomer(app.secret_key, 'or-2');
        const authorization = expectStatus(
          await server.call('POST', `/v1/customers/${customer.id}/openrouter/authorize`, {
            key: customer.user_key,
            body: { callback_url: 'http://localhost:9999/dashboard/openrouter/callback' },
          }),
          201,
        );
        const callback = new URL(new URL(authorization.url).searchParams.get('callback_url')!);
        expect(callback.origin).toBe('http://localhost:9999');
        expectError(
          await server.call('POST', `/v1/customers/${customer.id}/openrouter/exchange`, {
            key: customer.user_key,
            body: { code: 'code_forged', state: authorization.state },
          }),
          502,
          'upstream_error',
        );

        const late = expectStatus(
          await server.call('POST', `/v1/customers/${customer.id}/openrouter/authorize`, {
            key: customer.user_key,
          }),
          201,
        );
        const lateCallback = await authorizeInBrowser(late.url);
        server.clock.advance(11 * 60 * 1000);
        expectError(
          await server.call('POST', `/v1/customers/${customer.id}/openrouter/exchange`, {
            key: customer.user_key,
            body: { code: lateCallback.searchParams.get('code'), state: late.state },
          }),
          409,
          'invalid_state',
        );
        server.clock.set(startedAt);
        expectError(
          await server.call('POST', `/v1/customers/${customer.id}/openrouter/authorize`, {
            key: customer.user_key,
            body: { callback_url: 'javascript:alert(1)' },
          }),
          400,
          'invalid_request',
        );
      });
    });

    describe('reports', () => {
      let usageCustomer: { id: string; user_key: string };
      const spent: Record<string, number> = {};
      let imageModel: string;
      let videoModel: string;

      beforeAll(async () => {
        const models = expectStatus(await server.call('GET', '/v1/models'), 200).data as {
          id: string;
          type: string;
          provider: string;
        }[];
        imageModel = models.find((model) => model.type === 'image' && model.provider === 'fal')!.id;
        videoModel = models.find((model) => model.type === 'video' && model.provider === 'fal')!.id;
        usageCustomer = await server.createCustomer(app.secret_key, 'usage-1');
        expectStatus(
          await server.call('POST', `/v1/customers/${usageCustomer.id}/grants`, {
            key: app.secret_key,
            body: { amount: 10_000, source: 'promo' },
          }),
          201,
        );
        const charge = async (daysAgo: number, model: string) => {
          server.clock.set(new Date(startedAt.getTime() - daysAgo * DAY));
          const result = expectStatus(
            await server.call('POST', '/v1/charges', {
              key: app.secret_key,
              body: { customer: usageCustomer.id, model },
            }),
            201,
          );
          return result.amount as number;
        };
        spent.image =
          (await charge(2, imageModel)) + (await charge(2, imageModel)) + (await charge(0, imageModel));
        spent.video = await charge(1, videoModel);
        spent.old = await charge(45, videoModel);
        server.clock.set(startedAt);
      });

      it('sums a customer’s usage per day by model type', async () => {
        const report = expectStatus(
          await server.call('GET', `/v1/customers/${usageCustomer.id}/usage/daily?days=30`, {
            key: usageCustomer.user_key,
          }),
          200,
        );
        expect(report.data).toHaveLength(30);
        expect(report.to).toBe(startedAt.toISOString().slice(0, 10));
        expect(report.types).toEqual(['image', 'video']);
        expect(report.totals_by_type.image).toBeCloseTo(spent.image!, 6);
        expect(report.totals_by_type.video).toBeCloseTo(spent.video!, 6);
        const twoDaysAgo = new Date(startedAt.getTime() - 2 * DAY).toISOString().slice(0, 10);
        const day = report.data.find((row: any) => row.date === twoDaysAgo);
        expect(day.by_type.image).toBeGreaterThan(0);
        expect(report.by_model.find((row: any) => row.model === imageModel).count).toBe(3);

        const longer = expectStatus(
          await server.call('GET', `/v1/customers/usage-1/usage/daily?days=60`, { key: app.secret_key }),
          200,
        );
        expect(longer.totals_by_type.video).toBeCloseTo(spent.video! + spent.old!, 6);

        const stranger = await server.createCustomer(app.secret_key, 'usage-stranger');
        expectError(
          await server.call('GET', `/v1/customers/${usageCustomer.id}/usage`, { key: stranger.user_key }),
          404,
          'not_found',
        );
        expectError(
          await server.call('GET', `/v1/customers/${usageCustomer.id}/usage/daily?days=0`, {
            key: app.secret_key,
          }),
          400,
          'invalid_request',
        );
      });

      it('lists the app’s customers with balances, paginated and searchable', async () => {
        const mine = await server.createCustomer(otherApp.secret_key, 'listed-a');
        await server.createCustomer(otherApp.secret_key, 'listed-b');
        await server.createCustomer(otherApp.secret_key, 'listed-c');
        const page = expectStatus(
          await server.call('GET', '/v1/customers?limit=2', { key: otherApp.secret_key }),
          200,
        );
        expect(page.data).toHaveLength(2);
        expect(page.has_more).toBe(true);
        const all = expectStatus(
          await server.call('GET', '/v1/customers?limit=50', { key: otherApp.secret_key }),
          200,
        );
        expect(all.data.map((row: any) => row.external_id).sort()).toEqual([
          'listed-a',
          'listed-b',
          'listed-c',
        ]);
        const row = all.data.find((candidate: any) => candidate.id === mine.id);
        expect(row).toMatchObject({ balance: mine.balance, available: mine.balance, pending: 0 });
        const found = expectStatus(
          await server.call('GET', '/v1/customers?q=listed-b', { key: otherApp.secret_key }),
          200,
        );
        expect(found.data.map((candidate: any) => candidate.external_id)).toEqual(['listed-b']);
        const wildcard = expectStatus(
          await server.call('GET', '/v1/customers?q=%25', { key: otherApp.secret_key }),
          200,
        );
        expect(wildcard.data).toEqual([]);

        const operator = expectStatus(
          await server.call('GET', `/v1/customers?limit=200&app=${otherApp.id}`, { key: ADMIN_KEY }),
          200,
        );
        expect(operator.data).toHaveLength(3);
        const everyone = expectStatus(
          await server.call('GET', '/v1/customers?limit=200', { key: ADMIN_KEY }),
          200,
        );
        expect(everyone.data.length).toBeGreaterThan(3);
        expectError(await server.call('GET', '/v1/customers', { key: mine.user_key }), 403, 'forbidden');
      });

      it('reports revenue, referral earnings and recent usage per app', async () => {
        const session = expectStatus(
          await server.call('POST', '/v1/checkout/sessions', {
            key: app.secret_key,
            body: { customer: usageCustomer.id, amount_usd: 25 },
          }),
          201,
        );
        expectStatus(
          await server.call('POST', `${new URL(session.url).pathname}/pay`, {
            headers: { accept: 'application/json' },
          }),
          200,
        );

        const stats = expectStatus(
          await server.call('GET', '/v1/partner/stats?days=30', { key: app.secret_key }),
          200,
        );
        expect(stats.data).toHaveLength(30);
        expect(stats.totals.purchases_usd).toBe(25);
        expect(stats.totals.usage_charged).toBeCloseTo(spent.image! + spent.video!, 6);
        expect(stats.totals.usage_count).toBe(4);
        // A 20% referral share on top of the provider price: share = charged × 0.2 / 1.2.
        expect(stats.totals.referral_share).toBeCloseTo(
          stats.totals.usage_charged - stats.totals.provider_cost,
          6,
        );
        expect(stats.totals.referral_share).toBeCloseTo((stats.totals.usage_charged * 0.2) / 1.2, 4);
        const today = stats.data.at(-1);
        expect(today.purchases_usd).toBe(25);

        const others = expectStatus(
          await server.call('GET', '/v1/partner/stats', { key: otherApp.secret_key }),
          200,
        );
        expect(others.totals).toMatchObject({ usage_charged: 0, purchases_usd: 0, referral_share: 0 });

        const recent = expectStatus(
          await server.call('GET', '/v1/partner/usage?limit=3', { key: app.secret_key }),
          200,
        );
        expect(recent.data).toHaveLength(3);
        expect(recent.data[0]).toMatchObject({
          customer: usageCustomer.id,
          external_id: 'usage-1',
          model: imageModel,
          type: 'image',
        });
        expect(recent.data[0].referral_share).toBeGreaterThan(0);
        expect(
          expectStatus(await server.call('GET', '/v1/partner/usage', { key: otherApp.secret_key }), 200).data,
        ).toEqual([]);

        const account = expectStatus(
          await server.call('GET', '/v1/partner/account', { key: app.secret_key }),
          200,
        );
        expect(account).toMatchObject({
          kind: 'app',
          app: { id: app.id, name: 'Dashboard app', referral_rate: 0.2 },
        });
        expect(
          expectStatus(await server.call('GET', '/v1/partner/account', { key: ADMIN_KEY }), 200).kind,
        ).toBe('admin');
        expectError(
          await server.call('GET', '/v1/partner/stats', { key: usageCustomer.user_key }),
          403,
          'forbidden',
        );
      });
    });

    describe('pages', () => {
      it('serves the dashboard, the partner view and billing-gate.js, gzipped and small', async () => {
        const sizes: Record<string, { raw: number; gzip: number }> = {};
        for (const [page, script] of [
          ['/dashboard/', '/dashboard/assets/dashboard.js'],
          ['/partner/', '/partner/assets/partner.js'],
        ] as const) {
          const response = await fetch(`${server.url}${page}`);
          expect(response.status).toBe(200);
          expect(response.headers.get('content-type')).toMatch(/text\/html/);
          expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
          const html = await response.text();
          // This server simulates payments (no Stripe keys, loopback): every page says so.
          expect(html).toContain('TEST MODE');
          const src = new RegExp(`src="(${script.replace(/\//g, '\\/')}\\?v=[0-9a-f]{16})"`).exec(html)?.[1];
          expect(src, html).toBeTruthy();
          const bundle = await fetch(`${server.url}${src}`, { headers: { 'accept-encoding': 'gzip' } });
          expect(bundle.status).toBe(200);
          expect(bundle.headers.get('cache-control')).toContain('immutable');
          expect(bundle.headers.get('content-encoding')).toBe('gzip');
          // fetch has already decoded the body; what travelled is the stored gzip of these bytes.
          const decoded = Buffer.from(await bundle.arrayBuffer());
          const name = script.includes('partner') ? 'partner' : 'dashboard';
          const built = await server.tollgate.services.dashboardAssets.get(name);
          expect(decoded.equals(built.code)).toBe(true);
          expect(gunzipSync(built.gzip).equals(built.code)).toBe(true);
          sizes[page] = {
            raw: built.code.length + html.length,
            gzip: built.gzip.length + Buffer.byteLength(html),
          };
        }
        const gate = await fetch(`${server.url}/billing-gate.js`);
        expect(gate.status).toBe(200);
        expect(gate.headers.get('content-type')).toMatch(/javascript/);
        expect(await gate.text()).toContain('TollgateBillingGate');
        const gateBundle = await server.tollgate.services.dashboardAssets.get('billing-gate');
        sizes['/billing-gate.js'] = { raw: gateBundle.code.length, gzip: gateBundle.gzip.length };
        for (const [page, size] of Object.entries(sizes)) {
          console.log(
            `first load ${page}: ${(size.raw / 1024).toFixed(1)} kB raw, ${(size.gzip / 1024).toFixed(1)} kB gzipped`,
          );
          expect(size.gzip).toBeLessThan(200 * 1024);
        }

        const callback = await fetch(`${server.url}/dashboard/openrouter/callback?code=x&state=y`);
        expect(callback.status).toBe(200);
        const redirect = await fetch(`${server.url}/dashboard`, { redirect: 'manual' });
        expect(redirect.status).toBe(308);
        expect(redirect.headers.get('location')).toBe('/dashboard/');
        const notModified = await fetch(`${server.url}/billing-gate.js`, {
          headers: { 'if-none-match': `"${gateBundle.hash}"` },
        });
        expect(notModified.status).toBe(304);
      });
    });
  });
}
