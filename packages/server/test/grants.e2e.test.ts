/**
 * Grants as a resource over real HTTP, on every backend: a scoped grant pays only for its model type,
 * an explicit priority decides which grant a hold reserves first, a grant with a future effective_at is
 * neither in the balance nor spendable until the sweep after it credits it, voiding a grant with a hold
 * open writes off only the unreserved part (the reserved part stays with the hold, and goes when the
 * hold releases it), and the list shows remaining and reserved. The books audit clean afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.ts';
import { auditLedger } from '../src/ledger/audit.ts';
import { testBackends } from './support/databases.ts';
import { expectError, expectStatus } from './support/expectations.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const IMAGE_MODEL = 'fal-ai/flux/schnell';
const CHAT_MODEL = 'openai/gpt-4o-mini';

interface GrantWire {
  id: string;
  status: string;
  remaining: number;
  reserved: number;
  available: number;
  priority: number;
  category: string;
  scope: unknown;
}

for (const backend of testBackends()) {
  describe(`grants over HTTP (${backend.name})`, () => {
    let server: TestServer;
    let app: { id: string; secret_key: string };

    beforeAll(async () => {
      server = await startTestServer(backend);
      server.clock.set('2026-05-06T15:00:00Z');
      app = await server.createApp({ name: 'Grants app' });
    });
    afterAll(async () => {
      await server?.close();
    });

    const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
      server.call(method, path, { key: app.secret_key, body, headers });
    const grant = async (customer: string, body: Record<string, unknown>) =>
      expectStatus(await call('POST', `/v1/customers/${customer}/grants`, body), 201);
    const list = async (customer: string) =>
      expectStatus(await call('GET', `/v1/customers/${customer}/grants`), 200) as {
        balance: number;
        available: number;
        scheduled: number;
        data: GrantWire[];
      };
    /** A customer with no credits: its signup bonus voided (through the endpoint under test). */
    async function emptyCustomer(externalId: string) {
      const customer = await server.createCustomer(app.secret_key, externalId);
      for (const each of (await list(customer.id)).data) {
        expectStatus(await call('POST', `/v1/grants/${each.id}/void`, { reason: 'test starts empty' }), 200);
      }
      expect(await list(customer.id)).toMatchObject({ balance: 0, data: [] });
      return customer;
    }
    const find = (grants: { data: GrantWire[] }, id: string) => grants.data.find((each) => each.id === id);

    it('spends a grant scoped to image models on images only, and says what is available for the work', async () => {
      const customer = await emptyCustomer('scoped');
      const images = await grant(customer.id, {
        amount: 5,
        source: 'promo',
        scope: { types: ['image'] },
      });
      expect(images).toMatchObject({
        category: 'promotional',
        scope: { types: ['image'] },
        status: 'active',
      });
      await grant(customer.id, { amount: 1, source: 'purchase' });

      const refused = await call('POST', '/v1/holds', {
        customer: customer.id,
        model: CHAT_MODEL,
        amount: 2,
      });
      expectError(refused, 402, 'insufficient_credits');
      expect(refused.body.error).toMatchObject({ available: 1 });

      const chat = expectStatus(
        await call('POST', '/v1/holds', { customer: customer.id, model: CHAT_MODEL, amount: 0.5 }),
        201,
      );
      let grants = await list(customer.id);
      // The chat hold could not reserve the image grant, which comes first in the spend order.
      expect(find(grants, images.id)).toMatchObject({ reserved: 0, remaining: 5 });
      const image = expectStatus(
        await call('POST', '/v1/holds', { customer: customer.id, model: IMAGE_MODEL, amount: 3 }),
        201,
      );
      grants = await list(customer.id);
      expect(find(grants, images.id)).toMatchObject({ reserved: 3, available: 2 });
      expectStatus(await call('POST', `/v1/holds/${image.id}/capture`, { amount: 3 }), 200);
      expectStatus(await call('POST', `/v1/holds/${chat.id}/capture`, { amount: 0.5 }), 200);
      grants = await list(customer.id);
      expect(grants).toMatchObject({ balance: 2.5, available: 2.5 });
      expect(find(grants, images.id)).toMatchObject({ remaining: 2, reserved: 0 });
    });

    it('reserves the grant of the lowest priority number first, whatever its expiry', async () => {
      const customer = await emptyCustomer('priority');
      const soon = await grant(customer.id, {
        amount: 2,
        source: 'promo',
        expires_at: '2026-05-07T00:00:00Z',
      });
      const first = await grant(customer.id, { amount: 2, category: 'paid', priority: 10 });
      expect(first).toMatchObject({ source: 'purchase', category: 'paid', priority: 10 });
      const hold = expectStatus(
        await call('POST', '/v1/holds', { customer: customer.id, model: IMAGE_MODEL, amount: 3 }),
        201,
      );
      const grants = await list(customer.id);
      expect(grants.data.map((each) => each.id)).toEqual([first.id, soon.id]);
      expect(find(grants, first.id)).toMatchObject({ reserved: 2 });
      expect(find(grants, soon.id)).toMatchObject({ reserved: 1 });
      expectStatus(await call('POST', `/v1/holds/${hold.id}/void`), 200);
      expectError(
        await call('POST', `/v1/customers/${customer.id}/grants`, { amount: 1, priority: 101 }),
        400,
        'invalid_request',
      );
      expectError(
        await call('POST', `/v1/customers/${customer.id}/grants`, {
          amount: 1,
          source: 'promo',
          category: 'paid',
        }),
        400,
        'invalid_request',
      );
    });

    it('credits a grant with a future effective_at only once it is due', async () => {
      const customer = await emptyCustomer('scheduled');
      const later = await grant(customer.id, {
        amount: 4,
        source: 'promo',
        effective_at: '2026-05-06T16:00:00Z',
        expires_at: '2026-06-01T00:00:00Z',
      });
      expect(later).toMatchObject({
        status: 'scheduled',
        remaining: 0,
        effective_at: '2026-05-06T16:00:00.000Z',
      });
      let grants = await list(customer.id);
      expect(grants).toMatchObject({ balance: 0, available: 0, scheduled: 4 });
      expect(find(grants, later.id)).toMatchObject({ status: 'scheduled' });
      expectError(
        await call('POST', '/v1/holds', { customer: customer.id, model: IMAGE_MODEL, amount: 1 }),
        402,
        'insufficient_credits',
      );
      // Not yet due: the sweep leaves it.
      await server.tollgate.sweep();
      expect(await list(customer.id)).toMatchObject({ balance: 0, scheduled: 4 });

      server.clock.set('2026-05-06T16:00:01Z');
      try {
        await server.tollgate.sweep();
        await server.tollgate.sweep();
        grants = await list(customer.id);
        expect(grants).toMatchObject({ balance: 4, available: 4, scheduled: 0 });
        expect(find(grants, later.id)).toMatchObject({ status: 'active', remaining: 4 });
        expectStatus(
          await call('POST', '/v1/holds', { customer: customer.id, model: IMAGE_MODEL, amount: 1 }),
          201,
        );
        // A scheduled grant voided before it is due is never credited.
        const cancelled = await grant(customer.id, {
          amount: 3,
          source: 'gift',
          effective_at: '2026-05-07T00:00:00Z',
        });
        expect(expectStatus(await call('POST', `/v1/grants/${cancelled.id}/void`), 200)).toMatchObject({
          status: 'voided',
        });
        server.clock.set('2026-05-07T00:00:01Z');
        await server.tollgate.sweep();
        expect(await list(customer.id)).toMatchObject({ balance: 4, scheduled: 0 });
      } finally {
        server.clock.set('2026-05-06T15:00:00Z');
      }
    });

    it('voids only the unreserved remainder while a hold is open; the hold keeps and spends its part', async () => {
      const customer = await emptyCustomer('void');
      const promo = await grant(customer.id, { amount: 5, source: 'promo' });
      const spare = await grant(customer.id, { amount: 1, source: 'purchase' });
      const first = expectStatus(
        await call('POST', '/v1/holds', { customer: customer.id, model: IMAGE_MODEL, amount: 2 }),
        201,
      );
      const second = expectStatus(
        await call('POST', '/v1/holds', { customer: customer.id, model: IMAGE_MODEL, amount: 1 }),
        201,
      );
      const voidPromo = async (key: string, body?: unknown) =>
        expectStatus(
          await call('POST', `/v1/grants/${promo.id}/void`, body, { 'Idempotency-Key': key }),
          200,
        );
      const voided = await voidPromo('v1', { reason: 'campaign ended' });
      expect(voided).toMatchObject({ status: 'voided', voided: 2, reserved: 3, remaining: 3, balance: 4 });
      // Again: nothing more to write off (and the same key replays the first answer).
      expect(await voidPromo('v2')).toMatchObject({ voided: 0 });
      expect(await voidPromo('v1', { reason: 'campaign ended' })).toMatchObject({
        voided: 2,
        replayed: true,
      });

      let grants = await list(customer.id);
      expect(find(grants, promo.id)).toMatchObject({
        status: 'voided',
        remaining: 3,
        reserved: 3,
        available: 0,
      });
      expect(grants).toMatchObject({ balance: 4, available: 1 });
      // The voided grant pays for no new hold.
      expectError(
        await call('POST', '/v1/holds', { customer: customer.id, model: IMAGE_MODEL, amount: 2 }),
        402,
        'insufficient_credits',
      );
      // A capture spends what its hold reserved; a void of the other writes that part off.
      expectStatus(await call('POST', `/v1/holds/${first.id}/capture`, { amount: 2 }), 200);
      expectStatus(await call('POST', `/v1/holds/${second.id}/void`), 200);
      grants = await list(customer.id);
      expect(grants).toMatchObject({ balance: 1, available: 1 });
      expect(find(grants, promo.id)).toBeUndefined();
      expect(find(grants, spare.id)).toMatchObject({ remaining: 1 });

      const history = expectStatus(await call('GET', `/v1/customers/${customer.id}/transactions`), 200);
      expect(
        history.data
          .filter(
            (row: { type: string; grant_id: string }) =>
              row.type === 'grant_void' && row.grant_id === promo.id,
          )
          .map((row: { amount: number }) => row.amount),
      ).toEqual([-1, -2]);
      expectError(await call('POST', '/v1/grants/gr_nope/void'), 404, 'not_found');
    });

    it("keeps another app's grants out of reach", async () => {
      const customer = await server.createCustomer(app.secret_key, 'isolated');
      const mine = await grant(customer.id, { amount: 1, source: 'promo' });
      const other = await server.createApp({ name: 'Other app' });
      expectError(
        await server.call('POST', `/v1/grants/${mine.id}/void`, { key: other.secret_key }),
        404,
        'not_found',
      );
      expectError(
        await server.call('GET', `/v1/customers/${customer.id}/grants`, { key: other.secret_key }),
        404,
        'not_found',
      );
      expectError(
        await call('POST', `/v1/customers/${customer.id}/grants`, { amount: 1, scope: { types: [] } }),
        400,
        'invalid_request',
      );
    });

    it('describes the grant endpoints in the OpenAPI document', async () => {
      const openapi = expectStatus(await server.call('GET', '/openapi.json'), 200);
      const create = openapi.paths['/v1/customers/{id}/grants'].post;
      expect(Object.keys(create.requestBody.content['application/json'].schema.properties)).toEqual(
        expect.arrayContaining([
          'amount',
          'source',
          'category',
          'priority',
          'effective_at',
          'expires_at',
          'scope',
        ]),
      );
      expect(openapi.paths['/v1/customers/{id}/grants'].get).toBeTypeOf('object');
      expect(openapi.paths['/v1/grants/{id}/void'].post).toBeTypeOf('object');
    });

    it('audits clean', async () => {
      const audit = await auditLedger(server.tollgate.db, server.clock);
      expect(audit.problems).toEqual([]);
    });
  });
}

