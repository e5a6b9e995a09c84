/**
 * The billing gate over real HTTP, on every backend: the whole flow an app runs (customer, hold,
 * capture, void, charge, history), catalog pricing with the referral share, the error table,
 * idempotent retries, bring-your-own keys and run limits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger } from '../src/ledger/audit.ts';
import { type FakeUpstream, startFakeUpstream } from './fakes/fake-upstream.ts';
import { testBackends } from './support/databases.ts';
import {
  expectError,
  expectHistoryReplays,
  expectStatus,
  metricValue,
  moneySnapshot,
} from './support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './support/server.ts';

const BYOK_FAL_KEY = 'fal_live_0123456789abcdefSECRET';

for (const backend of testBackends()) {
  describe(`billing gate over HTTP (${backend.name})`, () => {
    let server: TestServer;
    let app: { id: string; secret_key: string; publishable_key: string };
    // The provider the BYOK tests' keys are checked with before they are stored.
    let fal: FakeUpstream;

    beforeAll(async () => {
      fal = await startFakeUpstream({ acceptedKeys: [BYOK_FAL_KEY] });
      server = await startTestServer(backend, { env: { FAL_BASE_URL: fal.url } });
      app = await server.createApp({ name: 'Gate app', referral_rate: 0.1 });
    });
    afterAll(async () => {
      await server?.close();
      await fal?.close();
    });

    const post = (path: string, body: unknown, headers: Record<string, string> = {}, key = app.secret_key) =>
      server.call('POST', path, { key, body, headers });

    it('creates apps and customers: signup bonus once, user key once', async () => {
      expect(app.id).toMatch(/^app_/);
      expect(app.publishable_key).toMatch(/^tg_pk_/);
      expect(app.secret_key).toMatch(/^tg_sk_/);
      const created = await server.call('POST', '/v1/apps', {
        key: ADMIN_KEY,
        body: { name: 'Shape app', referral_rate: 0.25 },
      });
      const body = expectStatus(created, 201);
      expect(body).toMatchObject({ name: 'Shape app', referral_rate: 0.25 });
      expect(typeof body.id).toBe('string');

      const first = await post('/v1/customers', { external_id: 'signup-user', email: 'signup@example.com' });
      const customer = expectStatus(first, 201);
      expect(customer).toMatchObject({ external_id: 'signup-user', balance: 500 });
      expect(customer.id).toMatch(/^cus_/);
      expect(customer.user_key).toMatch(/^tg_uk_/);

      const again = await post('/v1/customers', { external_id: 'signup-user' });
      const repeated = expectStatus(again, 200);
      expect(repeated.id).toBe(customer.id);
      expect(repeated.balance).toBe(500);
      expect(repeated.user_key).toBeUndefined();

      const history = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}/transactions`, { key: app.secret_key }),
        200,
      );
      expect(history.data).toHaveLength(1);
      expect(history.data[0]).toMatchObject({ type: 'signup_bonus', amount: 500, balance_after: 500 });
      expect(history.has_more).toBe(false);

      // The user key works at once.
      const balance = await server.call('GET', '/v1/credits/balance', {
        headers: { 'x-user-key': customer.user_key },
      });
      expect(expectStatus(balance, 200)).toMatchObject({ balance: 500, currency: 'credits' });
    });

    it('10 concurrent creations of one external_id: one customer, one bonus, one user key', async () => {
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => post('/v1/customers', { external_id: 'racing-user' })),
      );
      const created = responses.filter((response) => response.status === 201);
      expect(created).toHaveLength(1);
      expect(created[0]!.body.user_key).toMatch(/^tg_uk_/);
      for (const response of responses) {
        expect([200, 201]).toContain(response.status);
        expect(response.body).toMatchObject({ id: created[0]!.body.id, balance: 500 });
        if (response.status === 200) expect(response.body.user_key).toBeUndefined();
      }
      const history = expectStatus(
        await server.call('GET', `/v1/customers/${created[0]!.body.id}/transactions`, {
          key: app.secret_key,
        }),
        200,
      );
      expect(history.data.map((row: any) => row.type)).toEqual(['signup_bonus']);
      const keys = expectStatus(
        await server.call('GET', `/v1/customers/${created[0]!.body.id}/user-keys`, { key: app.secret_key }),
        200,
      );
      expect(keys.data).toHaveLength(1);
    });

    it('grants: expiring grants show in the breakdown; an expiry in the past is refused', async () => {
      const customer = await server.createCustomer(app.secret_key, 'grant-user');
      const expiresAt = new Date(server.clock.now().getTime() + 86_400_000).toISOString();
      const grant = expectStatus(
        await post(`/v1/customers/${customer.id}/grants`, {
          amount: 25.5,
          source: 'gift',
          expires_at: expiresAt,
          reason: 'welcome',
        }),
        201,
      );
      expect(grant).toMatchObject({ amount: 25.5, source: 'gift', balance: 525.5 });
      const view = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}`, { key: app.secret_key }),
        200,
      );
      expect(view.balance).toBe(525.5);
      expect(view.grants).toContainEqual(
        expect.objectContaining({
          id: grant.id,
          source: 'gift',
          amount: 25.5,
          remaining: 25.5,
          expires_at: expiresAt,
        }),
      );
      const past = new Date(server.clock.now().getTime() - 1000).toISOString();
      expectError(
        await post(`/v1/customers/${customer.id}/grants`, { amount: 1, source: 'gift', expires_at: past }),
        400,
        'invalid_request',
      );
      expectError(
        await post(`/v1/customers/${customer.id}/grants`, { amount: 0, source: 'gift' }),
        400,
        'invalid_request',
      );
      // A negative adjustment debits; it cannot take more than is available.
      const debit = expectStatus(
        await post(`/v1/customers/${customer.id}/grants`, { amount: -0.5, source: 'adjustment' }),
        201,
      );
      expect(debit.balance).toBe(525);
      const tooMuch = expectError(
        await post(`/v1/customers/${customer.id}/grants`, { amount: -1000, source: 'adjustment' }),
        402,
        'insufficient_credits',
      );
      expect(tooMuch).toMatchObject({ required: 1000, available: 525 });
    });

    it('runs the whole flow: hold, capture less, void, charge, history and breakdown', async () => {
      const customer = await server.createCustomer(app.secret_key, 'flow-user');
      const now = server.clock.now().getTime();

      // A hold priced from the catalog: fal-ai/flux/schnell 0.3 credits + 10% referral = 0.33.
      const hold = expectStatus(
        await post('/v1/holds', { customer: 'flow-user', model: 'fal-ai/flux/schnell' }),
        201,
      );
      expect(hold).toMatchObject({ status: 'held', amount: 0.33, funding: 'credits' });
      expect(hold.id).toMatch(/^hold_/);
      expect(new Date(hold.expires_at).getTime()).toBe(now + 900_000);
      let view = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}`, { key: app.secret_key }),
        200,
      );
      expect(view).toMatchObject({ balance: 500, pending: 0.33, available: 499.67 });
      const held = expectStatus(
        await server.call('GET', `/v1/holds/${hold.id}`, { key: app.secret_key }),
        200,
      );
      expect(held).toMatchObject({ id: hold.id, status: 'held', amount: 0.33, funding: 'credits' });

      const captured = expectStatus(await post(`/v1/holds/${hold.id}/capture`, {}), 200);
      expect(captured).toMatchObject({ id: hold.id, status: 'captured', amount: 0.33 });
      expect(captured.transaction_id).toMatch(/^txn_/);

      // Per-unit pricing: veo3.1 is 10 credits per second; 5 s held, 3 s captured.
      const video = expectStatus(
        await post('/v1/holds', { customer: customer.id, model: 'fal-ai/veo3.1', quantity: 5 }),
        201,
      );
      expect(video.amount).toBe(55);
      const videoCapture = expectStatus(await post(`/v1/holds/${video.id}/capture`, { quantity: 3 }), 200);
      expect(videoCapture).toMatchObject({ status: 'captured', amount: 33 });

      // Token pricing: gpt-4o 250 in / 1000 out / 125 cached per million.
      const chat = expectStatus(
        await post('/v1/holds', {
          customer: customer.id,
          model: 'openai/gpt-4o',
          usage: { input_tokens: 1000, output_tokens: 1000 },
        }),
        201,
      );
      expect(chat.amount).toBe(1.375); // (0.25 + 1) × 1.1
      const chatCapture = expectStatus(
        await post(`/v1/holds/${chat.id}/capture`, {
          usage: { input_tokens: 400, output_tokens: 500, cached_input_tokens: 200 },
        }),
        200,
      );
      expect(chatCapture.amount).toBe(0.6875); // (0.1 + 0.5 + 0.025) × 1.1

      // A failed job: void costs nothing.
      const failed = expectStatus(
        await post('/v1/holds', { customer: customer.id, model: 'fal-ai/flux/schnell' }),
        201,
      );
      view = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}`, { key: app.secret_key }),
        200,
      );
      expect(view).toMatchObject({ balance: 465.9825, pending: 0.33, available: 465.6525 });
      const voided = expectStatus(await post(`/v1/holds/${failed.id}/void`, {}), 200);
      expect(voided).toMatchObject({ id: failed.id, status: 'voided' });
      view = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}`, { key: app.secret_key }),
        200,
      );
      expect(view).toMatchObject({ balance: 465.9825, pending: 0, available: 465.9825 });

      // One-shot charge.
      const charge = expectStatus(
        await post('/v1/charges', { customer: customer.id, model: 'fal-ai/flux/schnell' }),
        201,
      );
      expect(charge).toMatchObject({ status: 'captured', amount: 0.33 });
      expect(charge.transaction_id).toMatch(/^txn_/);

      // Capture never goes above the hold: 2 s held (22), 10 s reported → 22.
      const clip = expectStatus(
        await post('/v1/holds', { customer: customer.id, model: 'fal-ai/veo3.1', quantity: 2 }),
        201,
      );
      expect(clip.amount).toBe(22);
      const overCapture = expectStatus(await post(`/v1/holds/${clip.id}/capture`, { quantity: 10 }), 200);
      expect(overCapture.amount).toBe(22);
      const overAmount = expectStatus(
        await post('/v1/holds', { customer: customer.id, model: 'fal-ai/flux/schnell' }),
        201,
      );
      expect(
        expectStatus(await post(`/v1/holds/${overAmount.id}/capture`, { amount: 1000 }), 200).amount,
      ).toBe(0.33);

      // An explicit amount replaces the catalog price.
      const explicit = expectStatus(
        await post('/v1/charges', { customer: customer.id, model: 'fal-ai/flux/schnell', amount: 7.5 }),
        201,
      );
      expect(explicit.amount).toBe(7.5);

      view = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}`, { key: app.secret_key }),
        200,
      );
      const expectedBalance = 500 - 0.33 - 33 - 0.6875 - 0.33 - 22 - 0.33 - 7.5;
      expect(view.balance).toBeCloseTo(expectedBalance, 6);
      expect(view).toMatchObject({ id: customer.id, external_id: 'flow-user', pending: 0 });
      expect(view.available).toBeCloseTo(expectedBalance, 6);
      expect(view.grants).toHaveLength(1);
      expect(view.grants[0]).toMatchObject({ source: 'promo', amount: 500, expires_at: null });
      expect(view.grants[0].remaining).toBeCloseTo(expectedBalance, 6);
      expect(typeof view.grants[0].id).toBe('string');
      expect(view).toHaveProperty('subscription');

      const history = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}/transactions?limit=50`, {
          key: app.secret_key,
        }),
        200,
      );
      expect(history.has_more).toBe(false);
      expect(history.data.map((row: any) => [row.type, row.amount])).toEqual([
        ['usage', -7.5],
        ['usage', -0.33],
        ['usage', -22],
        ['usage', -0.33],
        ['usage', -0.6875],
        ['usage', -33],
        ['usage', -0.33],
        ['signup_bonus', 500],
      ]);
      expectHistoryReplays(history.data);
      expect(history.data[0].balance_after).toBeCloseTo(expectedBalance, 6);
      for (const row of history.data) {
        expect(row.id).toMatch(/^txn_/);
        expect(typeof row.created_at).toBe('string');
      }
      const videoRow = history.data.find((row: any) => row.amount === -33);
      expect(videoRow).toMatchObject({
        model: 'fal-ai/veo3.1',
        provider_cost: 30,
        referral_share: 3,
        total: 33,
      });
      const chatRow = history.data.find((row: any) => row.amount === -0.6875);
      expect(chatRow).toMatchObject({
        model: 'openai/gpt-4o',
        provider_cost: 0.625,
        referral_share: 0.0625,
        total: 0.6875,
      });
      const chargeRow = history.data.find((row: any) => row.amount === -0.33 && row.hold_id === charge.id);
      expect(chargeRow).toMatchObject({
        model: 'fal-ai/flux/schnell',
        provider_cost: 0.3,
        referral_share: 0.03,
        total: 0.33,
      });
      const explicitRow = history.data[0];
      expect(explicitRow).toMatchObject({ provider_cost: 7.5, referral_share: 0, total: 7.5 });

      // Paging.
      const page = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}/transactions?limit=3&offset=2`, {
          key: app.secret_key,
        }),
        200,
      );
      expect(page.data.map((row: any) => row.id)).toEqual(history.data.slice(2, 5).map((row: any) => row.id));
      expect(page.has_more).toBe(true);

      const audit = await auditLedger(server.tollgate.db, server.clock);
      expect(audit.problems).toEqual([]);
    });

    it('captures and voids racing on one hold: one of them wins, once', async () => {
      const customer = await server.createCustomer(app.secret_key, 'race-user');
      for (let round = 0; round < 3; round += 1) {
        const hold = expectStatus(
          await post('/v1/holds', { customer: customer.id, model: 'fal-ai/veo3.1', quantity: 1 }),
          201,
        );
        const responses = await Promise.all(
          Array.from({ length: 16 }, (_, index) =>
            index % 2 === 0
              ? post(`/v1/holds/${hold.id}/capture`, { quantity: 0.5 })
              : post(`/v1/holds/${hold.id}/void`, {}),
          ),
        );
        const captures = responses.filter((_, index) => index % 2 === 0);
        const voids = responses.filter((_, index) => index % 2 === 1);
        const state = expectStatus(
          await server.call('GET', `/v1/holds/${hold.id}`, { key: app.secret_key }),
          200,
        ).status;
        if (state === 'captured') {
          for (const response of captures)
            expect(expectStatus(response, 200)).toMatchObject({ status: 'captured', amount: 5.5 });
          expect(new Set(captures.map((response) => response.body.transaction_id)).size).toBe(1);
          for (const response of voids) expectError(response, 409, 'invalid_state');
        } else {
          expect(state).toBe('voided');
          for (const response of voids) expect(expectStatus(response, 200).status).toBe('voided');
          for (const response of captures) expectError(response, 409, 'invalid_state');
        }
      }
      const view = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}`, { key: app.secret_key }),
        200,
      );
      const history = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}/transactions`, { key: app.secret_key }),
        200,
      );
      const usage = history.data.filter((row: any) => row.type === 'usage');
      expect(view.pending).toBe(0);
      expect(view.balance).toBeCloseTo(500 - 5.5 * usage.length, 6);
      for (const row of usage) expect(row.amount).toBe(-5.5);
      expectHistoryReplays(history.data);
    });

    it('prices unknown models at the default, and extends holds', async () => {
      const customer = await server.createCustomer(app.secret_key, 'pricing-user');
      const unknown = expectStatus(
        await post('/v1/holds', { customer: customer.id, model: 'acme/never-heard-of-it' }),
        201,
      );
      expect(unknown.amount).toBe(5.5); // default per_call 5 credits + 10%
      expect(unknown.provider_cost).toBe(5);
      expect(expectStatus(await post(`/v1/holds/${unknown.id}/void`, {}), 200).status).toBe('voided');

      const plainApp = await server.createApp({ name: 'No referral' });
      const plain = await server.createCustomer(plainApp.secret_key, 'plain-user');
      const unpriced = expectStatus(
        await server.call('POST', '/v1/charges', {
          key: plainApp.secret_key,
          body: { customer: plain.id, model: 'acme/never-heard-of-it' },
        }),
        201,
      );
      expect(unpriced.amount).toBe(5);

      const hold = expectStatus(
        await post('/v1/holds', { customer: customer.id, model: 'fal-ai/flux/schnell' }),
        201,
      );
      server.clock.advance(60_000);
      const extended = expectStatus(
        await post(`/v1/holds/${hold.id}/extend`, { timeout_seconds: 3600 }),
        200,
      );
      expect(extended).toMatchObject({ id: hold.id, status: 'held', amount: 0.33 });
      expect(new Date(extended.expires_at).getTime()).toBe(server.clock.now().getTime() + 3_600_000);
      const fetched = expectStatus(
        await server.call('GET', `/v1/holds/${hold.id}`, { key: app.secret_key }),
        200,
      );
      expect(fetched.expires_at).toBe(extended.expires_at);
      expectStatus(await post(`/v1/holds/${hold.id}/void`, {}), 200);
      expectError(await post(`/v1/holds/${hold.id}/extend`, { timeout_seconds: 60 }), 409, 'invalid_state');
    });

    describe('error table', () => {
      let customerId: string;
      let userKey: string;
      beforeAll(async () => {
        const customer = await server.createCustomer(app.secret_key, 'errors-user');
        customerId = customer.id;
        userKey = customer.user_key;
      });

      it('400 invalid_request for bad bodies', async () => {
        const before = await moneySnapshot(server, app.secret_key, customerId);
        const bad: unknown[] = [
          '{not json',
          [],
          'just a string',
          {},
          { customer: customerId },
          { model: 'fal-ai/flux/schnell' },
          { customer: customerId, model: 'fal-ai/flux/schnell', amount: 'abc' },
          { customer: customerId, model: 'fal-ai/flux/schnell', amount: 0.1234567 },
          { customer: customerId, model: 'fal-ai/flux/schnell', amount: -1 },
          { customer: customerId, model: 'fal-ai/flux/schnell', amount: 1e308 },
          { customer: customerId, model: 'fal-ai/flux/schnell', quantity: -2 },
          { customer: customerId, model: 'fal-ai/veo3.1', quantity: '99999999999999999999999' },
          { customer: customerId, model: 'openai/gpt-4o', usage: { input_tokens: -5 } },
          { customer: customerId, model: 'openai/gpt-4o', usage: { input_tokens: 1.5 } },
          { customer: customerId, model: 'openai/gpt-4o', usage: { bogus_tokens: 1 } },
          { customer: customerId, model: 'fal-ai/flux/schnell', max_run_cost: -1, run_id: 'r' },
          { customer: 42, model: 'fal-ai/flux/schnell' },
          { customer: customerId, model: '' },
        ];
        for (const body of bad) {
          const response = await post('/v1/holds', body);
          expectError(response, 400, 'invalid_request');
          const charge = await post('/v1/charges', body);
          expectError(charge, 400, 'invalid_request');
        }
        expectError(
          await post(`/v1/customers/${customerId}/grants`, { amount: 'lots' }),
          400,
          'invalid_request',
        );
        expectError(
          await post(`/v1/customers/${customerId}/grants`, {
            amount: 5,
            source: 'promo',
            reason: 'x'.repeat(600),
          }),
          400,
          'invalid_request',
        );
        expectError(
          await post(`/v1/customers/${customerId}/grants`, { amount: -5, source: 'promo' }),
          400,
          'invalid_request',
        );
        expectError(await post('/v1/customers', { external_id: '' }), 400, 'invalid_request');
        expectError(
          await post('/v1/customers', { external_id: 'e', email: 'not an email' }),
          400,
          'invalid_request',
        );
        expectError(
          await post(
            '/v1/holds',
            { customer: customerId, model: 'fal-ai/flux/schnell' },
            { 'idempotency-key': ' ' },
          ),
          400,
          'invalid_request',
        );
        expectError(
          await server.call('GET', `/v1/customers/${customerId}/transactions?limit=0`, {
            key: app.secret_key,
          }),
          400,
          'invalid_request',
        );
        expectError(
          await server.call('GET', `/v1/customers/${customerId}/transactions?limit=abc`, {
            key: app.secret_key,
          }),
          400,
          'invalid_request',
        );
        const text = await server.call('POST', '/v1/holds', {
          key: app.secret_key,
          body: 'customer=x',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        expectError(text, 400, 'invalid_request');
        expect(await moneySnapshot(server, app.secret_key, customerId)).toEqual(before);
      });

      it('400 invalid_request for text the database cannot store and for malformed URLs (not a 500)', async () => {
        const before = await moneySnapshot(server, app.secret_key, customerId);
        const open = expectStatus(
          await post('/v1/holds', { customer: customerId, model: 'fal-ai/flux/schnell' }),
          201,
        );
        const nul = 'a\u0000b';
        const lone = 'half \ud83d of an emoji';
        for (const text of [nul, lone]) {
          expectError(await post('/v1/customers', { external_id: text }), 400, 'invalid_request');
          expectError(
            await post('/v1/holds', { customer: text, model: 'fal-ai/flux/schnell' }),
            400,
            'invalid_request',
          );
          expectError(
            await post('/v1/holds', {
              customer: customerId,
              model: 'fal-ai/flux/schnell',
              metadata: { note: text },
            }),
            400,
            'invalid_request',
          );
          expectError(
            await post('/v1/holds', {
              customer: customerId,
              model: 'fal-ai/flux/schnell',
              metadata: { [text]: 1 },
            }),
            400,
            'invalid_request',
          );
          expectError(
            await post('/v1/charges', { customer: customerId, model: text }),
            400,
            'invalid_request',
          );
          expectError(await post(`/v1/holds/${open.id}/void`, { reason: text }), 400, 'invalid_request');
          expectError(
            await post(`/v1/customers/${customerId}/grants`, { amount: 1, source: 'promo', reason: text }),
            400,
            'invalid_request',
          );
          expectError(
            await server.call('PUT', `/v1/customers/${customerId}/provider-keys/fal`, {
              key: app.secret_key,
              body: { key: `fal-key-${text}` },
            }),
            400,
            'invalid_request',
          );
        }
        expectError(
          await server.call('GET', '/v1/customers/a%00b', { key: app.secret_key }),
          400,
          'invalid_request',
        );
        expectError(
          await server.call('GET', '/v1/holds/%00', { key: app.secret_key }),
          400,
          'invalid_request',
        );
        expectError(
          await server.call('GET', `/v1/billing/catalog?customer=%00`, { key: app.secret_key }),
          400,
          'invalid_request',
        );
        // Malformed percent-encoding answers in the native shape, not the framework's.
        expectError(
          await server.call('GET', '/v1/customers/%', { key: app.secret_key }),
          400,
          'invalid_request',
        );
        expectError(
          await server.call('GET', '/v1/customers/%E0%A4%A', { key: app.secret_key }),
          400,
          'invalid_request',
        );
        // Deeply nested JSON is refused before it reaches a jsonb column.
        let deep: unknown = 1;
        for (let level = 0; level < 100; level += 1) deep = { d: deep };
        expectError(
          await post('/v1/holds', { customer: customerId, model: 'fal-ai/flux/schnell', metadata: { deep } }),
          400,
          'invalid_request',
        );
        // Unicode and emoji that are well formed are fine.
        const emoji = expectStatus(
          await post('/v1/holds', {
            customer: customerId,
            model: 'fal-ai/flux/schnell',
            metadata: { note: 'ünïcødé 😀 日本語' },
          }),
          201,
        );
        expectStatus(await post(`/v1/holds/${emoji.id}/void`, { reason: 'résumé 😀' }), 200);
        expect(
          expectStatus(await server.call('GET', `/v1/holds/${open.id}`, { key: app.secret_key }), 200).status,
        ).toBe('held');
        expectStatus(await post(`/v1/holds/${open.id}/void`, {}), 200);
        expect(await moneySnapshot(server, app.secret_key, customerId)).toEqual(before);
      });

      it('401 missing_api_key, invalid_api_key, invalid_user_key', async () => {
        const body = { customer: customerId, model: 'fal-ai/flux/schnell' };
        expectError(await server.call('POST', '/v1/holds', { body }), 401, 'missing_api_key');
        expectError(await server.call('GET', `/v1/customers/${customerId}`), 401, 'missing_api_key');
        expectError(await server.call('GET', '/v1/credits/balance'), 401, 'missing_api_key');
        expectError(
          await server.call('POST', '/v1/holds', { body, headers: { authorization: 'Basic abc' } }),
          401,
          'missing_api_key',
        );
        expectError(
          await server.call('POST', '/v1/holds', { key: 'tg_sk_not_a_real_key', body }),
          401,
          'invalid_api_key',
        );
        expectError(
          await server.call('POST', '/v1/apps', { key: 'wrong-admin-key', body: { name: 'x' } }),
          401,
          'invalid_api_key',
        );
        expectError(
          await server.call('POST', '/v1/holds', { key: 'tg_uk_not_a_real_key', body }),
          401,
          'invalid_user_key',
        );
        expectError(
          await server.call('GET', '/v1/credits/balance', { headers: { 'x-user-key': 'tg_uk_nope' } }),
          401,
          'invalid_user_key',
        );
        expectError(
          await server.call('GET', '/v1/credits/history', { headers: { 'x-api-key': 'tg_uk_nope' } }),
          401,
          'invalid_user_key',
        );
      });

      it('402 insufficient_credits with required and available in credits', async () => {
        const error = expectError(
          await post('/v1/holds', { customer: customerId, model: 'fal-ai/veo3.1', quantity: 60 }),
          402,
          'insufficient_credits',
        );
        expect(error.required).toBe(660);
        expect(error.available).toBe(500);
        const charge = expectError(
          await post('/v1/charges', { customer: customerId, model: 'x/unknown', amount: 500.000001 }),
          402,
          'insufficient_credits',
        );
        expect(charge.required).toBe(500.000001);
        expect(charge.available).toBe(500);
        // A user key hits the same wall.
        const asUser = expectError(
          await server.call('POST', '/v1/holds', {
            headers: { 'x-user-key': userKey },
            body: { customer: customerId, model: 'm', amount: 1000 },
          }),
          402,
          'insufficient_credits',
        );
        expect(asUser).toMatchObject({ required: 1000, available: 500 });
        const metrics = await server.call('GET', '/metrics', { key: ADMIN_KEY });
        expect(metricValue(metrics.body, 'tollgate_insufficient_credits_total')).toBeGreaterThanOrEqual(3);
      });

      it('402 run_limit_exceeded', async () => {
        const body = {
          customer: customerId,
          model: 'fal-ai/flux/schnell',
          run_id: 'limit-run',
          max_run_cost: 0.5,
        };
        const first = expectStatus(await post('/v1/holds', body), 201);
        const error = expectError(await post('/v1/holds', body), 402, 'run_limit_exceeded');
        expect(error).toMatchObject({
          max_run_cost: 0.5,
          run_total: 0.33,
          required: 0.33,
          run_id: 'limit-run',
        });
        expectError(await post('/v1/charges', body), 402, 'run_limit_exceeded');
        expectStatus(await post(`/v1/holds/${first.id}/void`, {}), 200);
      });

      it('403 model_not_allowed and forbidden', async () => {
        const limited = await server.createApp({ name: 'Limited', allowed_models: ['fal-ai/flux/schnell'] });
        const customer = await server.createCustomer(limited.secret_key, 'limited-user');
        const allowed = await server.call('POST', '/v1/charges', {
          key: limited.secret_key,
          body: { customer: customer.id, model: 'fal-ai/flux/schnell' },
        });
        expectStatus(allowed, 201);
        const refused = expectError(
          await server.call('POST', '/v1/holds', {
            key: limited.secret_key,
            body: { customer: customer.id, model: 'openai/gpt-4o' },
          }),
          403,
          'model_not_allowed',
        );
        expect(refused.model).toBe('openai/gpt-4o');
        expectError(
          await server.call('POST', '/v1/charges', {
            key: limited.secret_key,
            body: { customer: customer.id, model: 'acme/unknown', amount: 1 },
          }),
          403,
          'model_not_allowed',
        );
        expectError(
          await server.call('POST', '/v1/holds', {
            headers: { 'x-user-key': customer.user_key },
            body: { customer: customer.id, model: 'openai/gpt-4o' },
          }),
          403,
          'model_not_allowed',
        );

        expectError(
          await server.call('POST', '/v1/customers', { key: userKey, body: { external_id: 'sneaky' } }),
          403,
          'forbidden',
        );
        expectError(
          await server.call('POST', '/v1/customers', {
            headers: { 'x-user-key': userKey },
            body: { external_id: 'sneaky' },
          }),
          403,
          'forbidden',
        );
        expectError(
          await server.call('POST', `/v1/customers/${customerId}/grants`, {
            key: userKey,
            body: { amount: 100, source: 'promo' },
          }),
          403,
          'forbidden',
        );
        expectError(
          await server.call('POST', `/v1/customers/${customerId}/user-keys`, { key: userKey, body: {} }),
          403,
          'forbidden',
        );
        expectError(
          await server.call('POST', '/v1/apps', { key: app.secret_key, body: { name: 'nope' } }),
          403,
          'forbidden',
        );
        expectError(
          await server.call('GET', '/v1/credits/balance', { key: app.secret_key }),
          403,
          'forbidden',
        );
      });

      it('404 not_found for unknown holds, customers and routes', async () => {
        expectError(await post('/v1/holds/hold_doesnotexist/capture', {}), 404, 'not_found');
        expectError(await post('/v1/holds/hold_doesnotexist/void', {}), 404, 'not_found');
        expectError(
          await server.call('GET', '/v1/holds/hold_doesnotexist', { key: app.secret_key }),
          404,
          'not_found',
        );
        expectError(
          await server.call('GET', '/v1/customers/cus_doesnotexist', { key: app.secret_key }),
          404,
          'not_found',
        );
        expectError(
          await post('/v1/holds', { customer: 'nobody-here', model: 'fal-ai/flux/schnell' }),
          404,
          'not_found',
        );
        expectError(
          await post('/v1/charges', { customer: 'cus_nobody', model: 'fal-ai/flux/schnell' }),
          404,
          'not_found',
        );
        expectError(
          await post('/v1/customers/cus_nobody/grants', { amount: 1, source: 'promo' }),
          404,
          'not_found',
        );
        expectError(await server.call('GET', '/v1/no-such-route', {}), 404, 'not_found');
      });

      it('409 idempotency_conflict and invalid_state', async () => {
        const headers = { 'idempotency-key': 'conflict-key-1' };
        expectStatus(
          await post('/v1/holds', { customer: customerId, model: 'fal-ai/flux/schnell' }, headers),
          201,
        );
        expectError(
          await post('/v1/holds', { customer: customerId, model: 'fal-ai/veo3.1' }, headers),
          409,
          'idempotency_conflict',
        );
        expectStatus(
          await post(
            '/v1/charges',
            { customer: customerId, model: 'fal-ai/flux/schnell' },
            { 'idempotency-key': 'conflict-key-2' },
          ),
          201,
        );
        expectError(
          await post(
            '/v1/charges',
            { customer: customerId, model: 'fal-ai/flux/schnell', amount: 1 },
            { 'idempotency-key': 'conflict-key-2' },
          ),
          409,
          'idempotency_conflict',
        );
        expectStatus(
          await post(
            `/v1/customers/${customerId}/grants`,
            { amount: 1, source: 'promo' },
            { 'idempotency-key': 'conflict-key-3' },
          ),
          201,
        );
        expectError(
          await post(
            `/v1/customers/${customerId}/grants`,
            { amount: 2, source: 'promo' },
            { 'idempotency-key': 'conflict-key-3' },
          ),
          409,
          'idempotency_conflict',
        );

        const hold = expectStatus(
          await post('/v1/holds', { customer: customerId, model: 'fal-ai/flux/schnell' }),
          201,
        );
        expectStatus(await post(`/v1/holds/${hold.id}/void`, {}), 200);
        const state = expectError(await post(`/v1/holds/${hold.id}/capture`, {}), 409, 'invalid_state');
        expect(state.status).toBe('voided');
        // Voiding again is harmless; voiding a captured hold is not.
        expect(expectStatus(await post(`/v1/holds/${hold.id}/void`, {}), 200).status).toBe('voided');
        const other = expectStatus(
          await post('/v1/holds', { customer: customerId, model: 'fal-ai/flux/schnell' }),
          201,
        );
        expectStatus(await post(`/v1/holds/${other.id}/capture`, {}), 200);
        expectError(await post(`/v1/holds/${other.id}/void`, {}), 409, 'invalid_state');
      });
    });

    describe('idempotent retries', () => {
      let customerId: string;
      beforeAll(async () => {
        customerId = (await server.createCustomer(app.secret_key, 'retry-user')).id;
      });

      it('replays holds, charges, captures and grants with exactly one movement', async () => {
        const holdBody = { customer: customerId, model: 'fal-ai/veo3.1', quantity: 2 };
        const first = await post('/v1/holds', holdBody, { 'idempotency-key': 'retry-hold' });
        const second = await post('/v1/holds', holdBody, { 'idempotency-key': 'retry-hold' });
        expect(second.status).toBe(first.status);
        expect(second.body).toEqual(first.body);
        let view = expectStatus(
          await server.call('GET', `/v1/customers/${customerId}`, { key: app.secret_key }),
          200,
        );
        expect(view.pending).toBe(22);

        const capture1 = await post(
          `/v1/holds/${first.body.id}/capture`,
          { quantity: 1 },
          { 'idempotency-key': 'retry-capture' },
        );
        const capture2 = await post(
          `/v1/holds/${first.body.id}/capture`,
          { quantity: 1 },
          { 'idempotency-key': 'retry-capture' },
        );
        expect(expectStatus(capture1, 200).amount).toBe(11);
        expect(capture2.status).toBe(200);
        expect(capture2.body).toEqual(capture1.body);
        expectError(
          await post(
            `/v1/holds/${first.body.id}/capture`,
            { quantity: 2 },
            { 'idempotency-key': 'retry-capture' },
          ),
          409,
          'idempotency_conflict',
        );

        const chargeBody = { customer: customerId, model: 'fal-ai/flux/schnell' };
        const charge1 = await post('/v1/charges', chargeBody, { 'idempotency-key': 'retry-charge' });
        const charge2 = await post('/v1/charges', chargeBody, { 'idempotency-key': 'retry-charge' });
        expect(expectStatus(charge1, 201).amount).toBe(0.33);
        expect(charge2.status).toBe(201);
        expect(charge2.body).toEqual(charge1.body);

        const grantBody = { amount: 12.5, source: 'promo', reason: 'make good' };
        const grant1 = await post(`/v1/customers/${customerId}/grants`, grantBody, {
          'idempotency-key': 'retry-grant',
        });
        const grant2 = await post(`/v1/customers/${customerId}/grants`, grantBody, {
          'idempotency-key': 'retry-grant',
        });
        expect(expectStatus(grant1, 201).amount).toBe(12.5);
        expect(grant2.status).toBe(201);
        expect(grant2.body).toEqual(grant1.body);

        view = expectStatus(
          await server.call('GET', `/v1/customers/${customerId}`, { key: app.secret_key }),
          200,
        );
        expect(view.balance).toBeCloseTo(500 - 11 - 0.33 + 12.5, 6);
        expect(view.pending).toBe(0);
        const history = expectStatus(
          await server.call('GET', `/v1/customers/${customerId}/transactions`, { key: app.secret_key }),
          200,
        );
        expect(history.data.map((row: any) => row.amount)).toEqual([12.5, -0.33, -11, 500]);
        expectHistoryReplays(history.data);
      });

      it('10 concurrent identical requests make one movement', async () => {
        const before = expectStatus(
          await server.call('GET', `/v1/customers/${customerId}`, { key: app.secret_key }),
          200,
        );
        const holdBody = { customer: customerId, model: 'fal-ai/veo3.1', quantity: 1 };
        const holds = await Promise.all(
          Array.from({ length: 10 }, () => post('/v1/holds', holdBody, { 'idempotency-key': 'storm-hold' })),
        );
        for (const response of holds) {
          expect(response.status).toBe(201);
          expect(response.body).toEqual(holds[0]!.body);
        }
        let view = expectStatus(
          await server.call('GET', `/v1/customers/${customerId}`, { key: app.secret_key }),
          200,
        );
        expect(view.pending).toBe(11);

        const captures = await Promise.all(
          Array.from({ length: 10 }, () =>
            post(`/v1/holds/${holds[0]!.body.id}/capture`, {}, { 'idempotency-key': 'storm-capture' }),
          ),
        );
        for (const response of captures) expect(response.body).toEqual(captures[0]!.body);

        const charges = await Promise.all(
          Array.from({ length: 10 }, () =>
            post(
              '/v1/charges',
              { customer: customerId, model: 'fal-ai/flux/schnell' },
              { 'idempotency-key': 'storm-charge' },
            ),
          ),
        );
        for (const response of charges) {
          expect(response.status).toBe(201);
          expect(response.body).toEqual(charges[0]!.body);
        }
        const grants = await Promise.all(
          Array.from({ length: 10 }, () =>
            post(
              `/v1/customers/${customerId}/grants`,
              { amount: 3, source: 'gift' },
              { 'idempotency-key': 'storm-grant' },
            ),
          ),
        );
        for (const response of grants) {
          expect(response.status).toBe(201);
          expect(response.body).toEqual(grants[0]!.body);
        }
        view = expectStatus(
          await server.call('GET', `/v1/customers/${customerId}`, { key: app.secret_key }),
          200,
        );
        expect(view.balance).toBeCloseTo(before.balance - 11 - 0.33 + 3, 6);
        expect(view.pending).toBe(0);
        const history = expectStatus(
          await server.call('GET', `/v1/customers/${customerId}/transactions`, { key: app.secret_key }),
          200,
        );
        expect(history.data.slice(0, 3).map((row: any) => row.amount)).toEqual([3, -0.33, -11]);
        expect(history.data).toHaveLength(7);
        expectHistoryReplays(history.data);
      });

      it('keys are scoped to the caller: another app reusing a key is independent', async () => {
        const other = await server.createApp({ name: 'Other app' });
        const otherCustomer = await server.createCustomer(other.secret_key, 'retry-user');
        const mine = await post(
          '/v1/charges',
          { customer: customerId, model: 'fal-ai/flux/schnell' },
          { 'idempotency-key': 'shared-key' },
        );
        const theirs = await server.call('POST', '/v1/charges', {
          key: other.secret_key,
          body: { customer: otherCustomer.id, model: 'fal-ai/flux/schnell' },
          headers: { 'idempotency-key': 'shared-key' },
        });
        expect(expectStatus(mine, 201).customer).toBe(customerId);
        expect(expectStatus(theirs, 201).customer).toBe(otherCustomer.id);
        expect(theirs.body.id).not.toBe(mine.body.id);
      });

      it('a hold past its timeout cannot be captured, even before the sweeper runs', async () => {
        const customer = await server.createCustomer(app.secret_key, 'late-capture');
        const hold = await server.call('POST', '/v1/holds', {
          key: app.secret_key,
          body: { customer: customer.id, model: 'fal-ai/flux/schnell', timeout_seconds: 30 },
        });
        server.clock.advance(31_000);
        const late = await server.call('POST', `/v1/holds/${hold.body.id}/capture`, {
          key: app.secret_key,
          body: {},
        });
        expect(late.status).toBe(409);
        expect(late.body.error.code).toBe('invalid_state');
        const after = await server.call('GET', `/v1/customers/${customer.id}`, { key: app.secret_key });
        expect(after.body).toMatchObject({ balance: 500, pending: 0, available: 500 });
        const view = await server.call('GET', `/v1/holds/${hold.body.id}`, { key: app.secret_key });
        expect(view.body.status).toBe('voided');
      });

      it('replays a customer creation (with its one-time user key) and refuses the key with another body', async () => {
        const headers = { 'idempotency-key': 'create-retry-user' };
        const first = await server.call('POST', '/v1/customers', {
          key: app.secret_key,
          body: { external_id: 'lost-answer' },
          headers,
        });
        const retry = await server.call('POST', '/v1/customers', {
          key: app.secret_key,
          body: { external_id: 'lost-answer' },
          headers,
        });
        expect(expectStatus(first, 201).user_key).toMatch(/^tg_uk_/);
        expect(expectStatus(retry, 201)).toEqual(first.body);
        const other = await server.call('POST', '/v1/customers', {
          key: app.secret_key,
          body: { external_id: 'someone-else' },
          headers,
        });
        expect(other.status).toBe(409);
        expect(other.body.error.code).toBe('idempotency_conflict');
        const listed = await server.call('GET', `/v1/customers/${first.body.id}/transactions`, {
          key: app.secret_key,
        });
        expect(listed.body.data.filter((row: any) => row.type === 'signup_bonus')).toHaveLength(1);
      });
    });

    describe('bring your own key', () => {
      const FAL_KEY = BYOK_FAL_KEY;

      it('stores keys masked, funds holds by key, reveals once, coexists with credits', async () => {
        const customer = await server.createCustomer(app.secret_key, 'byok-user');
        const path = `/v1/customers/${customer.id}/provider-keys/fal`;
        expectError(await server.call('GET', path, { key: app.secret_key }), 404, 'not_found');
        const stored = await server.call('PUT', path, { key: app.secret_key, body: { key: FAL_KEY } });
        expect(expectStatus(stored, 200)).toMatchObject({ provider: 'fal' });
        expect(JSON.stringify(stored.body)).not.toContain(FAL_KEY);
        const shown = await server.call('GET', path, { key: app.secret_key });
        expect(expectStatus(shown, 200)).toMatchObject({ provider: 'fal', masked_key: expect.any(String) });
        expect(JSON.stringify(shown.body)).not.toContain(FAL_KEY);
        expect(JSON.stringify(shown.body)).not.toContain('0123456789abcdef');
        const listed = await server.call('GET', `/v1/customers/${customer.id}/provider-keys`, {
          headers: { 'x-user-key': customer.user_key },
        });
        expect(expectStatus(listed, 200).data).toHaveLength(1);
        expect(JSON.stringify(listed.body)).not.toContain(FAL_KEY);

        const before = await moneySnapshot(server, app.secret_key, customer.id);
        const hold = expectStatus(
          await post('/v1/holds', { customer: customer.id, model: 'fal-ai/flux/schnell' }),
          201,
        );
        expect(hold.funding).toBe('byok');
        expect(await moneySnapshot(server, app.secret_key, customer.id)).toEqual(before);

        const revealed = expectStatus(
          await server.call('GET', `/v1/holds/${hold.id}/provider-key`, { key: app.secret_key }),
          200,
        );
        expect(revealed).toMatchObject({ provider: 'fal', key: FAL_KEY });
        expectError(
          await server.call('GET', `/v1/holds/${hold.id}/provider-key`, { key: app.secret_key }),
          409,
          'invalid_state',
        );
        // The user key cannot read provider keys through a hold.
        expectError(
          await server.call('GET', `/v1/holds/${hold.id}/provider-key`, {
            headers: { 'x-user-key': customer.user_key },
          }),
          403,
          'forbidden',
        );
        const captured = expectStatus(await post(`/v1/holds/${hold.id}/capture`, {}), 200);
        expect(captured).toMatchObject({ status: 'captured', amount: 0, funding: 'byok' });
        const byokCharge = expectStatus(
          await post('/v1/charges', { customer: customer.id, model: 'fal-ai/veo3.1', quantity: 4 }),
          201,
        );
        expect(byokCharge).toMatchObject({ status: 'captured', amount: 0, funding: 'byok' });
        expect(await moneySnapshot(server, app.secret_key, customer.id)).toEqual(before);

        // A credit-funded hold has no key to reveal.
        const chat = expectStatus(
          await post('/v1/holds', {
            customer: customer.id,
            model: 'openai/gpt-4o',
            usage: { input_tokens: 1000, output_tokens: 0 },
          }),
          201,
        );
        expect(chat).toMatchObject({ funding: 'credits', amount: 0.275 });
        expectError(
          await server.call('GET', `/v1/holds/${chat.id}/provider-key`, { key: app.secret_key }),
          409,
          'invalid_state',
        );
        expect(expectStatus(await post(`/v1/holds/${chat.id}/capture`, {}), 200).amount).toBe(0.275);

        const removed = await server.call('DELETE', path, { key: app.secret_key });
        expect(expectStatus(removed, 200)).toMatchObject({ provider: 'fal', deleted: true });
        expectError(await server.call('DELETE', path, { key: app.secret_key }), 404, 'not_found');
        const afterRemoval = expectStatus(
          await post('/v1/holds', { customer: customer.id, model: 'fal-ai/flux/schnell' }),
          201,
        );
        expect(afterRemoval).toMatchObject({ funding: 'credits', amount: 0.33 });
        expectStatus(await post(`/v1/holds/${afterRemoval.id}/capture`, {}), 200);
        const after = await moneySnapshot(server, app.secret_key, customer.id);
        expect(after.balance).toBeCloseTo(before.balance - 0.275 - 0.33, 6);

        const metrics = await server.call('GET', '/metrics', { key: ADMIN_KEY });
        expect(metricValue(metrics.body, 'tollgate_holds_total', { funding: 'byok' })).toBeGreaterThanOrEqual(
          1,
        );
      });

      it('refuses a key the provider does not accept, an unknown provider and a key with spaces; stores nothing', async () => {
        const customer = await server.createCustomer(app.secret_key, 'byok-refused');
        const path = (provider: string) => `/v1/customers/${customer.id}/provider-keys/${provider}`;
        const refused = expectError(
          await server.call('PUT', path('fal'), {
            key: app.secret_key,
            body: { key: 'fal_made_up_key_123456' },
          }),
          400,
          'invalid_request',
        );
        expect(refused).toMatchObject({ reason: 'provider_key_rejected', provider: 'fal', param: 'key' });
        // The fake quotes the key it refused, as providers do: the answer must not.
        expect(JSON.stringify(refused)).not.toContain('fal_made_up_key_123456');
        expectError(
          await server.call('PUT', path('mystery'), { key: app.secret_key, body: { key: BYOK_FAL_KEY } }),
          400,
          'invalid_request',
        );
        expectError(
          await server.call('PUT', path('fal'), {
            key: app.secret_key,
            body: { key: 'fal key with spaces' },
          }),
          400,
          'invalid_request',
        );
        expectError(await server.call('GET', path('fal'), { key: app.secret_key }), 404, 'not_found');
        const hold = expectStatus(
          await post('/v1/holds', { customer: customer.id, model: 'fal-ai/flux/schnell' }),
          201,
        );
        expect(hold.funding).toBe('credits');
        expectStatus(await post(`/v1/holds/${hold.id}/void`, {}), 200);
      });

      it('an app that forbids BYOK: new keys refused, keys stored earlier ignored, open byok holds keep their key', async () => {
        const strict = await server.createApp({ name: 'Strict app' });
        const customer = await server.createCustomer(strict.secret_key, 'byok-then-forbidden');
        const path = `/v1/customers/${customer.id}/provider-keys/fal`;
        expectStatus(
          await server.call('PUT', path, { key: strict.secret_key, body: { key: BYOK_FAL_KEY } }),
          200,
        );
        const earlier = expectStatus(
          await post(
            '/v1/holds',
            { customer: customer.id, model: 'fal-ai/flux/schnell' },
            {},
            strict.secret_key,
          ),
          201,
        );
        expect(earlier.funding).toBe('byok');
        expectStatus(
          await server.call('PATCH', `/v1/apps/${strict.id}`, {
            key: ADMIN_KEY,
            body: { allow_byok: false },
          }),
          200,
        );
        // The app's policy is cached for a few seconds per node; this server dropped its copy on PATCH.
        const forbidden = expectError(
          await server.call('PUT', path, {
            headers: { 'x-user-key': customer.user_key },
            body: { key: BYOK_FAL_KEY },
          }),
          403,
          'forbidden',
        );
        expect(forbidden.reason).toBe('byok_not_allowed');
        const now = expectStatus(
          await post(
            '/v1/holds',
            { customer: customer.id, model: 'fal-ai/flux/schnell' },
            {},
            strict.secret_key,
          ),
          201,
        );
        expect(now).toMatchObject({ funding: 'credits', amount: 0.3 });
        const charge = expectStatus(
          await post(
            '/v1/charges',
            { customer: customer.id, model: 'fal-ai/flux/schnell' },
            {},
            strict.secret_key,
          ),
          201,
        );
        expect(charge).toMatchObject({ funding: 'credits', amount: 0.3 });
        // The hold placed before the change no longer hands out the customer's key: void it, hold again.
        expectError(
          await server.call('GET', `/v1/holds/${earlier.id}/provider-key`, { key: strict.secret_key }),
          403,
          'forbidden',
        );
        expectStatus(await post(`/v1/holds/${earlier.id}/void`, {}, {}, strict.secret_key), 200);
        expectStatus(await post(`/v1/holds/${now.id}/capture`, {}, {}, strict.secret_key), 200);
        const view = expectStatus(
          await server.call('GET', `/v1/customers/${customer.id}`, { key: strict.secret_key }),
          200,
        );
        expect(view).toMatchObject({ balance: 499.4, pending: 0 });
      });

      it('a key removed while a hold is open cannot be revealed', async () => {
        const customer = await server.createCustomer(app.secret_key, 'byok-removed');
        const path = `/v1/customers/${customer.id}/provider-keys/fal`;
        expectStatus(
          await server.call('PUT', path, {
            headers: { 'x-user-key': customer.user_key },
            body: { key: FAL_KEY },
          }),
          200,
        );
        const hold = expectStatus(
          await post('/v1/holds', { customer: customer.id, model: 'fal-ai/flux/schnell' }),
          201,
        );
        expect(hold.funding).toBe('byok');
        expectStatus(await server.call('DELETE', path, { key: app.secret_key }), 200);
        expectError(
          await server.call('GET', `/v1/holds/${hold.id}/provider-key`, { key: app.secret_key }),
          409,
          'invalid_state',
        );
        expectStatus(await post(`/v1/holds/${hold.id}/void`, {}), 200);
      });
    });

    describe('run limits', () => {
      it('20 concurrent holds against max_run_cost 5: exactly 5 pass, totals follow capture and void', async () => {
        const customer = await server.createCustomer(app.secret_key, 'run-user');
        const body = {
          customer: customer.id,
          model: 'fal-ai/flux/schnell',
          amount: 1,
          run_id: 'run-20',
          max_run_cost: 5,
        };
        const responses = await Promise.all(Array.from({ length: 20 }, () => post('/v1/holds', body)));
        const passed = responses.filter((response) => response.status === 201);
        expect(passed).toHaveLength(5);
        for (const response of responses) {
          if (response.status === 201) expect(response.body).toMatchObject({ status: 'held', amount: 1 });
          else expect(expectError(response, 402, 'run_limit_exceeded').max_run_cost).toBe(5);
        }
        let view = expectStatus(
          await server.call('GET', `/v1/customers/${customer.id}`, { key: app.secret_key }),
          200,
        );
        expect(view.pending).toBe(5);

        // Capture two for half their amount and void one: the run now counts 0.5 + 0.5 + 2 held = 3.
        const [a, b, c] = passed.map((response) => response.body.id as string);
        expect(expectStatus(await post(`/v1/holds/${a}/capture`, { amount: 0.5 }), 200).amount).toBe(0.5);
        expect(expectStatus(await post(`/v1/holds/${b}/capture`, { amount: 0.5 }), 200).amount).toBe(0.5);
        expectStatus(await post(`/v1/holds/${c}/void`, {}), 200);

        const more = await Promise.all(Array.from({ length: 6 }, () => post('/v1/holds', body)));
        expect(more.filter((response) => response.status === 201)).toHaveLength(2);
        for (const response of more.filter((r) => r.status !== 201)) {
          expect(expectError(response, 402, 'run_limit_exceeded').run_total).toBe(5);
        }
        const last = expectError(
          await post('/v1/holds', { ...body, amount: 0.000001 }),
          402,
          'run_limit_exceeded',
        );
        expect(last).toMatchObject({ run_total: 5, max_run_cost: 5, required: 0.000001 });
        // Another run of the same customer is independent.
        expectStatus(await post('/v1/holds', { ...body, run_id: 'run-other' }), 201);

        view = expectStatus(
          await server.call('GET', `/v1/customers/${customer.id}`, { key: app.secret_key }),
          200,
        );
        expect(view.pending).toBe(5);
        expect(view.balance).toBe(499);
        const audit = await auditLedger(server.tollgate.db, server.clock);
        expect(audit.problems).toEqual([]);
      });
    });
  });
}
