/**
 * Apps never see each other's customers, and user keys only ever reach their own customer: every
 * cross-tenant attempt answers 404 (an unknown customer and someone else's look alike), user keys
 * are refused on app endpoints (403), and a revoked user key is refused at once (401).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from './support/databases.ts';
import { expectError, expectStatus, moneySnapshot } from './support/expectations.ts';
import { startTestServer, type TestServer } from './support/server.ts';

for (const backend of testBackends()) {
  describe(`app and customer isolation (${backend.name})`, () => {
    let server: TestServer;
    let appA: { id: string; secret_key: string; publishable_key: string };
    let appB: { id: string; secret_key: string; publishable_key: string };
    let alice: { id: string; user_key: string };
    let bob: { id: string; user_key: string };
    let bobHold: string;

    beforeAll(async () => {
      server = await startTestServer(backend);
      appA = await server.createApp({ name: 'App A' });
      appB = await server.createApp({ name: 'App B' });
      alice = await server.createCustomer(appA.secret_key, 'alice');
      bob = await server.createCustomer(appB.secret_key, 'bob');
      // The same external id in both apps is two different customers.
      const bobInA = await server.createCustomer(appA.secret_key, 'shared-external');
      const bobInB = await server.createCustomer(appB.secret_key, 'shared-external');
      expect(bobInA.id).not.toBe(bobInB.id);
      const hold = await server.call('POST', '/v1/holds', {
        key: appB.secret_key,
        body: { customer: bob.id, model: 'fal-ai/flux/schnell' },
      });
      bobHold = expectStatus(hold, 201).id;
    });
    afterAll(async () => {
      await server?.close();
    });

    it("app A cannot reach app B's customer, by cus_ id or external id", async () => {
      const before = await moneySnapshot(server, appB.secret_key, bob.id);
      const key = appA.secret_key;
      for (const reference of [bob.id, 'bob']) {
        expectError(await server.call('GET', `/v1/customers/${reference}`, { key }), 404, 'not_found');
        expectError(
          await server.call('GET', `/v1/customers/${reference}/transactions`, { key }),
          404,
          'not_found',
        );
        expectError(
          await server.call('GET', `/v1/customers/${reference}/balance`, { key }),
          404,
          'not_found',
        );
        expectError(
          await server.call('POST', '/v1/holds', {
            key,
            body: { customer: reference, model: 'fal-ai/flux/schnell' },
          }),
          404,
          'not_found',
        );
        expectError(
          await server.call('POST', '/v1/charges', {
            key,
            body: { customer: reference, model: 'fal-ai/flux/schnell' },
          }),
          404,
          'not_found',
        );
        expectError(
          await server.call('POST', `/v1/customers/${reference}/grants`, {
            key,
            body: { amount: 1000, source: 'promo' },
          }),
          404,
          'not_found',
        );
        expectError(
          await server.call('POST', `/v1/customers/${reference}/grants`, {
            key,
            body: { amount: -10, source: 'adjustment' },
          }),
          404,
          'not_found',
        );
        expectError(
          await server.call('POST', `/v1/customers/${reference}/user-keys`, { key }),
          404,
          'not_found',
        );
        expectError(
          await server.call('GET', `/v1/customers/${reference}/user-keys`, { key }),
          404,
          'not_found',
        );
        expectError(
          await server.call('PUT', `/v1/customers/${reference}/provider-keys/fal`, {
            key,
            body: { key: 'fal_key_from_app_a' },
          }),
          404,
          'not_found',
        );
        expectError(
          await server.call('GET', `/v1/customers/${reference}/provider-keys`, { key }),
          404,
          'not_found',
        );
        expectError(
          await server.call('GET', `/v1/billing/catalog?customer=${reference}`, { key }),
          404,
          'not_found',
        );
      }
      // Nor B's holds.
      expectError(await server.call('GET', `/v1/holds/${bobHold}`, { key }), 404, 'not_found');
      expectError(
        await server.call('POST', `/v1/holds/${bobHold}/capture`, { key, body: {} }),
        404,
        'not_found',
      );
      expectError(
        await server.call('POST', `/v1/holds/${bobHold}/void`, { key, body: {} }),
        404,
        'not_found',
      );
      expectError(
        await server.call('POST', `/v1/holds/${bobHold}/extend`, { key, body: { timeout_seconds: 60 } }),
        404,
        'not_found',
      );
      expectError(await server.call('GET', `/v1/holds/${bobHold}/provider-key`, { key }), 404, 'not_found');
      // An external id shared by both apps resolves within the caller's app only.
      const mine = expectStatus(await server.call('GET', '/v1/customers/shared-external', { key }), 200);
      const theirs = expectStatus(
        await server.call('GET', '/v1/customers/shared-external', { key: appB.secret_key }),
        200,
      );
      expect(mine.id).not.toBe(theirs.id);

      expect(await moneySnapshot(server, appB.secret_key, bob.id)).toEqual(before);
      const hold = expectStatus(
        await server.call('GET', `/v1/holds/${bobHold}`, { key: appB.secret_key }),
        200,
      );
      expect(hold.status).toBe('held');
    });

    it('a user key reaches only its own customer and no app endpoint', async () => {
      const aliceHeaders = { 'x-user-key': alice.user_key };
      const own = expectStatus(
        await server.call('GET', `/v1/customers/${alice.id}`, { headers: aliceHeaders }),
        200,
      );
      expect(own.id).toBe(alice.id);
      expectStatus(
        await server.call('GET', `/v1/customers/${alice.id}/transactions`, { headers: aliceHeaders }),
        200,
      );

      // Another customer (same app or another app) is not found.
      const neighbour = await server.createCustomer(appA.secret_key, 'alice-neighbour');
      for (const reference of [neighbour.id, 'alice-neighbour', bob.id, 'bob']) {
        expectError(
          await server.call('GET', `/v1/customers/${reference}`, { headers: aliceHeaders }),
          404,
          'not_found',
        );
        expectError(
          await server.call('GET', `/v1/customers/${reference}/transactions`, { headers: aliceHeaders }),
          404,
          'not_found',
        );
        expectError(
          await server.call('POST', '/v1/holds', {
            headers: aliceHeaders,
            body: { customer: reference, model: 'fal-ai/flux/schnell' },
          }),
          404,
          'not_found',
        );
        expectError(
          await server.call('PUT', `/v1/customers/${reference}/provider-keys/fal`, {
            headers: aliceHeaders,
            body: { key: 'stolen-key-123' },
          }),
          404,
          'not_found',
        );
      }
      expectError(
        await server.call('GET', `/v1/holds/${bobHold}`, { headers: aliceHeaders }),
        404,
        'not_found',
      );
      expectError(
        await server.call('POST', `/v1/holds/${bobHold}/void`, { headers: aliceHeaders, body: {} }),
        404,
        'not_found',
      );

      // App endpoints refuse user keys, whichever header carries them.
      for (const headers of [
        aliceHeaders,
        { authorization: `Bearer ${alice.user_key}` },
        { 'x-api-key': alice.user_key },
      ] as Record<string, string>[]) {
        expectError(
          await server.call('POST', '/v1/customers', { headers, body: { external_id: 'made-by-user' } }),
          403,
          'forbidden',
        );
        expectError(
          await server.call('POST', `/v1/customers/${alice.id}/grants`, {
            headers,
            body: { amount: 1000, source: 'promo' },
          }),
          403,
          'forbidden',
        );
        expectError(
          await server.call('POST', `/v1/customers/${alice.id}/user-keys`, { headers }),
          403,
          'forbidden',
        );
        expectError(await server.call('GET', '/v1/apps', { headers }), 403, 'forbidden');
      }
      const balance = expectStatus(
        await server.call('GET', '/v1/credits/balance', { headers: aliceHeaders }),
        200,
      );
      expect(balance.balance).toBe(500);
    });

    it('a user key cannot settle a hold its app placed (it would set its own price)', async () => {
      const dave = await server.createCustomer(appA.secret_key, 'dave');
      const daveHeaders = { 'x-user-key': dave.user_key };
      const hold = expectStatus(
        await server.call('POST', '/v1/holds', {
          key: appA.secret_key,
          body: { customer: dave.id, model: 'fal-ai/veo3.1', quantity: 4 },
        }),
        201,
      );
      expect(hold.amount).toBe(40);
      // Dave can see it, but not capture it for nothing, void it, or stretch it.
      expect(
        expectStatus(await server.call('GET', `/v1/holds/${hold.id}`, { headers: daveHeaders }), 200).status,
      ).toBe('held');
      expectError(
        await server.call('POST', `/v1/holds/${hold.id}/capture`, {
          headers: daveHeaders,
          body: { amount: 0 },
        }),
        403,
        'forbidden',
      );
      expectError(
        await server.call('POST', `/v1/holds/${hold.id}/capture`, {
          headers: daveHeaders,
          body: { quantity: 0.000001 },
        }),
        403,
        'forbidden',
      );
      expectError(
        await server.call('POST', `/v1/holds/${hold.id}/void`, { headers: daveHeaders, body: {} }),
        403,
        'forbidden',
      );
      expectError(
        await server.call('POST', `/v1/holds/${hold.id}/extend`, {
          headers: daveHeaders,
          body: { timeout_seconds: 2_000_000 },
        }),
        403,
        'forbidden',
      );
      // The app settles at the real price.
      const captured = expectStatus(
        await server.call('POST', `/v1/holds/${hold.id}/capture`, { key: appA.secret_key, body: {} }),
        200,
      );
      expect(captured.amount).toBe(40);
      expect(
        expectStatus(await server.call('GET', '/v1/credits/balance', { headers: daveHeaders }), 200).balance,
      ).toBe(460);

      // A hold the user placed with their own key is theirs to settle.
      const own = expectStatus(
        await server.call('POST', '/v1/holds', {
          headers: daveHeaders,
          body: { customer: dave.id, model: 'fal-ai/flux/schnell' },
        }),
        201,
      );
      expect(
        expectStatus(
          await server.call('POST', `/v1/holds/${own.id}/capture`, { headers: daveHeaders, body: {} }),
          200,
        ).amount,
      ).toBe(0.3);
      const second = expectStatus(
        await server.call('POST', '/v1/holds', {
          headers: daveHeaders,
          body: { customer: dave.id, model: 'fal-ai/flux/schnell' },
        }),
        201,
      );
      expectStatus(
        await server.call('POST', `/v1/holds/${second.id}/void`, { headers: daveHeaders, body: {} }),
        200,
      );
    });

    it('a revoked user key is refused with invalid_user_key', async () => {
      const carol = await server.createCustomer(appA.secret_key, 'carol');
      const second = expectStatus(
        await server.call('POST', `/v1/customers/${carol.id}/user-keys`, { key: appA.secret_key }),
        201,
      );
      expect(second.user_key).toMatch(/^tg_uk_/);
      expectStatus(
        await server.call('GET', '/v1/credits/balance', { headers: { 'x-user-key': second.user_key } }),
        200,
      );
      expectStatus(
        await server.call('GET', '/v1/credits/balance', { headers: { 'x-user-key': carol.user_key } }),
        200,
      );

      const listed = expectStatus(
        await server.call('GET', `/v1/customers/${carol.id}/user-keys`, { key: appA.secret_key }),
        200,
      );
      expect(listed.data).toHaveLength(2);
      expect(JSON.stringify(listed)).not.toContain(second.user_key);
      // App B cannot revoke A's keys.
      expectError(
        await server.call('DELETE', `/v1/customers/${carol.id}/user-keys/${second.id}`, {
          key: appB.secret_key,
        }),
        404,
        'not_found',
      );
      expectStatus(
        await server.call('DELETE', `/v1/customers/${carol.id}/user-keys/${second.id}`, {
          key: appA.secret_key,
        }),
        200,
      );
      for (const headers of [
        { 'x-user-key': second.user_key },
        { authorization: `Bearer ${second.user_key}` },
        { 'x-api-key': second.user_key },
      ] as Record<string, string>[]) {
        expectError(await server.call('GET', '/v1/credits/balance', { headers }), 401, 'invalid_user_key');
        expectError(
          await server.call('POST', '/v1/holds', {
            headers,
            body: { customer: carol.id, model: 'fal-ai/flux/schnell' },
          }),
          401,
          'invalid_user_key',
        );
      }
      // The other key of the same customer still works.
      expectStatus(
        await server.call('GET', '/v1/credits/balance', { headers: { 'x-user-key': carol.user_key } }),
        200,
      );
      // Revoking again or an unknown key id is not found.
      expectError(
        await server.call('DELETE', `/v1/customers/${carol.id}/user-keys/uk_doesnotexist`, {
          key: appA.secret_key,
        }),
        404,
        'not_found',
      );
    });
  });
}