for (const backend of testBackends()) {
  describe(`allowance rollover (${backend.name})`, () => {
    let server: TestServer;
    let app: { id: string; secret_key: string };

    beforeAll(async () => {
      const base = loadConfig(undefined, {});
      server = await startTestServer(backend, {
        config: {
          ...base,
          plans: base.plans.map((plan) =>
            plan.code === 'microbudget' ? { ...plan, rolloverMaxMicros: 300_000_000n } : plan,
          ),
        },
      });
      server.clock.set('2031-01-15T00:00:00.000Z');
      app = await server.createApp({ name: 'Rollover app' });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('carries unspent allowance into the next period up to the plan cap, spent before the new allowance', async () => {
      const customer = await server.createCustomer(app.secret_key, 'rolling');
      const started = expectStatus(
        await server.call('POST', `/v1/customers/${customer.id}/subscription`, {
          key: app.secret_key,
          body: { plan: 'microbudget' },
        }),
        201,
      );
      const paid = await fetch(`${started.checkout.url}/pay`, {
        method: 'POST',
        headers: { accept: 'application/json' },
      });
      expect(paid.status).toBe(200);
      expectStatus(
        await server.call('POST', '/v1/charges', {
          key: app.secret_key,
          body: { customer: customer.id, model: 'custom/work', amount: 200 },
        }),
        201,
      );
      const allowances = async () =>
        (
          expectStatus(
            await server.call('GET', `/v1/customers/${customer.id}/grants`, { key: app.secret_key }),
            200,
          ).data as { source: string; remaining: number; priority: number; expires_at: string }[]
        )
          .filter((grant) => grant.source === 'allowance')
          .map((grant) => [grant.remaining, grant.priority, grant.expires_at]);
      expect(await allowances()).toEqual([[800, 50, '2031-02-15T00:00:00.000Z']]);

      // Renewal: 800 unspent, 300 carried (the cap), spent before the fresh 1,000.
      server.clock.set('2031-02-15T01:00:00.000Z');
      await server.tollgate.sweep();
      expect(await server.tollgate.services.subscriptions.renewDue()).toBe(1);
      expect(await allowances()).toEqual([
        [300, 49, '2031-03-15T00:00:00.000Z'],
        [1000, 50, '2031-03-15T00:00:00.000Z'],
      ]);
      expectStatus(
        await server.call('POST', '/v1/charges', {
          key: app.secret_key,
          body: { customer: customer.id, model: 'custom/work', amount: 100 },
        }),
        201,
      );
      expect(await allowances()).toEqual([
        [200, 49, '2031-03-15T00:00:00.000Z'],
        [1000, 50, '2031-03-15T00:00:00.000Z'],
      ]);
      // The next renewal carries the cap again, never the sum of what rolled before.
      server.clock.set('2031-03-15T01:00:00.000Z');
      expect(await server.tollgate.services.subscriptions.renewDue()).toBe(1);
      expect(await allowances()).toEqual([
        [300, 49, '2031-04-15T00:00:00.000Z'],
        [1000, 50, '2031-04-15T00:00:00.000Z'],
      ]);
      const history = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}/transactions?limit=50`, {
          key: app.secret_key,
        }),
        200,
      ).data as { type: string; amount: number }[];
      expect(history.filter((row) => row.type === 'rollover').map((row) => row.amount)).toEqual([300, 300]);
      expect((await auditLedger(server.tollgate.db, server.clock)).problems).toEqual([]);
    });
  });
}
