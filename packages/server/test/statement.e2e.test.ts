/**
 * The customer's statement over real HTTP, on every backend: each line described in words (purchase
 * with dollars paid, gift code, adjustment reason, model and tokens), reserved holds as pending
 * lines, a purchase's receipt (the customer's own only), and the whole statement as a streamed CSV
 * whose formula-like cells are defused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATEMENT_PAGE_ROWS } from '../src/statement/statement-service.ts';
import { testBackends } from './support/databases.ts';
import { expectError, expectStatus } from './support/expectations.ts';
import { startTestServer, type TestServer } from './support/server.ts';

for (const backend of testBackends()) {
  describe(`statement (${backend.name})`, () => {
    let server: TestServer;
    let app: { id: string; secret_key: string; publishable_key: string };

    beforeAll(async () => {
      server = await startTestServer(backend);
      app = await server.createApp({ name: 'Statement app', return_origins: ['https://app.example'] });
    });
    afterAll(async () => {
      await server?.close();
    });

    const buy = async (customer: string, amountUsd: number) => {
      const checkout = expectStatus(
        await server.call('POST', '/v1/checkout/sessions', {
          key: app.secret_key,
          body: {
            customer,
            amount_usd: amountUsd,
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
      return checkout;
    };

    it('describes each line, lists pending holds, gives receipts and streams the CSV', async () => {
      const customer = await server.createCustomer(app.secret_key, 'statement-buyer');
      const other = await server.createCustomer(app.secret_key, 'statement-other');
      await buy(customer.id, 12.5);
      expectStatus(
        await server.call('POST', `/v1/customers/${customer.id}/grants`, {
          key: app.secret_key,
          body: { amount: 5, source: 'adjustment', reason: '=HYPERLINK("x") goodwill' },
        }),
        201,
      );
      expectStatus(
        await server.call('POST', '/v1/charges', {
          key: app.secret_key,
          body: { customer: customer.id, model: 'custom/render', amount: 3 },
        }),
        201,
      );
      const hold = expectStatus(
        await server.call('POST', '/v1/holds', {
          key: app.secret_key,
          body: { customer: customer.id, model: 'custom/render', amount: 2 },
        }),
        201,
      );

      const page = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}/transactions?include_pending=true`, {
          key: customer.user_key,
        }),
        200,
      );
      const [pending, ...posted] = page.data;
      expect(pending).toMatchObject({
        id: hold.id,
        status: 'pending',
        type: 'pending',
        amount: -2,
        summary: 'Reserved for custom/render (pending)',
      });
      const byType = (type: string) => posted.find((row: any) => row.type === type);
      expect(byType('usage')).toMatchObject({ status: 'posted', summary: 'custom/render', amount: -3 });
      expect(byType('adjustment') ?? posted.find((row: any) => row.source === 'adjustment')).toMatchObject({
        summary: '=HYPERLINK("x") goodwill',
      });
      const purchase = byType('purchase');
      expect(purchase.summary).toBe('Credit purchase · $12.50 paid');
      expect(purchase.receipt).toMatch(/^pur_/);
      // Without include_pending (and on later pages) only posted lines.
      const plain = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}/transactions`, { key: app.secret_key }),
        200,
      );
      expect(plain.data.every((row: any) => row.status === 'posted')).toBe(true);
      expectError(
        await server.call('GET', `/v1/customers/${customer.id}/transactions?include_pending=yes`, {
          key: customer.user_key,
        }),
        400,
        'invalid_request',
      );

      const receipt = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}/receipts/${purchase.receipt}`, {
          key: customer.user_key,
        }),
        200,
      );
      expect(receipt).toMatchObject({
        id: purchase.receipt,
        object: 'receipt',
        customer: customer.id,
        app: { id: app.id, name: 'Statement app' },
        status: 'completed',
        amount_paid_cents: 1250,
        currency: 'usd',
        credits: purchase.amount,
      });
      expect(receipt.paid_at).not.toBeNull();
      // Someone else's receipt does not exist for this customer, nor for another user.
      expectError(
        await server.call('GET', `/v1/customers/${other.id}/receipts/${purchase.receipt}`, {
          key: app.secret_key,
        }),
        404,
        'not_found',
      );
      expectError(
        await server.call('GET', `/v1/customers/${customer.id}/receipts/${purchase.receipt}`, {
          key: other.user_key,
        }),
        404,
        'not_found',
      );
      expectError(
        await server.call('GET', `/v1/customers/${customer.id}/receipts/${'x'.repeat(101)}`, {
          key: customer.user_key,
        }),
        400,
        'invalid_request',
      );

      const csv = await fetch(`${server.url}/v1/customers/${customer.id}/transactions?format=csv`, {
        headers: { authorization: `Bearer ${customer.user_key}` },
      });
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(csv.headers.get('content-disposition')).toContain('statement.csv');
      const lines = (await csv.text()).trimEnd().split('\n');
      expect(lines[0]).toBe('id,created_at,status,type,description,model,amount,balance_after');
      expect(lines).toHaveLength(1 + page.data.length);
      expect(lines[1]).toMatch(
        new RegExp(
          `^${hold.id},[^,]+,pending,pending,Reserved for custom/render \\(pending\\),custom/render,-2,$`,
        ),
      );
      // A cell a spreadsheet would run as a formula starts with an apostrophe (and is quoted for its quotes).
      expect(lines.some((line) => line.includes(`"'=HYPERLINK(""x"") goodwill"`))).toBe(true);
      expect(lines.some((line) => line.includes('Credit purchase · $12.50 paid'))).toBe(true);
      // Another customer's statement is not this user's to read.
      const forbidden = await fetch(`${server.url}/v1/customers/${other.id}/transactions?format=csv`, {
        headers: { authorization: `Bearer ${customer.user_key}` },
      });
      expect(forbidden.status).toBeGreaterThanOrEqual(403);
    });

    it("prices each model with the app's share, filtered by type, for a user key only", async () => {
      const sharing = await server.createApp({ name: 'Sharing app', referral_rate: 0.1 });
      const buyer = await server.createCustomer(sharing.secret_key, 'price-reader');
      const catalog = expectStatus(await server.call('GET', '/v1/models'), 200).data;
      const prices = expectStatus(
        await server.call('GET', '/v1/credits/prices', { key: buyer.user_key }),
        200,
      );
      expect(prices.usd_per_credit).toBeGreaterThan(0);
      const media = catalog.find((model: any) => model.pricing.per_call !== undefined && !model.alias_of);
      const priced = prices.data.find((model: any) => model.id === media.id);
      expect(priced.pricing.per_call).toBeCloseTo(media.pricing.per_call * 1.1, 5);
      const videos = expectStatus(
        await server.call('GET', '/v1/credits/prices?type=video', { key: buyer.user_key }),
        200,
      ).data;
      expect(videos.length).toBeGreaterThan(0);
      expect(videos.every((model: any) => model.type === 'video')).toBe(true);
      expectError(
        await server.call('GET', '/v1/credits/prices?type=DROP%20TABLE', { key: buyer.user_key }),
        400,
        'invalid_request',
      );
      expect((await server.call('GET', '/v1/credits/prices', { key: sharing.secret_key })).status).toBe(403);
    });

    it("keeps an app's branding (https only, #rrggbb) and shows it to its users", async () => {
      const branded = await server.createApp({
        name: 'Branded app',
        logo_url: 'https://cdn.app.example/logo.png',
        accent_color: '#0F766E',
      });
      expect(branded).toMatchObject({
        logo_url: 'https://cdn.app.example/logo.png',
        accent_color: '#0f766e',
      });
      const patch = (body: unknown, key = branded.secret_key) =>
        server.call('PATCH', `/v1/apps/${branded.id}`, { key, body });
      expect(expectStatus(await patch({ website_url: 'https://app.example/studio' }), 200).website_url).toBe(
        'https://app.example/studio',
      );
      for (const body of [
        { logo_url: 'http://cdn.app.example/logo.png' },
        { logo_url: 'javascript:alert(1)' },
        { logo_url: 'https://user:pass@cdn.app.example/logo.png' },
        { website_url: 'data:text/html,hi' },
        { accent_color: 'red' },
        { accent_color: '#12345' },
        { accent_color: '#1234567' },
      ]) {
        expectError(await patch(body), 400, 'invalid_request');
      }
      // Another app's key changes nothing here.
      expectError(await patch({ accent_color: '#000000' }, app.secret_key), 404, 'not_found');
      const user = await server.createCustomer(branded.secret_key, 'branded-user');
      expect(expectStatus(await server.call('GET', '/v1/credits/app', { key: user.user_key }), 200)).toEqual({
        object: 'app_branding',
        name: 'Branded app',
        logo_url: 'https://cdn.app.example/logo.png',
        accent_color: '#0f766e',
        website_url: 'https://app.example/studio',
      });
      expect(expectStatus(await patch({ logo_url: null }), 200).logo_url).toBeNull();
      expect((await server.call('GET', '/v1/credits/app', { key: branded.secret_key })).status).toBe(403);
    });

    it('streams a statement longer than one page, every line once, newest first', async () => {
      const long = await server.createCustomer(app.secret_key, 'long-history');
      // Written straight into the history (read-only here): more lines than one page of the export.
      const lines = STATEMENT_PAGE_ROWS + 37;
      await server.database.db.query(
        `insert into ledger_transactions (customer_id, type, amount_micros, balance_after_micros, model, metadata, created_at)
         select $1, 'usage', -1000000, 0, 'custom/render', '{}'::jsonb, now() from generate_series(1, $2::int)`,
        [long.id, lines],
      );
      const response = await fetch(`${server.url}/v1/customers/${long.id}/transactions?format=csv`, {
        headers: { authorization: `Bearer ${app.secret_key}` },
      });
      expect(response.status).toBe(200);
      const rows = (await response.text()).trimEnd().split('\n').slice(1);
      const ids = rows.map((row) => Number(row.split(',')[0]!.replace('txn_', '')));
      const usage = rows.filter((row) => row.includes(',posted,usage,custom/render,custom/render,-1,'));
      expect(usage).toHaveLength(lines);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual([...ids].sort((left, right) => right - left));
    });
  });
}
