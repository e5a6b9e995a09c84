/**
 * Auto top-up over real HTTP, on every backend: a card saved through a setup-mode Checkout Session on
 * the Stripe fake, 40 captures crossing the threshold together start one off-session payment, its
 * webhook grants once (replayed: still once), the next crossing starts the next, the monthly cap stops
 * them, a declined card emits `auto_topup.failed` and disables the setting after three; in test mode the
 * simulated card does the same through the same fulfilment. Invalid settings answer 400.
 */
import { Tollgate } from '@tollgate/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAXIMUM_FAILURES, RETRY_AFTER_FAILURE_MILLISECONDS } from '../src/auto-topup/compute.ts';
import { main } from '../src/cli/main.ts';
import { type FakeStripe, startFakeStripe } from './fakes/fake-stripe.ts';
import { testBackends } from './support/databases.ts';
import { expectError, expectStatus, waitFor } from './support/expectations.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const STRIPE_SECRET_KEY = 'sk_test_auto_topup';
const WEBHOOK_SECRET = 'whsec_auto_topup_test';
const MODEL = 'fal-ai/flux/schnell';
const WAIT_MILLISECONDS = 30_000;

type App = { id: string; secret_key: string };
type Customer = { id: string; user_key: string; balance: number };

/** What each suite needs from its server: calls with the app key, captures, events. */
function helpers(server: () => TestServer, app: () => App) {
  const call = (method: string, path: string, body?: unknown) =>
    server().call(method, path, { key: app().secret_key, body });
  return {
    call,
    async customerWith(externalId: string, credits: number): Promise<Customer> {
      const customer = await server().createCustomer(app().secret_key, externalId);
      // The signup bonus is spent first, so the balance is exactly `credits`.
      if (customer.balance > 0) {
        expectStatus(
          await server().call('POST', '/v1/charges', {
            key: customer.user_key,
            body: { customer: customer.id, model: MODEL, amount: customer.balance },
          }),
          201,
        );
      }
      expectStatus(
        await call('POST', `/v1/customers/${customer.id}/grants`, { amount: credits, source: 'promo' }),
        201,
      );
      return customer;
    },
    /** `count` charges of `amount` credits at once, each a capture of its own. */
    async captureTogether(customer: Customer, count: number, amount: number) {
      const answers = await Promise.all(
        Array.from({ length: count }, () =>
          server().call('POST', '/v1/charges', {
            key: customer.user_key,
            body: { customer: customer.id, model: MODEL, amount },
          }),
        ),
      );
      for (const answer of answers) expectStatus(answer, 201);
    },
    /** 30 captures at once that take the balance to just above `target` credits (less than 0.3 above). */
    async crossTo(customer: Customer, target: number) {
      const balance = expectStatus(await call('GET', `/v1/customers/${customer.id}`), 200).balance;
      await this.captureTogether(customer, 30, Math.floor(((balance - target) / 30) * 100) / 100);
    },
    async balance(customer: Customer): Promise<number> {
      return expectStatus(await call('GET', `/v1/customers/${customer.id}`), 200).balance;
    },
    async settings(customer: Customer) {
      return expectStatus(await call('GET', `/v1/customers/${customer.id}/auto-topup`), 200);
    },
    async attempts(customer: Customer) {
      return expectStatus(await call('GET', `/v1/customers/${customer.id}/auto-topup/attempts`), 200).data;
    },
    async events(customer: Customer, type: string) {
      return expectStatus(await call('GET', `/v1/events?type=${type}&customer=${customer.id}`), 200).data;
    },
  };
}

