/**
 * Named user keys and spend limits over real HTTP, on every backend: 200 concurrent holds against a
 * key's daily limit stop exactly at it, the limit resets at the UTC day boundary, the released part of
 * a hold is returned to it, the customer's own limit covers the app's calls, revoked keys are refused,
 * and only the app or the customer's dashboard session manages keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger } from '../src/ledger/audit.ts';
import { testBackends } from './support/databases.ts';
import { expectError, expectStatus } from './support/expectations.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const MODEL = 'fal-ai/flux/schnell';

for (const backend of testBackends()) {
  describe(`spend limits over HTTP (${backend.name})`, () => {
    let server: TestServer;
    let app: { id: string; secret_key: string };

    beforeAll(async () => {
      server = await startTestServer(backend);
      server.clock.set('2026-05-06T15:00:00Z');
      app = await server.createApp({ name: 'Limits app' });
    });
    afterAll(async () => {
      await server?.close();
    });

    const call = (method: string, path: string, key: string, body?: unknown) =>
      server.call(method, path, { key, body });

    async function richCustomer(externalId: string) {
      const customer = await server.createCustomer(app.secret_key, externalId);
      expectStatus(
        await call('POST', `/v1/customers/${customer.id}/grants`, app.secret_key, {
          amount: 1000,
          source: 'purchase',
        }),
        201,
      );
      return customer;
    }

    it('keeps the first key as "Default" and lists named keys with their limits', async () => {
      const customer = await richCustomer('named-keys');
      const created = expectStatus(
        await call('POST', `/v1/customers/${customer.id}/user-keys`, app.secret_key, {
          name: 'CI runner',
          limit: { amount: 5, period: 'week' },
        }),
        201,
      );
      expect(created).toMatchObject({
        object: 'user_key',
        name: 'CI runner',
        hint: expect.stringMatching(/^tg_uk_…/),
        limit: {
          amount: 5,
          period: 'week',
          spent: 0,
          remaining: 5,
          // 2026-05-06 is a Wednesday: the ISO week started on Monday the 4th.
          period_start: '2026-05-04T00:00:00.000Z',
          resets_at: '2026-05-11T00:00:00.000Z',
        },
      });
      expect(created.user_key).toMatch(/^tg_uk_/);
      expectStatus(await call('GET', '/v1/credits/balance', created.user_key), 200);

      const list = expectStatus(
        await call('GET', `/v1/customers/${customer.id}/user-keys`, app.secret_key),
        200,
      );
      expect(list.data.map((key: { name: string }) => key.name)).toEqual(['CI runner', 'Default']);
      expect(list.data[0].last_used_at).toBe(server.clock.now().toISOString());
      expect(list.data[1]).toMatchObject({ limit: null, revoked_at: null });
      expect(JSON.stringify(list)).not.toContain(created.user_key);

      const renamed = expectStatus(
        await call('PATCH', `/v1/customers/${customer.id}/user-keys/${created.id}`, app.secret_key, {
          name: 'Nightly',
          limit: null,
        }),
        200,
      );
      expect(renamed).toMatchObject({ name: 'Nightly', limit: null });
    });

    it('200 concurrent holds against a daily key limit stop exactly at the limit', async () => {
      const customer = await richCustomer('concurrent-limit');
      const key = expectStatus(
        await call('POST', `/v1/customers/${customer.id}/user-keys`, app.secret_key, {
          name: 'agent',
          limit: { amount: 10, period: 'day' },
        }),
        201,
      );
      const results = await Promise.all(
        Array.from({ length: 200 }, () =>
          call('POST', '/v1/holds', key.user_key, { customer: customer.id, model: MODEL, amount: 0.1 }),
        ),
      );
      const held = results.filter((result) => result.status === 201);
      const refused = results.filter((result) => result.status === 402);
      expect(held).toHaveLength(100);
      expect(refused).toHaveLength(100);
      for (const result of refused) {
        expect(result.body.error).toMatchObject({
          code: 'spend_limit_exceeded',
          scope: 'user_key',
          user_key_id: key.id,
          limit: 10,
          spent: 10,
          period: 'day',
          resets_at: '2026-05-07T00:00:00.000Z',
        });
      }
      let listed = expectStatus(
        await call('GET', `/v1/customers/${customer.id}/user-keys`, app.secret_key),
        200,
      );
      expect(listed.data.find((each: { id: string }) => each.id === key.id).limit).toMatchObject({
        spent: 10,
        remaining: 0,
      });
      // The app hears of it once, from the batch that reached the limit (its outbox, none invented).
      const reached = expectStatus(
        await call('GET', `/v1/events?type=spend_limit.reached&customer=${customer.id}`, app.secret_key),
        200,
      ).data;
      expect(reached.map((event: { data: unknown }) => event.data)).toEqual([
        expect.objectContaining({
          customer: customer.id,
          scope: `key:${key.id}`,
          limit: 10,
          spent: 10,
          period: 'day',
          resets_at: '2026-05-07T00:00:00.000Z',
        }),
      ]);

      // What a capture releases and what a void returns counts again; the customer's other keys were never limited.
      expectStatus(
        await call('POST', `/v1/holds/${held[0]!.body.id}/capture`, key.user_key, { amount: 0.04 }),
        200,
      );
      expectStatus(await call('POST', `/v1/holds/${held[1]!.body.id}/void`, key.user_key), 200);
      listed = expectStatus(await call('GET', `/v1/customers/${customer.id}/user-keys`, app.secret_key), 200);
      expect(listed.data.find((each: { id: string }) => each.id === key.id).limit.spent).toBe(9.84);
      expectStatus(
        await call('POST', '/v1/charges', key.user_key, {
          customer: customer.id,
          model: MODEL,
          amount: 0.16,
        }),
        201,
      );
      expectError(
        await call('POST', '/v1/holds', key.user_key, { customer: customer.id, model: MODEL, amount: 0.01 }),
        402,
        'spend_limit_exceeded',
      );
      expectStatus(
        await call('POST', '/v1/holds', customer.user_key, {
          customer: customer.id,
          model: MODEL,
          amount: 1,
        }),
        201,
      );

      const audit = await auditLedger(server.tollgate.db, server.clock);
      expect(audit.problems).toEqual([]);

      // The next UTC day starts over at zero.
      server.clock.set('2026-05-07T00:00:00Z');
      const tomorrow = expectStatus(
        await call('POST', '/v1/holds', key.user_key, { customer: customer.id, model: MODEL, amount: 10 }),
        201,
      );
      expect(tomorrow.status).toBe('held');
      expect(
        expectError(
          await call('POST', '/v1/holds', key.user_key, {
            customer: customer.id,
            model: MODEL,
            amount: 0.01,
          }),
          402,
          'spend_limit_exceeded',
        ),
      ).toMatchObject({ spent: 10, resets_at: '2026-05-08T00:00:00.000Z' });
      // A hold of the day before returns nothing to today's limit.
      expectStatus(await call('POST', `/v1/holds/${held[2]!.body.id}/void`, key.user_key), 200);
      listed = expectStatus(await call('GET', `/v1/customers/${customer.id}/user-keys`, app.secret_key), 200);
      expect(listed.data.find((each: { id: string }) => each.id === key.id).limit.spent).toBe(10);
      server.clock.set('2026-05-06T15:00:00Z');
    });

    it("the customer's own limit covers the app's calls and every key; history names the key", async () => {
      const customer = await richCustomer('customer-limit');
      const limit = expectStatus(
        await call('PUT', `/v1/customers/${customer.id}/spend-limit`, app.secret_key, {
          amount: 3,
          period: 'month',
        }),
        200,
      );
      expect(limit.limit).toMatchObject({ amount: 3, spent: 0, resets_at: '2026-06-01T00:00:00.000Z' });
      expectStatus(
        await call('POST', '/v1/charges', app.secret_key, { customer: customer.id, model: MODEL, amount: 2 }),
        201,
      );
      const refused = expectError(
        await call('POST', '/v1/holds', customer.user_key, {
          customer: customer.id,
          model: MODEL,
          amount: 1.5,
        }),
        402,
        'spend_limit_exceeded',
      );
      expect(refused).toMatchObject({ scope: 'customer', limit: 3, spent: 2, period: 'month' });
      const keys = expectStatus(
        await call('GET', `/v1/customers/${customer.id}/user-keys`, app.secret_key),
        200,
      );
      expectStatus(
        await call('POST', '/v1/charges', customer.user_key, {
          customer: customer.id,
          model: MODEL,
          amount: 1,
        }),
        201,
      );
      const history = expectStatus(
        await call('GET', `/v1/customers/${customer.id}/transactions`, app.secret_key),
        200,
      );
      expect(history.data[0].metadata.user_key_id).toBe(keys.data[0].id);
      expect(
        expectStatus(await call('GET', `/v1/customers/${customer.id}/spend-limit`, customer.user_key), 200)
          .limit,
      ).toMatchObject({ spent: 3, remaining: 0 });
      expectStatus(await call('DELETE', `/v1/customers/${customer.id}/spend-limit`, app.secret_key), 200);
      expectStatus(
        await call('POST', '/v1/holds', customer.user_key, {
          customer: customer.id,
          model: MODEL,
          amount: 5,
        }),
        201,
      );
    });

    it('refuses a revoked key; only the app or a dashboard session manages keys', async () => {
      const customer = await richCustomer('revoked');
      const spare = expectStatus(
        await call('POST', `/v1/customers/${customer.id}/user-keys`, app.secret_key, { name: 'spare' }),
        201,
      );
      // A plain user key cannot list, create or re-limit keys (not even its own).
      expectError(
        await call('GET', `/v1/customers/${customer.id}/user-keys`, spare.user_key),
        403,
        'forbidden',
      );
      expectError(
        await call('PATCH', `/v1/customers/${customer.id}/user-keys/${spare.id}`, spare.user_key, {
          limit: null,
        }),
        403,
        'forbidden',
      );
      const link = expectStatus(
        await call('POST', `/v1/customers/${customer.id}/portal-links`, app.secret_key),
        201,
      );
      const token = new URL(link.url).hash.slice('#portal='.length);
      const session = expectStatus(
        await server.call('POST', '/v1/portal/exchange', { body: { token } }),
        200,
      );
      const listed = expectStatus(
        await call('GET', `/v1/customers/${customer.id}/user-keys`, session.user_key),
        200,
      );
      // The session itself is not one of the customer's keys.
      expect(listed.data.map((key: { name: string }) => key.name)).toEqual(['spare', 'Default']);
      expectStatus(
        await call('DELETE', `/v1/customers/${customer.id}/user-keys/${spare.id}`, session.user_key),
        200,
      );
      expectError(
        await call('POST', '/v1/holds', spare.user_key, { customer: customer.id, model: MODEL, amount: 1 }),
        401,
        'invalid_user_key',
      );
      const after = expectStatus(
        await call('GET', `/v1/customers/${customer.id}/user-keys`, app.secret_key),
        200,
      );
      expect(after.data.find((key: { id: string }) => key.id === spare.id).revoked_at).toEqual(
        expect.any(String),
      );
    });
  });
}
