/**
 * Subscription timelines end to end over real HTTP, on every backend, driven by the manual clock.
 *
 * Test mode (no Stripe keys): start (paid on the test checkout page) → the period's allowance, spent
 * before purchased credits → upgrade mid-period (its prorated charge paid on the test page, then the
 * extra allowance) → renewal (fresh allowance, the old one expired, purchases untouched, the charge
 * recorded) → downgrade at the period end → cancel at the period end.
 *
 * Stripe mode (the local fake through the real SDK): subscription Checkout, `invoice.paid` for each
 * period (redelivered → one grant), an upgrade through the API, `invoice.payment_failed` → past_due,
 * a downgrade that Stripe bills from the next period, cancellation → `customer.subscription.deleted`.
 * The billing catalog reflects the subscription and the wallet throughout.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger } from '../src/ledger/audit.ts';
import type { ManualClock } from '../src/shared/clock.ts';
import {
  type FakeStripe,
  invoiceLineObject,
  invoicePaidEvent,
  type JsonObject,
  startFakeStripe,
} from './fakes/fake-stripe.ts';
import { testBackends } from './support/databases.ts';
import { expectError, expectHistoryReplays, expectStatus } from './support/expectations.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const STRIPE_SECRET_KEY = 'sk_test_tollgate_subscriptions_0123';
const WEBHOOK_SECRET = 'whsec_tollgate_subscriptions_0123456789';

type App = { id: string; secret_key: string; publishable_key: string };
type Customer = { id: string; user_key: string; balance: number };

/** (new − old) × remaining / total of the period, rounded down to the micro-credit, in credits. */
function expectedProration(
  oldCredits: number,
  newCredits: number,
  start: Date,
  end: Date,
  now: Date,
): number {
  const differenceMicros = BigInt(newCredits - oldCredits) * 1_000_000n;
  const micros =
    (differenceMicros * BigInt(end.getTime() - now.getTime())) / BigInt(end.getTime() - start.getTime());
  return Number(micros) / 1e6;
}

const round6 = (value: number) => Math.round(value * 1e6) / 1e6;

