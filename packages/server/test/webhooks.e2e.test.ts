/**
 * Outbound webhooks and low-balance alerts over real HTTP, on PGlite and PostgreSQL: an app registers
 * an endpoint with the client SDK, ledger movements and purchases emit events in their own
 * transactions, and a local receiver (verifying with the SDK's `verifyWebhook`) takes them.
 *   - an endpoint failing 3 times then answering 200 sees one event id (4 attempts, backoff between);
 *   - a threshold crossed by 40 concurrent charges emits exactly one balance.low, zero one depleted;
 *   - expiries (sweeper) emit hold.expired and grant.expired; replays of a Stripe event one purchase.completed;
 *   - two servers draining one database at once never make the same attempt twice;
 *   - a private target is refused when private targets are off.
 * The background dispatcher is off: the test drives it (`deliverWebhooks`) on the manual clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { Tollgate, verifyWebhook, WebhookSignatureError } from '@tollgate/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTollgate } from '../src/app.ts';
import { loadConfig, parseConfigSource } from '../src/config/load-config.ts';
import { openDatabase } from '../src/store/database.ts';
import { startFakeSmtp } from './fakes/fake-smtp.ts';
import { signedWebhook, startFakeStripe } from './fakes/fake-stripe.ts';
import { openTestDatabase, type TestDatabase, testBackends } from './support/databases.ts';
import { expectError, expectStatus, waitFor } from './support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './support/server.ts';
import { type ServerProcess, startServerProcess, stopServerProcess } from './support/server-process.ts';

interface Received {
  body: string;
  headers: IncomingHttpHeaders;
  status: number;
}

/** A local endpoint: `answer` decides each request's status (0: never answer); every request is recorded. */
async function startReceiver(answer: (request: number) => number = () => 200) {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      const status = answer(received.length + 1);
      received.push({ body, headers: request.headers, status });
      if (status === 0) return;
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const ENV = {
  TOLLGATE_WEBHOOK_RETRY_BASE_MS: '1000',
  TOLLGATE_WEBHOOK_TIMEOUT_MS: '5000',
  STRIPE_SECRET_KEY: '',
};

for (const backend of testBackends()) {
  describe(`outbound webhooks (${backend.name})`, () => {
    let server: TestServer;

    beforeAll(async () => {
      server = await startTestServer(backend, { env: ENV });
    });
    afterAll(async () => {
      await server?.close();
    });

    const sdk = (key: string) => new Tollgate({ baseUrl: server.url, apiKey: key, maxRetries: 0 });
    const nowSeconds = () => Math.floor(server.clock.now().getTime() / 1000);
    const charge = (key: string, customer: string, amount: number) =>
      server.call('POST', '/v1/charges', { key, body: { customer, model: 'fal-ai/flux/schnell', amount } });
    const eventsOf = async (key: string, type: string, customer?: string) =>
      expectStatus(
        await server.call('GET', `/v1/events?type=${type}${customer ? `&customer=${customer}` : ''}`, {
          key,
        }),
        200,
      ).data as any[];

    it('an endpoint that fails 3 times then succeeds receives the event once by its id, signed, with the history', async () => {
      const receiver = await startReceiver((request) => (request <= 3 ? 500 : 200));
      try {
        const app = await server.createApp();
        const tollgate = sdk(app.secret_key);
        const endpoint = await tollgate.webhookEndpoints.create({
          url: receiver.url,
          events: ['balance.low'],
        });
        expect(endpoint.secret).toMatch(/^whsec_/);
        expect((await tollgate.webhookEndpoints.retrieve(endpoint.id)).secret).toBeUndefined();
        await tollgate.balanceAlerts.setForApp(app.id, 400);
        const customer = await server.createCustomer(app.secret_key, 'retry-user');
        expectStatus(await charge(app.secret_key, customer.id, 150), 201);

        // First attempt now; each retry after its backoff (at most 1 s × 2^(n−1) here).
        expect(await server.tollgate.deliverWebhooks()).toBe(1);
        for (let failed = 1; failed <= 3; failed += 1) {
          expect(await server.tollgate.deliverWebhooks()).toBe(0); // not due yet
          server.clock.advance(1000 * 2 ** (failed - 1));
          expect(await server.tollgate.deliverWebhooks()).toBe(1);
        }
        expect(await server.tollgate.deliverWebhooks()).toBe(0);
        expect(receiver.received.map((request) => request.status)).toEqual([500, 500, 500, 200]);

        // The receiver de-duplicates on the event id: one event, verified with the SDK's helper.
        const seen = new Map<string, unknown>();
        for (const request of receiver.received) {
          const event = await verifyWebhook(
            request.body,
            request.headers['tollgate-signature'] as string,
            endpoint.secret!,
            {
              nowSeconds: nowSeconds(),
            },
          );
          expect(request.headers['tollgate-event-id']).toBe(event.id);
          seen.set(event.id, event);
        }
        expect(seen.size).toBe(1);
        const [event] = [...seen.values()] as any[];
        expect(event).toMatchObject({
          type: 'balance.low',
          app: app.id,
          data: { customer: customer.id, external_id: 'retry-user', balance: 350, threshold: 400 },
        });
        // A wrong secret, a changed body, a stale timestamp: refused.
        const first = receiver.received[0]!;
        const signature = first.headers['tollgate-signature'] as string;
        await expect(verifyWebhook(first.body, signature, 'whsec_wrong')).rejects.toBeInstanceOf(
          WebhookSignatureError,
        );
        await expect(
          verifyWebhook(first.body.replace('350', '351'), signature, endpoint.secret!, {
            nowSeconds: nowSeconds(),
          }),
        ).rejects.toBeInstanceOf(WebhookSignatureError);
        await expect(
          verifyWebhook(first.body, signature, endpoint.secret!, { nowSeconds: nowSeconds() + 3600 }),
        ).rejects.toThrow(/timestamp/);

        // The history: one delivery, four attempts with their status codes.
        const { data: deliveries } = await tollgate.events.deliveries({ event: event.id });
        expect(deliveries).toHaveLength(1);
        expect(deliveries[0]).toMatchObject({ status: 'succeeded', attempt_count: 4, last_status_code: 200 });
        expect(deliveries[0]!.attempts.map((attempt) => attempt.status_code)).toEqual([500, 500, 500, 200]);
        expect(deliveries[0]!.attempts[0]!.error).toMatch(/HTTP 500/);

        // Replaying the delivery sends the same event id again, as a new delivery.
        const replay = await tollgate.events.replayDelivery(deliveries[0]!.id);
        expect(replay).toMatchObject({ event: event.id, status: 'pending', endpoint: endpoint.id });
        expect(await server.tollgate.deliverWebhooks()).toBe(1);
        const replayed = receiver.received.at(-1)!;
        expect(JSON.parse(replayed.body).id).toBe(event.id);

        // Another app sees none of it.
        const other = await server.createApp();
        expectError(
          await server.call('GET', `/v1/events/${event.id}`, { key: other.secret_key }),
          404,
          'not_found',
        );
        expectError(
          await server.call('GET', `/v1/webhook-endpoints/${endpoint.id}`, { key: other.secret_key }),
          404,
          'not_found',
        );
      } finally {
        await receiver.close();
      }
    });

    it('a delivery failing every time is dead after the last attempt; a rotated secret signs twice', async () => {
      const receiver = await startReceiver(() => 503);
      try {
        const app = await server.createApp();
        const tollgate = sdk(app.secret_key);
        const endpoint = await tollgate.webhookEndpoints.create({ url: receiver.url, events: ['*'] });
        const rotated = await tollgate.webhookEndpoints.rotateSecret(endpoint.id, {
          previous_secret_valid_seconds: 600,
        });
        expect(rotated.secret).not.toBe(endpoint.secret);
        await tollgate.balanceAlerts.setForApp(app.id, 1000);
        const customer = await server.createCustomer(app.secret_key, 'dead-user');
        expectStatus(await charge(app.secret_key, customer.id, 1), 201);
        // 16 attempts by default; advance past the longest backoff each time.
        for (let attempt = 1; attempt <= 16; attempt += 1) {
          expect(await server.tollgate.deliverWebhooks()).toBe(1);
          server.clock.advance(6 * 3600_000);
        }
        expect(await server.tollgate.deliverWebhooks()).toBe(0);
        const { data } = await tollgate.events.deliveries({ status: 'dead' });
        expect(data).toHaveLength(1);
        expect(data[0]).toMatchObject({ attempt_count: 16, last_status_code: 503 });
        // Both secrets verify while the old one is honoured.
        const request = receiver.received[0]!;
        const header = request.headers['tollgate-signature'] as string;
        expect(header.match(/v1=/g)).toHaveLength(2);
        const options = { toleranceSeconds: 0 };
        await verifyWebhook(request.body, header, rotated.secret!, options);
        await verifyWebhook(request.body, header, endpoint.secret!, options);
      } finally {
        await receiver.close();
      }
    });

    it('40 concurrent charges crossing the threshold emit one balance.low; reaching zero one balance.depleted', async () => {
      const app = await server.createApp();
      await sdk(app.secret_key).balanceAlerts.setForApp(app.id, 300);
      const customer = await server.createCustomer(app.secret_key, 'crowd-user'); // 500 credits
      const answers = await Promise.all(
        Array.from({ length: 40 }, () => charge(app.secret_key, customer.id, 10)),
      );
      for (const answer of answers) expectStatus(answer, 201);
      expect(await eventsOf(app.secret_key, 'balance.low', customer.id)).toHaveLength(1);
      expect(await eventsOf(app.secret_key, 'balance.depleted', customer.id)).toHaveLength(0);

      // The customer's own threshold wins over the app's; the alert stays reported until re-armed.
      const alerts = await sdk(app.secret_key).balanceAlerts.forCustomer(customer.id);
      expect(alerts).toMatchObject({ effective_low_balance: 300, level: 'low' });

      // Down to zero concurrently (some are refused): one depleted.
      const toZero = await Promise.all(
        Array.from({ length: 15 }, () => charge(app.secret_key, customer.id, 10)),
      );
      expect(toZero.filter((answer) => answer.status === 201)).toHaveLength(10);
      expect(await eventsOf(app.secret_key, 'balance.depleted', customer.id)).toHaveLength(1);
      expect(await eventsOf(app.secret_key, 'balance.low', customer.id)).toHaveLength(1);

      // A top-up above the threshold re-arms it: the next crossing is reported again.
      expectStatus(
        await server.call('POST', `/v1/customers/${customer.id}/grants`, {
          key: app.secret_key,
          body: { amount: 400 },
        }),
        201,
      );
      expect((await sdk(app.secret_key).balanceAlerts.forCustomer(customer.id)).level).toBe('above');
      await sdk(app.secret_key).balanceAlerts.setForCustomer(customer.id, 350);
      expectStatus(await charge(app.secret_key, customer.id, 60), 201);
      const lows = await eventsOf(app.secret_key, 'balance.low', customer.id);
      expect(lows).toHaveLength(2);
      expect(lows[0].data).toMatchObject({ balance: 340, threshold: 350 });
    });

    it("config alerts.low_balance is every app's default; PUT /v1/customers/{id}/alerts {low_balance} overrides it", async () => {
      const config = parseConfigSource('alerts: { low_balance: 450 }', { env: ENV });
      const configured = await startTestServer(backend, { env: ENV, config });
      try {
        const app = await configured.createApp();
        const customer = await configured.createCustomer(app.secret_key, 'default-threshold'); // 500
        const chargeThere = (amount: number) =>
          configured.call('POST', '/v1/charges', {
            key: app.secret_key,
            body: { customer: customer.id, model: 'fal-ai/flux/schnell', amount },
          });
        const lowsThere = async () =>
          expectStatus(
            await configured.call('GET', `/v1/events?type=balance.low&customer=${customer.id}`, {
              key: app.secret_key,
            }),
            200,
          ).data as any[];
        expectStatus(await chargeThere(40), 201); // 460: above
        expect(await lowsThere()).toHaveLength(0);
        expectStatus(await chargeThere(20), 201); // 440: below the config's 450
        expect((await lowsThere()).map((event) => event.data)).toEqual([
          expect.objectContaining({ balance: 440, threshold: 450 }),
        ]);
        const alerts = expectStatus(
          await configured.call('GET', `/v1/customers/${customer.id}/alerts`, { key: app.secret_key }),
          200,
        );
        expect(alerts).toMatchObject({ object: 'alerts', low_balance: null, effective_low_balance: 450 });
        const set = expectStatus(
          await configured.call('PUT', `/v1/customers/${customer.id}/alerts`, {
            key: app.secret_key,
            body: { low_balance: 100 },
          }),
          200,
        );
        expect(set).toMatchObject({ low_balance: 100, effective_low_balance: 100 });
      } finally {
        await configured.close();
      }
    });

    it('the sweeper emits hold.expired and grant.expired with its movements', async () => {
      const app = await server.createApp();
      const customer = await server.createCustomer(app.secret_key, 'expiry-user');
      const hold = expectStatus(
        await server.call('POST', '/v1/holds', {
          key: app.secret_key,
          body: { customer: customer.id, model: 'fal-ai/flux/schnell', amount: 5, timeout_seconds: 60 },
        }),
        201,
      );
      expectStatus(
        await server.call('POST', `/v1/customers/${customer.id}/grants`, {
          key: app.secret_key,
          body: {
            amount: 7,
            source: 'promo',
            expires_at: new Date(server.clock.now().getTime() + 30_000).toISOString(),
          },
        }),
        201,
      );
      server.clock.advance(120_000);
      await server.tollgate.sweep();
      const [expiredHold] = await eventsOf(app.secret_key, 'hold.expired', customer.id);
      expect(expiredHold.data).toMatchObject({ hold: hold.id, amount: 5 });
      const [expiredGrant] = await eventsOf(app.secret_key, 'grant.expired', customer.id);
      expect(expiredGrant.data).toMatchObject({ amount: 7 });
      // Sweeping again changes nothing and reports nothing.
      await server.tollgate.sweep();
      expect(await eventsOf(app.secret_key, 'hold.expired', customer.id)).toHaveLength(1);
    });

    it('private targets are refused when they are switched off, at registration and at delivery', async () => {
      const receiver = await startReceiver();
      const guarded = await startTestServer(backend, {
        env: { ...ENV, TOLLGATE_WEBHOOK_PRIVATE_TARGETS: '0' },
      });
      try {
        const app = await guarded.createApp();
        for (const url of [
          'http://127.0.0.1:9/x',
          'http://localhost/x',
          'http://169.254.169.254/x',
          'http://[::1]/x',
        ]) {
          expectError(
            await guarded.call('POST', '/v1/webhook-endpoints', {
              key: app.secret_key,
              body: { url, events: ['*'] },
            }),
            400,
            'invalid_request',
          );
        }
        const endpoint = expectStatus(
          await guarded.call('POST', '/v1/webhook-endpoints', {
            key: ADMIN_KEY,
            body: { url: 'http://hooks.example.invalid/x', events: ['*'], app: app.id },
          }),
          201,
        );
        // An endpoint that reaches a loopback address anyway (registered before the switch, a name that
        // resolves there): refused when delivering, nothing sent.
        await guarded.tollgate.db.query('update webhook_endpoints set url = $2 where id = $1', [
          endpoint.id,
          receiver.url,
        ]);
        await guarded.call('PUT', `/v1/apps/${app.id}/alerts`, {
          key: app.secret_key,
          body: { low_balance: 1000 },
        });
        const customer = await guarded.createCustomer(app.secret_key, 'private-user');
        expectStatus(
          await guarded.call('POST', '/v1/charges', {
            key: app.secret_key,
            body: { customer: customer.id, model: 'fal-ai/flux/schnell', amount: 1 },
          }),
          201,
        );
        expect(await guarded.tollgate.deliverWebhooks()).toBe(1);
        const [delivery] = expectStatus(
          await guarded.call('GET', '/v1/webhook-deliveries', { key: app.secret_key }),
          200,
        ).data;
        expect(delivery.attempts[0].error).toMatch(/refused: 127\.0\.0\.1 is a private address/);
        expect(receiver.received).toHaveLength(0);
      } finally {
        await guarded.close();
        await receiver.close();
      }
    });
  });

  describe(`outbound webhooks with Stripe (${backend.name})`, () => {
    it('purchase.completed is emitted once however often Stripe delivers the completed event', async () => {
      const WEBHOOK_SECRET = 'whsec_webhooks_e2e_0123456789abcdef';
      let clockOf: TestServer | undefined;
      const fake = await startFakeStripe({ clock: { now: () => clockOf?.clock.now() ?? new Date() } });
      const server = await startTestServer(backend, {
        env: {
          ...ENV,
          STRIPE_SECRET_KEY: 'sk_test_webhooks_e2e_0123456789',
          STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
          STRIPE_API_BASE: fake.baseUrl,
        },
      });
      clockOf = server;
      try {
        const app = await server.createApp({ return_origins: ['https://app.example'] });
        const customer = await server.createCustomer(app.secret_key, 'stripe-buyer');
        const checkout = expectStatus(
          await server.call('POST', '/v1/checkout/sessions', {
            key: app.secret_key,
            body: {
              customer: customer.id,
              amount_usd: 10,
              success_url: 'https://app.example/ok',
              cancel_url: 'https://app.example/no',
            },
          }),
          201,
        );
        const { events } = fake.completeCheckoutSession(checkout.id);
        const completed = events.find((event) => event.type === 'checkout.session.completed')!;
        await fake.settle();
        const webhookUrl = `${server.url}/v1/webhooks/stripe`;
        const send = (event: Record<string, unknown>) => {
          const signed = signedWebhook(event, WEBHOOK_SECRET);
          return fetch(webhookUrl, { method: 'POST', headers: signed.headers, body: signed.body });
        };
        // The same event 5 times at once, and the same session under another event id.
        const answers = await Promise.all([
          ...Array.from({ length: 5 }, () => send(completed)),
          send({ ...completed, id: 'evt_other_delivery' }),
        ]);
        for (const answer of answers) expect(answer.status).toBe(200);
        const purchases = (
          await server.call('GET', `/v1/events?type=purchase.completed&customer=${customer.id}`, {
            key: app.secret_key,
          })
        ).body.data;
        expect(purchases).toHaveLength(1);
        expect(purchases[0].data).toMatchObject({
          purchase: checkout.purchase.id,
          credits: 1000,
          amount_cents: 1000,
        });
      } finally {
        await server.close();
        await fake.close();
      }
    });
  });
}

/**
 * Two servers on one database: on PostgreSQL each with its own connection pool (real concurrency, the
 * claims race); on PGlite both on the one embedded database.
 */
for (const backend of testBackends()) {
  describe(`outbound webhooks on two servers (${backend.name})`, () => {
    it('two servers draining one database at once never make the same attempt twice', async () => {
      const receiver = await startReceiver(() => 200);
      const first = await startTestServer(backend, { env: ENV });
      const secondDatabase =
        backend.name === 'postgres'
          ? await openDatabase({ url: first.database.url, schema: first.database.schema, poolSize: 4 })
          : first.database.db;
      // This one never listens: loopback targets (the receiver) are allowed by the switch.
      const env = {
        TOLLGATE_ADMIN_KEY: ADMIN_KEY,
        TOLLGATE_SECRET: 'test-secret-0123456789abcdef',
        TOLLGATE_WEBHOOK_PRIVATE_TARGETS: '1',
        ...ENV,
      };
      const second = await createTollgate({
        sweeper: false,
        announce: () => {},
        database: secondDatabase,
        env,
        config: loadConfig(undefined, env),
        clock: first.clock,
      });
      try {
        const app = await first.createApp();
        expectStatus(
          await first.call('POST', '/v1/webhook-endpoints', {
            key: app.secret_key,
            body: { url: receiver.url, events: ['balance.low'] },
          }),
          201,
        );
        expectStatus(
          await first.call('PUT', `/v1/apps/${app.id}/alerts`, {
            key: app.secret_key,
            body: { low_balance: 1000 },
          }),
          200,
        );
        const customers = await Promise.all(
          Array.from({ length: 30 }, (_, index) => first.createCustomer(app.secret_key, `pair-${index}`)),
        );
        for (const customer of customers) {
          expectStatus(
            await first.call('POST', '/v1/charges', {
              key: app.secret_key,
              body: { customer: customer.id, model: 'fal-ai/flux/schnell', amount: 1 },
            }),
            201,
          );
        }
        const made = await Promise.all([
          first.tollgate.deliverWebhooks(),
          second.deliverWebhooks(),
          first.tollgate.deliverWebhooks(),
          second.deliverWebhooks(),
        ]);
        expect(made.reduce((sum, count) => sum + count, 0)).toBe(30);
        const deliveryIds = receiver.received.map((request) => request.headers['tollgate-delivery-id']);
        expect(deliveryIds).toHaveLength(30);
        expect(new Set(deliveryIds).size).toBe(30);
      } finally {
        await second.close();
        if (secondDatabase !== first.database.db) await secondDatabase.close();
        await first.close();
        await receiver.close();
      }
    }, 180_000);
  });
}

for (const backend of testBackends()) {
  describe(`subscription events (${backend.name})`, () => {
    it('a test-mode plan: created once however often it is paid, renewed once per period, canceled at its end', async () => {
      const server = await startTestServer(backend, { env: ENV });
      try {
        const app = await server.createApp();
        const customer = await server.createCustomer(app.secret_key, 'plan-user');
        const types = async () =>
          (
            expectStatus(
              await server.call('GET', `/v1/events?customer=${customer.id}`, { key: app.secret_key }),
              200,
            ).data as any[]
          )
            .map((event) => event.type)
            .filter((type) => type.startsWith('subscription.')) // (the ended period's allowance expires too)
            .reverse();
        const started = expectStatus(
          await server.call('POST', `/v1/customers/${customer.id}/subscription`, {
            key: app.secret_key,
            body: { plan: 'microbudget' },
          }),
          201,
        );
        for (let time = 0; time < 2; time += 1) {
          const paid = await fetch(`${started.checkout.url}/pay`, {
            method: 'POST',
            headers: { accept: 'application/json' },
          });
          expect(paid.status).toBe(200);
        }
        expect(await types()).toEqual(['subscription.created']);
        server.clock.advance(32 * 86400_000);
        await server.tollgate.services.subscriptions.renewDue();
        await server.tollgate.services.subscriptions.renewDue();
        expect(await types()).toEqual(['subscription.created', 'subscription.renewed']);
        expectStatus(
          await server.call('DELETE', `/v1/customers/${customer.id}/subscription`, { key: app.secret_key }),
          200,
        );
        server.clock.advance(32 * 86400_000);
        await server.tollgate.services.subscriptions.renewDue();
        expect(await types()).toEqual([
          'subscription.created',
          'subscription.renewed',
          'subscription.updated',
          'subscription.canceled',
        ]);
        const [canceled] = (
          await server.call('GET', `/v1/events?type=subscription.canceled`, { key: app.secret_key })
        ).body.data;
        expect(canceled.data).toMatchObject({
          plan: 'microbudget',
          status: 'canceled',
          cancel_at_period_end: true,
        });
      } finally {
        await server.close();
      }
    }, 240_000);
  });
}

describe('low-balance email (pglite)', () => {
  it('mails the customer once when the balance crosses the threshold, through the delivery machinery', async () => {
    const smtp = await startFakeSmtp();
    const server = await startTestServer(
      { name: 'pglite' },
      { env: { ...ENV, SMTP_URL: `${smtp.url}?tls=off`, SMTP_FROM: 'Credits <credits@example.com>' } },
    );
    try {
      const app = await server.createApp();
      await server.call('PUT', `/v1/apps/${app.id}/alerts`, {
        key: app.secret_key,
        body: { low_balance: 450 },
      });
      const customer = expectStatus(
        await server.call('POST', '/v1/customers', {
          key: app.secret_key,
          body: { external_id: 'mail-user', email: 'low@example.com' },
        }),
        201,
      );
      for (const amount of [60, 10]) {
        expectStatus(
          await server.call('POST', '/v1/charges', {
            key: app.secret_key,
            body: { customer: customer.id, model: 'fal-ai/flux/schnell', amount },
          }),
          201,
        );
      }
      expect(await server.tollgate.deliverWebhooks()).toBe(1);
      expect(smtp.messages).toHaveLength(1);
      expect(smtp.messages[0]!.to).toEqual(['low@example.com']);
      expect(smtp.messages[0]!.text).toContain('Your balance is 440 credits, below 450.');
      const [delivery] = expectStatus(
        await server.call('GET', '/v1/webhook-deliveries', { key: app.secret_key }),
        200,
      ).data;
      expect(delivery).toMatchObject({ channel: 'email', status: 'succeeded', endpoint: null });
    } finally {
      await server.close();
      await smtp.close();
    }
  }, 180_000);
});

/** A loaded machine (2 cores, several suites) takes long to start a server process. */
const START_TIMEOUT_MILLISECONDS = 150_000;

/**
 * A real server process killed with SIGKILL while an attempt is in flight (the receiver holds the
 * request open): the next server on the same database delivers every event once the lease is over.
 */
for (const backend of testBackends()) {
  describe(`outbound webhooks after a SIGKILL (${backend.name})`, () => {
    it(
      'every event is delivered after the server dies mid-delivery',
      async () => {
        const receiver = await startReceiver((request) => (request === 1 ? 0 : 200));
        const folder =
          backend.name === 'pglite' ? mkdtempSync(join(os.tmpdir(), 'tollgate-webhooks-')) : null;
        const database: TestDatabase | null = folder ? null : await openTestDatabase(backend);
        const env = {
          TOLLGATE_DATA_DIR: folder ?? '',
          TOLLGATE_WEBHOOK_POLL_MS: '100',
          TOLLGATE_WEBHOOK_TIMEOUT_MS: '20000',
          TOLLGATE_WEBHOOK_LEASE_MS: '2000',
          TOLLGATE_WEBHOOK_RETRY_BASE_MS: '200',
        };
        let server: ServerProcess | undefined;
        try {
          server = await startServerProcess(database, env, START_TIMEOUT_MILLISECONDS);
          const call = async (method: string, path: string, key: string, body?: unknown) => {
            const response = await fetch(`${server!.url}${path}`, {
              method,
              headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
              body: body === undefined ? undefined : JSON.stringify(body),
            });
            return {
              status: response.status,
              body: (await response.json()) as any,
              headers: response.headers,
            };
          };
          const app = expectStatus(await call('POST', '/v1/apps', ADMIN_KEY, { name: 'crash app' }), 201);
          expectStatus(
            await call('POST', '/v1/webhook-endpoints', app.secret_key, {
              url: receiver.url,
              events: ['*'],
            }),
            201,
          );
          expectStatus(
            await call('PUT', `/v1/apps/${app.id}/alerts`, app.secret_key, {
              low_balance: 1000,
            }),
            200,
          );
          for (let index = 0; index < 5; index += 1) {
            const customer = expectStatus(
              await call('POST', '/v1/customers', app.secret_key, { external_id: `crash-${index}` }),
              201,
            );
            expectStatus(
              await call('POST', '/v1/charges', app.secret_key, {
                customer: customer.id,
                model: 'fal-ai/flux/schnell',
                amount: 1,
              }),
              201,
            );
          }
          // The first attempt hangs at the receiver: the server dies with it in flight.
          await waitFor(() => receiver.received.length >= 1, 'the first attempt', 60_000);
          const exited = new Promise((resolve) => server!.child.once('exit', resolve));
          server.child.kill('SIGKILL');
          await exited;

          server = await startServerProcess(database, env, START_TIMEOUT_MILLISECONDS);
          const delivered = () =>
            new Set(
              receiver.received
                .filter((request) => request.status === 200)
                .map((request) => JSON.parse(request.body).id),
            );
          await waitFor(() => delivered().size === 5, 'every event delivered', 60_000);
          // The receiver's 200 comes before the server records it: wait for the records too.
          const deliveries = await waitFor(
            async () => {
              const { data } = expectStatus(await call('GET', '/v1/webhook-deliveries', app.secret_key), 200);
              return data.every((delivery: any) => delivery.status === 'succeeded') ? data : null;
            },
            'every delivery recorded as succeeded',
            60_000,
          );
          expect(deliveries).toHaveLength(5);
        } finally {
          await stopServerProcess(server);
          await receiver.close();
          await database?.close();
          if (folder) rmSync(folder, { recursive: true, force: true });
        }
      },
      4 * START_TIMEOUT_MILLISECONDS,
    );
  });
}