for (const backend of testBackends()) {
  describe(`auto top-up with Stripe (${backend.name})`, () => {
    let fake: FakeStripe;
    let server: TestServer;
    let app: App;
    const webhookTarget = () => ({ url: `${server.url}/v1/webhooks/stripe`, secret: WEBHOOK_SECRET });
    const use = helpers(
      () => server,
      () => app,
    );

    beforeAll(async () => {
      let serverNow: (() => Date) | undefined;
      fake = await startFakeStripe({ clock: { now: () => serverNow?.() ?? new Date() } });
      server = await startTestServer(backend, {
        env: { STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, STRIPE_API_BASE: fake.baseUrl },
      });
      serverNow = () => server.clock.now();
      server.clock.set('2026-05-10T12:00:00Z');
      app = await server.createApp({ name: 'Auto top-up app', return_origins: ['https://app.example'] });
    }, 120_000);
    afterAll(async () => {
      await fake?.close();
      await server?.close();
    });

    /** Sets the auto top-up and saves a card through a setup-mode Checkout Session the customer completes. */
    async function enable(customer: Customer, settings: Record<string, unknown>) {
      const put = expectStatus(
        await use.call('PUT', `/v1/customers/${customer.id}/auto-topup`, settings),
        200,
      );
      expect(put).toMatchObject({
        object: 'auto_topup',
        enabled: true,
        payment_method: null,
        provider: 'stripe',
      });
      const setup = expectStatus(
        await use.call('POST', `/v1/customers/${customer.id}/auto-topup/setup`, {
          success_url: 'https://app.example/saved',
          cancel_url: 'https://app.example/cancelled',
        }),
        201,
      );
      expect(setup).toMatchObject({ object: 'auto_topup.setup', saved: false });
      const sessionId = new URL(setup.url).pathname.split('/').pop()!;
      expect(fake.checkoutSessions.get(sessionId)?.mode).toBe('setup');
      fake.setWebhook(webhookTarget());
      fake.completeCheckoutSession(sessionId);
      await fake.settle();
      fake.setWebhook(undefined);
      const saved = await use.settings(customer);
      expect(saved.payment_method).toMatch(/^pm_/);
      return saved.payment_method as string;
    }

    const paymentIntentsOf = (customer: Customer) =>
      fake
        .requestsTo('POST', '/v1/payment_intents')
        .filter((request) => request.body.metadata?.tollgate_customer_id === customer.id);
    const stripeEventsOf = (paymentIntentId: string, type: string) =>
      fake.events.filter((event) => event.type === type && event.data.object.id === paymentIntentId);

    it('starts one payment however many captures cross the threshold together, and grants it once', async () => {
      const customer = await use.customerWith('crossing-together', 100);
      await enable(customer, { threshold: 50, amount_usd: 10, monthly_cap_usd: 25 });

      // 40 captures of 1.5 credits: 100 → 40, below 50, all at once. Webhooks are delivered by hand.
      await use.captureTogether(customer, 40, 1.5);
      const [attempt] = await waitFor(
        async () => {
          const attempts = await use.attempts(customer);
          return attempts.length > 0 && attempts[0].payment_intent ? attempts : null;
        },
        'the payment to start',
        WAIT_MILLISECONDS,
      );
      // Later commits find the payment in flight: still one.
      await use.captureTogether(customer, 5, 1);
      await server.tollgate.services.autoTopups.idle();
      expect(paymentIntentsOf(customer)).toHaveLength(1);
      const [request] = paymentIntentsOf(customer);
      expect(request!.idempotencyKey).toBe(`auto-topup:${attempt.id}`);
      expect(request!.body).toMatchObject({
        amount: '1000',
        currency: 'usd',
        off_session: 'true',
        confirm: 'true',
      });
      expect(await use.settings(customer)).toMatchObject({ in_flight_attempt: attempt.id });
      expect(await use.balance(customer)).toBe(35);

      // The payment's webhook grants the credits; a redelivery grants nothing more.
      const [succeeded] = stripeEventsOf(attempt.payment_intent, 'payment_intent.succeeded');
      const first = await fake.deliver(succeeded!, webhookTarget());
      expect(first.status, first.body).toBe(200);
      expect(JSON.parse(first.body).result).toBe('fulfilled');
      const replayed = await fake.deliver(succeeded!, webhookTarget());
      expect(JSON.parse(replayed.body).result).toBe('already fulfilled');
      const credits = (await use.attempts(customer))[0].credits;
      expect(credits).toBeGreaterThan(0);
      expect(await use.balance(customer)).toBe(35 + credits);
      expect(await use.events(customer, 'auto_topup.succeeded')).toHaveLength(1);
      expect(await use.events(customer, 'purchase.completed')).toHaveLength(1);
      expect(await use.settings(customer)).toMatchObject({
        in_flight_attempt: null,
        failures: 0,
        spent_this_month_usd: 10,
      });

      // Re-armed: the next crossing starts the next payment ($20 of the $25 cap)…
      await use.crossTo(customer, 45);
      await waitFor(
        async () => paymentIntentsOf(customer).length === 2,
        'the second payment',
        WAIT_MILLISECONDS,
      );
      await server.tollgate.services.autoTopups.idle();
      const second = (await use.attempts(customer))[0];
      const delivered = await fake.deliver(
        stripeEventsOf(second.payment_intent, 'payment_intent.succeeded')[0]!,
        webhookTarget(),
      );
      expect(JSON.parse(delivered.body).result).toBe('fulfilled');
      expect((await use.settings(customer)).spent_this_month_usd).toBe(20);

      // …and a third would pass the monthly cap: none starts.
      await use.crossTo(customer, 45);
      await server.tollgate.services.autoTopups.idle();
      expect(paymentIntentsOf(customer)).toHaveLength(2);
      expect(await use.settings(customer)).toMatchObject({
        in_flight_attempt: null,
        spent_this_month_usd: 20,
      });

      // A new month, a new cap.
      server.clock.set('2026-06-01T00:00:01Z');
      await use.captureTogether(customer, 1, 0.01);
      await waitFor(async () => paymentIntentsOf(customer).length === 3, 'the next month', WAIT_MILLISECONDS);
      await server.tollgate.services.autoTopups.idle();
      server.clock.set('2026-05-10T12:00:00Z');
    });

    it('claims a crossing once even when every check races (as two servers would)', async () => {
      const customer = await use.customerWith('racing-checks', 100);
      await enable(customer, { threshold: 50, amount_usd: 5, monthly_cap_usd: 100 });
      await use.captureTogether(customer, 1, 60);
      // Past this server's one-check-per-customer: 20 checks at once, each its own claim transaction.
      const service = server.tollgate.services.autoTopups;
      const started = await Promise.all(Array.from({ length: 20 }, () => service.check(customer.id)));
      await service.idle();
      const attempts = await use.attempts(customer);
      expect(attempts).toHaveLength(1);
      expect(started.filter((attempt) => attempt !== null).length).toBeLessThanOrEqual(1);
      expect(paymentIntentsOf(customer)).toHaveLength(1);
    });

    it('asks Stripe again under the same idempotency key when it did not answer, and pays once', async () => {
      const customer = await use.customerWith('stripe-unanswered', 100);
      await enable(customer, { threshold: 50, amount_usd: 5, monthly_cap_usd: 100 });
      // The first request and both of the SDK's retries fail: whether it paid is unknown.
      fake.failNext({ method: 'POST', path: '/v1/payment_intents', status: 500, times: 3 });
      await use.captureTogether(customer, 1, 60);
      await server.tollgate.services.autoTopups.idle();
      const [attempt] = await use.attempts(customer);
      expect(attempt).toMatchObject({ status: 'pending', payment_intent: null });
      expect(await use.settings(customer)).toMatchObject({ in_flight_attempt: attempt.id, failures: 0 });
      const service = server.tollgate.services.autoTopups;
      expect(await service.resume()).toBe(0); // too recent: it may still be on its way
      server.clock.advance(61_000);
      expect(await service.resume()).toBe(1);
      const requests = paymentIntentsOf(customer);
      expect(requests.map((request) => request.idempotencyKey)).toEqual(
        Array(4).fill(`auto-topup:${attempt.id}`),
      );
      expect(requests.filter((request) => request.status === 200)).toHaveLength(1);
      const [resumed] = await use.attempts(customer);
      expect(resumed.payment_intent).toMatch(/^pi_/);
      const delivered = await fake.deliver(
        stripeEventsOf(resumed.payment_intent, 'payment_intent.succeeded')[0]!,
        webhookTarget(),
      );
      expect(JSON.parse(delivered.body).result).toBe('fulfilled');
      expect(await service.resume()).toBe(0);
      expect(await use.balance(customer)).toBe(40 + resumed.credits);
    });

    it('never asks Stripe again once its idempotency key may have expired: the attempt fails instead', async () => {
      const customer = await use.customerWith('stripe-silent-a-day', 100);
      await enable(customer, { threshold: 50, amount_usd: 5, monthly_cap_usd: 100 });
      fake.failNext({ method: 'POST', path: '/v1/payment_intents', status: 500, times: 3 });
      await use.captureTogether(customer, 1, 60);
      const service = server.tollgate.services.autoTopups;
      await service.idle();
      const [attempt] = await use.attempts(customer);
      expect(attempt).toMatchObject({ status: 'pending', payment_intent: null });
      // The server was away for a day: Stripe may have forgotten the key, so a new request could pay twice.
      server.clock.advance(23 * 60 * 60_000 + 1_000);
      await service.resume();
      expect(paymentIntentsOf(customer)).toHaveLength(3);
      const [failed] = await use.attempts(customer);
      expect(failed.status).toBe('failed');
      expect(await use.settings(customer)).toMatchObject({ in_flight_attempt: null, failures: 1 });
      expect(await use.events(customer, 'auto_topup.failed')).toHaveLength(1);
      expect(await use.balance(customer)).toBe(40);
    });

    it('settles a payment whose webhook never came by asking Stripe for it; the late webhook adds nothing', async () => {
      const service = server.tollgate.services.autoTopups;
      const paid = await use.customerWith('webhook-lost-paid', 100);
      const cancelled = await use.customerWith('webhook-lost-cancelled', 100);
      for (const customer of [paid, cancelled]) {
        await enable(customer, { threshold: 50, amount_usd: 5, monthly_cap_usd: 100 });
        await use.captureTogether(customer, 1, 60);
      }
      await service.idle();
      const [attempt] = await use.attempts(paid);
      const [other] = await use.attempts(cancelled);
      for (const each of [attempt, other])
        expect(each).toMatchObject({ status: 'pending', payment_intent: expect.stringMatching(/^pi_/) });
      // Stripe cancelled the second one (as a payment left unconfirmed would be), and no event was delivered.
      fake.paymentIntents.get(other.payment_intent)!.status = 'canceled';

      // Too recent: the webhooks may still come. (Other tests' unsettled attempts may be counted too.)
      await service.reconcile();
      expect((await use.attempts(paid))[0].status).toBe('pending');
      expect((await use.attempts(cancelled))[0].status).toBe('pending');
      server.clock.advance(10 * 60_000 + 1_000);
      expect(await service.reconcile()).toBeGreaterThanOrEqual(2);

      const [settled] = await use.attempts(paid);
      expect(settled.status).toBe('succeeded');
      expect(await use.balance(paid)).toBe(40 + settled.credits);
      expect(await use.settings(paid)).toMatchObject({ in_flight_attempt: null, failures: 0 });
      expect(await use.events(paid, 'auto_topup.succeeded')).toHaveLength(1);
      const [failed] = await use.attempts(cancelled);
      expect(failed.status).toBe('failed');
      expect(await use.balance(cancelled)).toBe(40);
      expect(await use.settings(cancelled)).toMatchObject({ in_flight_attempt: null, failures: 1 });
      expect(await use.events(cancelled, 'auto_topup.failed')).toHaveLength(1);

      // The webhook arrives after all: the purchase was fulfilled once, nothing more is granted.
      const late = await fake.deliver(
        stripeEventsOf(attempt.payment_intent, 'payment_intent.succeeded')[0]!,
        webhookTarget(),
      );
      expect(late.status, late.body).toBe(200);
      expect(JSON.parse(late.body).result).toBe('already fulfilled');
      expect(await use.balance(paid)).toBe(40 + settled.credits);
      expect(await use.events(paid, 'purchase.completed')).toHaveLength(1);
      expect(await service.reconcile()).toBe(0); // nothing is left to settle
      expect(await use.balance(paid)).toBe(40 + settled.credits);
    });

    it('a declined card emits auto_topup.failed and disables the setting after three failures', async () => {
      const customer = await use.customerWith('declined-card', 100);
      const paymentMethod = await enable(customer, { threshold: 50, amount_usd: 5, monthly_cap_usd: 100 });
      fake.declinePaymentMethod(paymentMethod);
      fake.setWebhook(webhookTarget());
      try {
        await use.captureTogether(customer, 10, 6);
        for (let failure = 1; failure <= MAXIMUM_FAILURES; failure += 1) {
          await waitFor(
            async () => (await use.events(customer, 'auto_topup.failed')).length === failure,
            `failure ${failure}`,
            WAIT_MILLISECONDS,
          );
          await server.tollgate.services.autoTopups.idle();
          await fake.settle();
          const settings = await use.settings(customer);
          expect(settings).toMatchObject({
            failures: failure,
            enabled: failure < MAXIMUM_FAILURES,
            in_flight_attempt: null,
          });
          // Not retried at once: only after the pause, on the next movement.
          await use.captureTogether(customer, 1, 0.01);
          await server.tollgate.services.autoTopups.idle();
          expect(paymentIntentsOf(customer)).toHaveLength(failure);
          server.clock.advance(RETRY_AFTER_FAILURE_MILLISECONDS + 1000);
          await use.captureTogether(customer, 1, 0.01);
        }
        await server.tollgate.services.autoTopups.idle();
        expect(paymentIntentsOf(customer)).toHaveLength(MAXIMUM_FAILURES);
        expect(await use.settings(customer)).toMatchObject({
          enabled: false,
          disabled_reason: 'payment_failed',
        });
        const [last] = await use.events(customer, 'auto_topup.failed');
        expect(last.data).toMatchObject({
          failures: MAXIMUM_FAILURES,
          disabled: true,
          reason: 'payment_failed',
        });
        // The payment_failed webhooks found their attempts failed already: counted once each.
        expect(fake.deliveries.filter((delivery) => delivery.status !== 200)).toEqual([]);
        expect(await use.balance(customer)).toBeCloseTo(100 - 60 - 2 * MAXIMUM_FAILURES * 0.01, 6);

        // Setting it again enables it, failures forgotten.
        expect(
          expectStatus(
            await use.call('PUT', `/v1/customers/${customer.id}/auto-topup`, {
              threshold: 50,
              amount_usd: 5,
              monthly_cap_usd: 100,
            }),
            200,
          ),
        ).toMatchObject({ enabled: true, failures: 0, payment_method: paymentMethod });
        await server.tollgate.services.autoTopups.idle();
        await fake.settle();
      } finally {
        fake.setWebhook(undefined);
      }
    });

    it('refuses invalid settings with 400 invalid_request, and other apps and user keys', async () => {
      const customer = await use.customerWith('invalid-settings', 10);
      const put = (body: unknown) => use.call('PUT', `/v1/customers/${customer.id}/auto-topup`, body);
      const valid = { threshold: 5, amount_usd: 10, monthly_cap_usd: 50 };
      for (const body of [
        { ...valid, threshold: -1 },
        { ...valid, threshold: 0 },
        { ...valid, threshold: 1e12 },
        { ...valid, threshold: 'lots' },
        { ...valid, amount_usd: 1 },
        { ...valid, amount_usd: 10.001 },
        { ...valid, amount_usd: 2_000_000 },
        { ...valid, monthly_cap_usd: 5 },
        { ...valid, monthly_cap_usd: 1e9 },
        { ...valid, extra: true },
        { threshold: 5, amount_usd: 10 },
        '[]',
      ]) {
        expectError(await put(body), 400, 'invalid_request');
      }
      expectError(await use.call('GET', `/v1/customers/${customer.id}/auto-topup`), 404, 'not_found');
      expectError(
        await use.call('POST', `/v1/customers/${customer.id}/auto-topup/setup`, {}),
        409,
        'invalid_state',
      );
      expectStatus(await put(valid), 200);
      expectError(
        await use.call('POST', `/v1/customers/${customer.id}/auto-topup/setup`, {
          success_url: 'https://evil.example/',
        }),
        400,
        'invalid_request',
      );
      const other = await server.createApp({ name: 'Other app' });
      expectError(
        await server.call('GET', `/v1/customers/${customer.id}/auto-topup`, { key: other.secret_key }),
        404,
        'not_found',
      );
      const asUser = await server.call('PUT', `/v1/customers/${customer.id}/auto-topup`, {
        key: customer.user_key,
        body: valid,
      });
      expect(asUser.status).toBe(403);
      expectStatus(await use.call('DELETE', `/v1/customers/${customer.id}/auto-topup`), 200);
      expectError(await use.call('DELETE', `/v1/customers/${customer.id}/auto-topup`), 404, 'not_found');
    });
  });

  describe(`auto top-up in test mode (${backend.name})`, () => {
    let server: TestServer;
    let app: App;
    const use = helpers(
      () => server,
      () => app,
    );

    beforeAll(async () => {
      server = await startTestServer(backend, { env: { TOLLGATE_TEST_MODE: '1' } });
      server.clock.set('2026-05-10T12:00:00Z');
      app = await server.createApp({ name: 'Test-mode auto top-up' });
    }, 120_000);
    afterAll(async () => {
      await server?.close();
    });

    it('the simulated card tops up once per crossing through the same fulfilment', async () => {
      const customer = await use.customerWith('simulated-card', 100);
      const settings = expectStatus(
        await use.call('PUT', `/v1/customers/${customer.id}/auto-topup`, {
          threshold: 50,
          amount_usd: 10,
          monthly_cap_usd: 100,
        }),
        200,
      );
      expect(settings).toMatchObject({ provider: 'test', payment_method: 'pm_test_tollgate_card' });
      await use.captureTogether(customer, 40, 1.5);
      const [attempt] = await waitFor(
        async () => {
          const attempts = await use.attempts(customer);
          return attempts[0]?.status === 'succeeded' ? attempts : null;
        },
        'the simulated payment',
        WAIT_MILLISECONDS,
      );
      await server.tollgate.services.autoTopups.idle();
      expect(await use.attempts(customer)).toHaveLength(1);
      expect(await use.balance(customer)).toBe(40 + attempt.credits);
      expect(await use.events(customer, 'auto_topup.succeeded')).toHaveLength(1);

      // The declining simulated card fails the next crossing.
      expectStatus(
        await use.call('POST', `/v1/customers/${customer.id}/auto-topup/setup`, { test_card: 'declines' }),
        201,
      );
      await use.crossTo(customer, 45);
      await waitFor(
        async () => (await use.events(customer, 'auto_topup.failed')).length === 1,
        'the declined payment',
        WAIT_MILLISECONDS,
      );
      await server.tollgate.services.autoTopups.idle();
      expect(await use.settings(customer)).toMatchObject({
        failures: 1,
        enabled: true,
        in_flight_attempt: null,
      });
    });

    it('is reachable through the CLI', async () => {
      const customer = await use.customerWith('through-the-cli', 10);
      const run = async (...argv: string[]) => {
        let stdout = '';
        let stderr = '';
        const code = await main(argv, {
          stdout: { write: (chunk: string) => (stdout += chunk), isTTY: false } as never,
          stderr: { write: (chunk: string) => (stderr += chunk), isTTY: false } as never,
          stdin: process.stdin,
          env: { TOLLGATE_URL: server.url, TOLLGATE_API_KEY: app.secret_key },
        });
        return { code, stdout, stderr };
      };
      const set = await run(
        'auto-topup',
        'set',
        '--customer',
        customer.id,
        '--threshold',
        '5',
        '--amount-usd',
        '10',
        '--monthly-cap-usd',
        '40',
      );
      expect(set.code, set.stderr).toBe(0);
      expect(set.stdout).toContain('below 5 credits buy $10, at most $40 a month');
      const shown = await run('auto-topup', 'show', '--customer', customer.id, '--json');
      expect(JSON.parse(shown.stdout)).toMatchObject({ object: 'auto_topup', threshold: 5, amount_usd: 10 });
      expect((await run('auto-topup', 'set', '--customer', customer.id, '--threshold', '5')).code).toBe(2);
      expect((await run('auto-topup', 'remove', '--customer', customer.id)).code).toBe(0);
      expect((await run('auto-topup', 'show', '--customer', customer.id)).code).toBe(1);
    });

    it('is reachable through the client SDK', async () => {
      const customer = await use.customerWith('through-the-sdk', 10);
      const sdk = new Tollgate({ baseUrl: server.url, apiKey: app.secret_key });
      const set = await sdk.autoTopups.set(customer.id, {
        threshold: 5,
        amount_usd: '7.50',
        monthly_cap_usd: 30,
      });
      expect(set).toMatchObject({ threshold: 5, amount_usd: 7.5, monthly_cap_usd: 30, enabled: true });
      expect((await sdk.autoTopups.setup(customer.id, { test_card: 'succeeds' })).saved).toBe(true);
      expect((await sdk.autoTopups.retrieve(customer.id)).payment_method).toBe('pm_test_tollgate_card');
      expect((await sdk.autoTopups.attempts(customer.id)).data).toEqual([]);
      expect((await sdk.autoTopups.delete(customer.id)).deleted).toBe(true);
      await expect(sdk.autoTopups.retrieve(customer.id)).rejects.toMatchObject({ code: 'not_found' });
    });
  });
}