for (const backend of testBackends()) {
  describe(`subscriptions in test mode (${backend.name})`, () => {
    let server: TestServer;
    let app: App;

    beforeAll(async () => {
      server = await startTestServer(backend);
      // A fixed calendar: periods are Jan 15 → Feb 15 (31 days) → Mar 15 (28 days) → Apr 15.
      server.clock.set('2031-01-15T00:00:00.000Z');
      app = await server.createApp({ name: 'Plans app' });
    });
    afterAll(async () => {
      await server?.close();
    });

    const customerView = async (customer: string) =>
      expectStatus(await server.call('GET', `/v1/customers/${customer}`, { key: app.secret_key }), 200);
    const subscriptionOf = async (customer: string) =>
      expectStatus(
        await server.call('GET', `/v1/customers/${customer}/subscription`, { key: app.secret_key }),
        200,
      ).subscription;
    const historyOf = async (customer: string) =>
      expectStatus(
        await server.call('GET', `/v1/customers/${customer}/transactions?limit=200`, { key: app.secret_key }),
        200,
      ).data;
    const catalogOf = async (customer: string) =>
      expectStatus(
        await server.call('GET', `/v1/billing/catalog?customer=${customer}`, { key: app.secret_key }),
        200,
      );
    const charge = async (customer: string, amount: number) =>
      expectStatus(
        await server.call('POST', '/v1/charges', {
          key: app.secret_key,
          body: { customer, model: 'custom/work', amount },
        }),
        201,
      );
    const allowanceGrants = (view: any) => view.grants.filter((grant: any) => grant.source === 'allowance');
    /** The buyer presses Pay on the test checkout page they were sent to. */
    const payTestPage = async (url: string) => {
      const paid = await fetch(`${url}/pay`, { method: 'POST', headers: { accept: 'application/json' } });
      expect(paid.status, await paid.clone().text()).toBe(200);
      return paid.json();
    };
    const chargesOf = (customer: string) =>
      server.tollgate.db.query<{ kind: string; plan_code: string; amount_cents: bigint; status: string }>(
        'select kind, plan_code, amount_cents, status from subscription_charges where customer_id = $1 order by created_at, id',
        [customer],
      );

    it('start, spend, upgrade, renew, downgrade, cancel: allowances follow the plan, purchases are untouched', async () => {
      const customer: Customer = await server.createCustomer(app.secret_key, 'planner');

      // Purchased credits first (test-mode checkout), so that we can see what a charge spends.
      const checkout = expectStatus(
        await server.call('POST', '/v1/checkout/sessions', {
          key: app.secret_key,
          body: { customer: customer.id, amount_usd: 25 },
        }),
        201,
      );
      await payTestPage(checkout.url);
      expect((await customerView(customer.id)).breakdown).toMatchObject({
        purchase: 2500,
        promo: 500,
        allowance: 0,
      });
      expect((await catalogOf(customer.id)).subscription).toBeNull();

      // --- Start Microbudget on Jan 15: 1,000 credits of allowance until Feb 15.
      const started = expectStatus(
        await server.call('POST', `/v1/customers/${customer.id}/subscription`, {
          key: app.secret_key,
          body: { plan: 'microbudget' },
        }),
        201,
      );
      // Nothing starts (and nothing is granted) before the plan's first period is paid.
      expect(started.subscription).toBeNull();
      expect(started.checkout.url).toMatch(/\/checkout\/test\//);
      expect(await subscriptionOf(customer.id)).toBeNull();
      expect((await customerView(customer.id)).balance).toBe(3000);
      const startPage = await (await fetch(started.checkout.url)).text();
      expect(startPage).toContain('TEST MODE');
      expect(startPage).toContain('$10.00');
      await payTestPage(started.checkout.url);
      // Paying twice starts it once.
      await payTestPage(started.checkout.url);
      expect(await subscriptionOf(customer.id)).toMatchObject({
        plan: 'microbudget',
        status: 'active',
        provider: 'test',
        allowance: 1000,
        allowance_remaining: 1000,
        current_period_start: '2031-01-15T00:00:00.000Z',
        current_period_end: '2031-02-15T00:00:00.000Z',
        cancel_at_period_end: false,
        pending_plan: null,
      });
      expectError(
        await server.call('POST', `/v1/customers/${customer.id}/subscription`, {
          key: app.secret_key,
          body: { plan: 'hollywood' },
        }),
        409,
        'invalid_state',
      );
      let view = await customerView(customer.id);
      expect(view.balance).toBe(4000);
      expect(allowanceGrants(view)).toEqual([
        expect.objectContaining({ amount: 1000, remaining: 1000, expires_at: '2031-02-15T00:00:00.000Z' }),
      ]);

      // The allowance is spent before purchased (and promotional) credits.
      server.clock.set('2031-01-20T00:00:00.000Z');
      await charge(customer.id, 300);
      view = await customerView(customer.id);
      expect(view.breakdown).toMatchObject({ allowance: 700, purchase: 2500, promo: 500 });
      expect(view.balance).toBe(3700);
      const catalog = await catalogOf(customer.id);
      expect(catalog.subscription).toMatchObject({
        plan: 'microbudget',
        status: 'active',
        allowance_remaining: 700,
      });
      expect(catalog.wallet).toMatchObject({ balance: 3700, available: 3700, currency: 'credits' });
      const asUser = expectStatus(
        await server.call('GET', '/v1/billing/catalog', { headers: { 'x-user-key': customer.user_key } }),
        200,
      );
      expect(asUser.subscription).toEqual(catalog.subscription);
      expect(asUser.wallet.balance).toBe(3700);

      // --- Upgrade to Independent on Jan 25: 21 of 31 days left.
      server.clock.set('2031-01-25T00:00:00.000Z');
      const extra = expectedProration(
        1000,
        2500,
        new Date('2031-01-15T00:00:00Z'),
        new Date('2031-02-15T00:00:00Z'),
        server.clock.now(),
      );
      expect(extra).toBe(1016.129032); // 1,500 × 21/31, rounded down to the micro-credit
      const upgraded = expectStatus(
        await server.call('PATCH', `/v1/customers/${customer.id}/subscription`, {
          key: app.secret_key,
          body: { plan: 'independent' },
        }),
        200,
      );
      expect(upgraded).toMatchObject({
        change: 'upgrade',
        status: 'awaiting_payment',
        prorated_allowance: extra,
        prorated_charge_usd: 10.16,
      });
      // Not applied until the prorated charge is paid.
      expect(upgraded.subscription).toMatchObject({ plan: 'microbudget', allowance_remaining: 700 });
      expect((await customerView(customer.id)).balance).toBe(3700);
      await payTestPage(upgraded.checkout.url);
      expect(await subscriptionOf(customer.id)).toMatchObject({
        plan: 'independent',
        allowance: 2500,
        allowance_remaining: round6(700 + extra),
        current_period_end: '2031-02-15T00:00:00.000Z',
        pending_plan: null,
      });
      view = await customerView(customer.id);
      expect(view.balance).toBe(round6(3700 + extra));
      expect(view.breakdown).toMatchObject({ allowance: round6(700 + extra), purchase: 2500, promo: 500 });
      expect(allowanceGrants(view).map((grant: any) => [grant.amount, grant.expires_at])).toEqual([
        [1000, '2031-02-15T00:00:00.000Z'],
        [extra, '2031-02-15T00:00:00.000Z'],
      ]);
      // The same plan again changes nothing.
      const same = expectStatus(
        await server.call('PATCH', `/v1/customers/${customer.id}/subscription`, {
          key: app.secret_key,
          body: { plan: 'independent' },
        }),
        200,
      );
      expect(same.change).toBe('none');
      expect((await customerView(customer.id)).balance).toBe(round6(3700 + extra));

      // Spending still takes the allowance first.
      await charge(customer.id, 800);
      view = await customerView(customer.id);
      expect(view.breakdown).toMatchObject({
        allowance: round6(700 + extra - 800),
        purchase: 2500,
        promo: 500,
      });
      const leftover = round6(700 + extra - 800);

      // Each charge is on record: the start and the upgrade, paid.
      expect(
        (await chargesOf(customer.id)).map((row) => [
          row.kind,
          row.plan_code,
          Number(row.amount_cents),
          row.status,
        ]),
      ).toEqual([
        ['start', 'microbudget', 1000, 'paid'],
        ['upgrade', 'independent', 1016, 'paid'],
      ]);

      // Nothing renews before the period ends.
      server.clock.set('2031-02-14T23:59:59.000Z');
      expect(await server.tollgate.services.subscriptions.renewDue()).toBe(0);

      // --- Renewal on Feb 15: a fresh Independent allowance, the old one expired, purchases untouched.
      server.clock.set('2031-02-15T01:00:00.000Z');
      expect(await server.tollgate.services.subscriptions.renewDue()).toBe(1);
      expect(await server.tollgate.services.subscriptions.renewDue()).toBe(0);
      view = await customerView(customer.id);
      expect(view.breakdown).toMatchObject({ allowance: 2500, purchase: 2500, promo: 500 });
      expect(view.balance).toBe(5500);
      expect(allowanceGrants(view)).toEqual([
        expect.objectContaining({ amount: 2500, remaining: 2500, expires_at: '2031-03-15T00:00:00.000Z' }),
      ]);
      expect(await subscriptionOf(customer.id)).toMatchObject({
        plan: 'independent',
        status: 'active',
        allowance_remaining: 2500,
        current_period_start: '2031-02-15T00:00:00.000Z',
        current_period_end: '2031-03-15T00:00:00.000Z',
      });
      let history = await historyOf(customer.id);
      // The old allowance left the balance as an expiry, before the new period's grant.
      // The charge of 800 took the first grant's last 700 and 100 of the upgrade's, so one grant expires.
      expect(history.slice(0, 2).map((row: any) => [row.type, row.amount, row.balance_after])).toEqual([
        ['allowance', 2500, 5500],
        ['expire', -leftover, 3000],
      ]);
      const expired = history.filter((row: any) => row.type === 'expire');
      expect(round6(expired.reduce((sum: number, row: any) => sum + row.amount, 0))).toBe(-leftover);
      for (const row of history) expect(row.balance_after).toBeGreaterThanOrEqual(0);
      expectHistoryReplays(history);

      // --- Downgrade on Feb 20: nothing changes until Mar 15.
      server.clock.set('2031-02-20T00:00:00.000Z');
      const downgraded = expectStatus(
        await server.call('PATCH', `/v1/customers/${customer.id}/subscription`, {
          key: app.secret_key,
          body: { plan: 'microbudget' },
        }),
        200,
      );
      expect(downgraded).toMatchObject({ change: 'downgrade', effective_at: '2031-03-15T00:00:00.000Z' });
      expect(downgraded.subscription).toMatchObject({
        plan: 'independent',
        pending_plan: 'microbudget',
        allowance: 2500,
        allowance_remaining: 2500,
      });
      expect((await customerView(customer.id)).balance).toBe(5500);
      expect((await catalogOf(customer.id)).subscription).toMatchObject({
        plan: 'independent',
        pending_plan: 'microbudget',
      });

      server.clock.set('2031-03-15T01:00:00.000Z');
      expect(await server.tollgate.services.subscriptions.renewDue()).toBe(1);
      expect(await subscriptionOf(customer.id)).toMatchObject({
        plan: 'microbudget',
        pending_plan: null,
        allowance: 1000,
        allowance_remaining: 1000,
        current_period_start: '2031-03-15T00:00:00.000Z',
        current_period_end: '2031-04-15T00:00:00.000Z',
      });
      view = await customerView(customer.id);
      expect(view.breakdown).toMatchObject({ allowance: 1000, purchase: 2500, promo: 500 });
      expect(view.balance).toBe(4000);

      // --- Cancel on Mar 20: active until Apr 15, then nothing more.
      server.clock.set('2031-03-20T00:00:00.000Z');
      const cancelled = expectStatus(
        await server.call('DELETE', `/v1/customers/${customer.id}/subscription`, { key: app.secret_key }),
        200,
      );
      expect(cancelled.subscription).toMatchObject({
        plan: 'microbudget',
        status: 'active',
        cancel_at_period_end: true,
        allowance_remaining: 1000,
      });
      expect((await catalogOf(customer.id)).subscription).toMatchObject({ cancel_at_period_end: true });
      // While cancelled, no plan change; resume undoes the cancellation. (Cancel dropping a pending
      // downgrade: dashboard-trust.browser.test.ts, from Hollywood.)
      const path = `/v1/customers/${customer.id}/subscription`;
      const refused = await server.call('PATCH', path, { key: app.secret_key, body: { plan: 'hollywood' } });
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('invalid_state');
      const resumed = expectStatus(await server.call('POST', `${path}/resume`, { key: app.secret_key }), 200);
      expect(resumed.subscription).toMatchObject({ cancel_at_period_end: false, plan: 'microbudget' });
      const again = expectStatus(await server.call('DELETE', path, { key: app.secret_key }), 200);
      expect(again.subscription).toMatchObject({ cancel_at_period_end: true, pending_plan: null });

      server.clock.set('2031-04-15T01:00:00.000Z');
      expect(await server.tollgate.services.subscriptions.renewDue()).toBe(1);
      expect(await subscriptionOf(customer.id)).toBeNull();
      view = await customerView(customer.id);
      expect(view.breakdown).toMatchObject({ allowance: 0, purchase: 2500, promo: 500 });
      expect(view.balance).toBe(3000);
      expect(view.subscription).toBeNull();
      const finalCatalog = await catalogOf(customer.id);
      expect(finalCatalog.subscription).toBeNull();
      expect(finalCatalog.wallet).toMatchObject({ balance: 3000 });

      server.clock.set('2031-06-01T00:00:00.000Z');
      expect(await server.tollgate.services.subscriptions.renewDue()).toBe(0);
      // Every period was charged: the start, the upgrade and the two renewals (the cancelled period none).
      expect(
        (await chargesOf(customer.id)).map((row) => [
          row.kind,
          row.plan_code,
          Number(row.amount_cents),
          row.status,
        ]),
      ).toEqual([
        ['start', 'microbudget', 1000, 'paid'],
        ['upgrade', 'independent', 1016, 'paid'],
        ['renewal', 'independent', 2500, 'paid'],
        ['renewal', 'microbudget', 1000, 'paid'],
      ]);
      history = await historyOf(customer.id);
      expect(history.filter((row: any) => row.type === 'allowance').map((row: any) => row.amount)).toEqual([
        1000,
        2500,
        extra,
        1000,
      ]);
      expect((await customerView(customer.id)).balance).toBe(3000);
      expectHistoryReplays(history);
      // No subscription left to change or cancel.
      expectError(
        await server.call('DELETE', `/v1/customers/${customer.id}/subscription`, { key: app.secret_key }),
        409,
        'invalid_state',
      );
      expectError(
        await server.call('PATCH', `/v1/customers/${customer.id}/subscription`, {
          key: app.secret_key,
          body: { plan: 'hollywood' },
        }),
        409,
        'invalid_state',
      );
    });

    it('refuses unknown plans, and a user key manages its own subscription', async () => {
      const customer: Customer = await server.createCustomer(app.secret_key, 'self-serve');
      expectError(
        await server.call('POST', `/v1/customers/${customer.id}/subscription`, {
          key: app.secret_key,
          body: { plan: 'platinum' },
        }),
        400,
        'invalid_request',
      );
      const started = expectStatus(
        await server.call('POST', `/v1/customers/${customer.id}/subscription`, {
          headers: { 'x-user-key': customer.user_key },
          body: { plan: 'hollywood' },
        }),
        201,
      );
      await payTestPage(started.checkout.url);
      expect(await subscriptionOf(customer.id)).toMatchObject({
        plan: 'hollywood',
        allowance: 5000,
        allowance_remaining: 5000,
      });
      const balance = expectStatus(
        await server.call('GET', '/v1/credits/balance', { headers: { 'x-user-key': customer.user_key } }),
        200,
      );
      expect(balance.balance).toBe(5500);
      const other = await server.createApp({ name: 'Nosy app' });
      expectError(
        await server.call('GET', `/v1/customers/${customer.id}/subscription`, { key: other.secret_key }),
        404,
        'not_found',
      );
      expectError(
        await server.call('DELETE', `/v1/customers/${customer.id}/subscription`, { key: other.secret_key }),
        404,
        'not_found',
      );
      const audit = await auditLedger(server.tollgate.db, server.clock);
      expect(audit.problems).toEqual([]);
    });
  });

  describe(`subscriptions with Stripe (${backend.name})`, () => {
    let fake: FakeStripe;
    let server: TestServer;
    let app: App;
    let webhookUrl: string;
    let serverClock: ManualClock | undefined;

    beforeAll(async () => {
      fake = await startFakeStripe({ clock: { now: () => serverClock?.now() ?? new Date() } });
      server = await startTestServer(backend, {
        env: { STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, STRIPE_API_BASE: fake.baseUrl },
      });
      server.clock.set('2031-01-15T00:00:00.000Z');
      serverClock = server.clock;
      webhookUrl = `${server.url}/v1/webhooks/stripe`;
      fake.setWebhook({ url: webhookUrl, secret: WEBHOOK_SECRET });
      app = await server.createApp({ name: 'Stripe plans app', return_origins: ['https://app.example'] });
    });
    afterAll(async () => {
      await fake?.close();
      await server?.close();
    });
    afterEach(async () => {
      await fake.settle();
      const refused = fake.deliveries.filter((delivery) => delivery.status !== 200);
      expect(refused.map((delivery) => `${delivery.event.type} ${delivery.status} ${delivery.body}`)).toEqual(
        [],
      );
    });

    const customerView = async (customer: string) =>
      expectStatus(await server.call('GET', `/v1/customers/${customer}`, { key: app.secret_key }), 200);
    const subscriptionOf = async (customer: string) =>
      expectStatus(
        await server.call('GET', `/v1/customers/${customer}/subscription`, { key: app.secret_key }),
        200,
      ).subscription;
    const allowanceRows = async (customer: string) =>
      expectStatus(
        await server.call('GET', `/v1/customers/${customer}/transactions?limit=200`, { key: app.secret_key }),
        200,
      ).data.filter((row: any) => row.type === 'allowance');
    const resultOf = (delivery: { body: string }) => JSON.parse(delivery.body).result as string;
    /** Runs a Stripe-side action without delivering its events, and returns them. */
    const quietly = <T>(action: () => T): T => {
      fake.setWebhook(undefined);
      try {
        return action();
      } finally {
        fake.setWebhook({ url: webhookUrl, secret: WEBHOOK_SECRET });
      }
    };
    const deliveredSince = (index: number) =>
      fake.deliveries.slice(index).map((delivery) => [delivery.event.type, resultOf(delivery)]);

    it('checkout, invoice.paid per period (redelivered: one grant), upgrade, payment failure, downgrade, cancel', async () => {
      const customer: Customer = await server.createCustomer(app.secret_key, 'stripe-planner');

      // --- Start: a subscription-mode Checkout Session through the SDK.
      const started = expectStatus(
        await server.call('POST', `/v1/customers/${customer.id}/subscription`, {
          key: app.secret_key,
          body: { plan: 'microbudget', success_url: 'https://app.example/plan-ok' },
        }),
        201,
      );
      expect(started.subscription).toBeNull();
      expect(started.checkout.url).toBe(`${fake.baseUrl}/c/pay/${started.checkout.id}`);
      const request = fake.requestsTo('POST', '/v1/checkout/sessions').at(-1)!;
      expect(request.body).toMatchObject({
        mode: 'subscription',
        success_url: 'https://app.example/plan-ok',
        line_items: [
          {
            quantity: '1',
            price_data: { currency: 'usd', unit_amount: '1000', recurring: { interval: 'month' } },
          },
        ],
        subscription_data: { metadata: { tollgate_customer_id: customer.id, tollgate_plan: 'microbudget' } },
      });
      const ourSubscriptionId = request.body.client_reference_id as string;
      expect(request.body.subscription_data.metadata.tollgate_subscription_id).toBe(ourSubscriptionId);
      expect(request.idempotencyKey).toContain(ourSubscriptionId);
      expect(await subscriptionOf(customer.id)).toBeNull(); // nothing until Stripe says it is paid

      // The buyer pays: Stripe sends invoice.paid before checkout.session.completed.
      let mark = fake.deliveries.length;
      const { session } = fake.completeCheckoutSession(started.checkout.id);
      await fake.settle();
      expect(deliveredSince(mark)).toEqual([
        ['customer.subscription.created', 'ignored: customer.subscription.created'],
        ['invoice.paid', 'allowance granted'],
        ['checkout.session.completed', 'subscription linked'],
      ]);
      const stripeSubscriptionId = session.subscription as string;
      const stripeSubscription = () => fake.subscriptions.get(stripeSubscriptionId)!;
      const firstStart = new Date(stripeSubscription().items.data[0].current_period_start * 1000);
      const firstEnd = new Date(stripeSubscription().items.data[0].current_period_end * 1000);
      expect(firstStart.toISOString()).toBe('2031-01-15T00:00:00.000Z');
      expect(firstEnd.toISOString()).toBe('2031-02-15T00:00:00.000Z');
      expect(await subscriptionOf(customer.id)).toMatchObject({
        id: ourSubscriptionId,
        plan: 'microbudget',
        status: 'active',
        provider: 'stripe',
        allowance_remaining: 1000,
        current_period_start: firstStart.toISOString(),
        current_period_end: firstEnd.toISOString(),
      });
      expect((await customerView(customer.id)).balance).toBe(1500);

      // --- Upgrade on Jan 25: Stripe is updated through the API, the extra allowance is prorated.
      server.clock.set('2031-01-25T00:00:00.000Z');
      const extra = expectedProration(1000, 2500, firstStart, firstEnd, server.clock.now());
      mark = fake.deliveries.length;
      const upgraded = expectStatus(
        await server.call('PATCH', `/v1/customers/${customer.id}/subscription`, {
          key: app.secret_key,
          body: { plan: 'independent' },
        }),
        200,
      );
      expect(upgraded).toMatchObject({
        change: 'upgrade',
        prorated_allowance: extra,
        prorated_charge_usd: null,
      });
      expect(upgraded.subscription).toMatchObject({
        plan: 'independent',
        allowance_remaining: round6(1000 + extra),
      });
      const update = fake.subscriptionUpdates.at(-1)!;
      expect(update.subscription).toBe(stripeSubscriptionId);
      expect(update.params).toMatchObject({
        proration_behavior: 'always_invoice',
        items: [{ price_data: { unit_amount: '2500' } }],
      });
      expect(stripeSubscription().items.data[0].price.unit_amount).toBe(2500);
      await fake.settle();
      // Stripe's proration invoice is paid, and grants nothing more (the proration was ours).
      expect(deliveredSince(mark)).toEqual([
        ['customer.subscription.updated', 'ignored: customer.subscription.updated'],
        ['invoice.paid', 'ignored: subscription_update'],
      ]);
      expect((await customerView(customer.id)).balance).toBe(round6(1500 + extra));

      // --- Renewal on Feb 15: invoice.paid (subscription_cycle), delivered 3 times at once and again later.
      server.clock.set('2031-02-15T00:30:00.000Z');
      const renewal = quietly(() => fake.renewSubscription(stripeSubscriptionId));
      const cycleInvoice = renewal.events.find((event) => event.type === 'invoice.paid')!;
      expect(cycleInvoice.data.object).toMatchObject({
        billing_reason: 'subscription_cycle',
        amount_paid: 2500,
      });
      const deliveries = await Promise.all([
        fake.deliver(cycleInvoice),
        fake.deliver(cycleInvoice),
        fake.deliver(cycleInvoice),
      ]);
      for (const delivery of deliveries) expect(delivery.status).toBe(200);
      expect((await fake.deliver(cycleInvoice)).status).toBe(200);
      const secondStart = new Date('2031-02-15T00:00:00.000Z');
      const secondEnd = new Date('2031-03-15T00:00:00.000Z');
      expect(await subscriptionOf(customer.id)).toMatchObject({
        plan: 'independent',
        status: 'active',
        allowance_remaining: 2500,
        current_period_start: secondStart.toISOString(),
        current_period_end: secondEnd.toISOString(),
      });
      expect((await allowanceRows(customer.id)).map((row: any) => row.amount)).toEqual([2500, extra, 1000]);
      let view = await customerView(customer.id);
      expect(view.balance).toBe(3000);
      expect(view.breakdown).toMatchObject({ allowance: 2500, promo: 500 });

      // --- Mar 15: the payment fails → past_due, and no allowance for the new period.
      server.clock.set('2031-03-15T00:30:00.000Z');
      mark = fake.deliveries.length;
      fake.renewSubscription(stripeSubscriptionId, { paymentFails: true });
      await fake.settle();
      expect(deliveredSince(mark)).toEqual([
        ['customer.subscription.updated', 'ignored: customer.subscription.updated'],
        ['invoice.payment_failed', 'marked past_due'],
      ]);
      expect(await subscriptionOf(customer.id)).toMatchObject({
        status: 'past_due',
        plan: 'independent',
        allowance_remaining: 0,
      });
      expect((await allowanceRows(customer.id)).map((row: any) => row.amount)).toEqual([2500, extra, 1000]);
      view = await customerView(customer.id);
      expect(view.balance).toBe(500);
      expect(view.breakdown.allowance).toBe(0);
      const catalog = expectStatus(
        await server.call('GET', `/v1/billing/catalog?customer=${customer.id}`, { key: app.secret_key }),
        200,
      );
      expect(catalog.subscription).toMatchObject({ status: 'past_due', plan: 'independent' });
      expect(catalog.wallet).toMatchObject({ balance: 500 });
      // Test-mode renewals never touch a Stripe subscription.
      expect(await server.tollgate.services.subscriptions.renewDue()).toBe(0);

      // Stripe retries and the payment succeeds: the invoice carries leftover proration lines first;
      // the service period is the subscription line's.
      const item = stripeSubscription().items.data[0];
      const thirdStart = item.current_period_start as number;
      const thirdEnd = item.current_period_end as number;
      expect(new Date(thirdEnd * 1000).toISOString()).toBe('2031-04-15T00:00:00.000Z');
      const line = (fields: Partial<Parameters<typeof invoiceLineObject>[0]>) =>
        invoiceLineObject({
          subscription: stripeSubscriptionId,
          subscription_item: item.id,
          price: item.price.id,
          product: item.price.product,
          unit_amount: 2500,
          quantity: 1,
          currency: 'usd',
          amount: 2500,
          proration: false,
          period_start: thirdStart,
          period_end: thirdEnd,
          ...fields,
        });
      const retried = invoicePaidEvent({
        subscription: stripeSubscriptionId,
        customer: stripeSubscription().customer,
        period_start: thirdStart,
        period_end: thirdEnd,
        billing_reason: 'subscription_cycle',
        subscription_metadata: stripeSubscription().metadata,
        lines: [
          line({
            proration: true,
            amount: -400,
            period_start: toSeconds('2031-03-10T00:00:00Z'),
            period_end: thirdStart,
          }),
          line({
            proration: true,
            amount: 400,
            period_start: toSeconds('2031-03-10T00:00:00Z'),
            period_end: thirdStart,
          }),
          line({}),
        ],
      });
      const retriedDelivery = await fake.deliver(retried);
      expect(resultOf(retriedDelivery)).toBe('allowance granted');
      expect(await subscriptionOf(customer.id)).toMatchObject({
        status: 'active',
        allowance_remaining: 2500,
        current_period_start: '2031-03-15T00:00:00.000Z',
        current_period_end: '2031-04-15T00:00:00.000Z',
      });
      expect(allowanceGrantsOf(await customerView(customer.id))).toEqual([
        expect.objectContaining({ amount: 2500, remaining: 2500, expires_at: '2031-04-15T00:00:00.000Z' }),
      ]);

      // --- Downgrade on Mar 20: Stripe bills the lower price from the next period; the plan changes then.
      server.clock.set('2031-03-20T00:00:00.000Z');
      const downgraded = expectStatus(
        await server.call('PATCH', `/v1/customers/${customer.id}/subscription`, {
          key: app.secret_key,
          body: { plan: 'microbudget' },
        }),
        200,
      );
      expect(downgraded).toMatchObject({ change: 'downgrade', effective_at: '2031-04-15T00:00:00.000Z' });
      expect(downgraded.subscription).toMatchObject({
        plan: 'independent',
        pending_plan: 'microbudget',
        allowance_remaining: 2500,
      });
      expect(fake.subscriptionUpdates.at(-1)!.params).toMatchObject({
        proration_behavior: 'none',
        items: [{ price_data: { unit_amount: '1000' } }],
      });
      expect(stripeSubscription().items.data[0].price.unit_amount).toBe(1000);
      // Changing one's mind restores Stripe's price; downgrading again lowers it again.
      const kept = expectStatus(
        await server.call('PATCH', `/v1/customers/${customer.id}/subscription`, {
          key: app.secret_key,
          body: { plan: 'independent' },
        }),
        200,
      );
      expect(kept).toMatchObject({
        change: 'none',
        subscription: { plan: 'independent', pending_plan: null },
      });
      expect(stripeSubscription().items.data[0].price.unit_amount).toBe(2500);
      expectStatus(
        await server.call('PATCH', `/v1/customers/${customer.id}/subscription`, {
          key: app.secret_key,
          body: { plan: 'microbudget' },
        }),
        200,
      );
      expect(stripeSubscription().items.data[0].price.unit_amount).toBe(1000);
      expect((await customerView(customer.id)).balance).toBe(3000); // nothing granted or taken by these changes
      await fake.settle();
      server.clock.set('2031-04-15T00:30:00.000Z');
      mark = fake.deliveries.length;
      const downgradeRenewal = fake.renewSubscription(stripeSubscriptionId);
      await fake.settle();
      const downgradeInvoice = downgradeRenewal.events.find((event) => event.type === 'invoice.paid')!;
      expect(downgradeInvoice.data.object.amount_paid).toBe(1000); // Stripe charged the Microbudget price
      expect(deliveredSince(mark)).toContainEqual(['invoice.paid', 'allowance granted']);
      expect(await subscriptionOf(customer.id)).toMatchObject({
        plan: 'microbudget',
        pending_plan: null,
        allowance_remaining: 1000,
      });

      // --- Cancel on Apr 20: Stripe is told to cancel at the period end, then ends the subscription.
      server.clock.set('2031-04-20T00:00:00.000Z');
      const cancelled = expectStatus(
        await server.call('DELETE', `/v1/customers/${customer.id}/subscription`, { key: app.secret_key }),
        200,
      );
      expect(cancelled.subscription).toMatchObject({ cancel_at_period_end: true, status: 'active' });
      expect(fake.subscriptionUpdates.at(-1)!.params).toMatchObject({ cancel_at_period_end: 'true' });
      expect(stripeSubscription().cancel_at_period_end).toBe(true);
      await fake.settle();
      server.clock.set('2031-05-15T00:30:00.000Z');
      mark = fake.deliveries.length;
      fake.renewSubscription(stripeSubscriptionId);
      await fake.settle();
      expect(deliveredSince(mark)).toEqual([['customer.subscription.deleted', 'canceled']]);
      expect(await subscriptionOf(customer.id)).toBeNull();
      expect((await allowanceRows(customer.id)).map((row: any) => row.amount)).toEqual([
        1000,
        2500,
        2500,
        extra,
        1000,
      ]);
      view = await customerView(customer.id);
      expect(view.balance).toBe(500);
      expect(view.breakdown.allowance).toBe(0);
      const audit = await auditLedger(server.tollgate.db, server.clock);
      expect(audit.problems).toEqual([]);
    });
  });
}

function toSeconds(iso: string): number {
  return Math.floor(new Date(iso).getTime() / 1000);
}

function allowanceGrantsOf(view: JsonObject): JsonObject[] {
  return view.grants.filter((grant: JsonObject) => grant.source === 'allowance');
}
