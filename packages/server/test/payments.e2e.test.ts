/**
 * Buying credits end to end over real HTTP, on every backend.
 *
 * Stripe mode: the server runs with STRIPE_SECRET_KEY / STRIPE_WEBHOOK_SECRET / STRIPE_API_BASE
 * pointed at the local fake, so Checkout Sessions go through the official SDK and fulfilment,
 * expiry and refunds arrive as signed webhooks (built by the fake, signed with the SDK's own
 * `generateTestHeaderString`). Test mode: no Stripe keys, the built-in checkout page completes the
 * purchase through the same fulfilment code.
 */
import type Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger } from '../src/ledger/audit.ts';
import type { ManualClock } from '../src/shared/clock.ts';
import {
  checkoutSessionCompletedEvent,
  checkoutSessionExpiredEvent,
  type FakeStripe,
  type JsonObject,
  signedWebhook,
  startFakeStripe,
  stripeEvent,
} from './fakes/fake-stripe.ts';
import { testBackends } from './support/databases.ts';
import { type CallResult, expectError, expectHistoryReplays, expectStatus } from './support/expectations.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const STRIPE_SECRET_KEY = 'sk_test_tollgate_e2e_0123456789';
const WEBHOOK_SECRET = 'whsec_tollgate_e2e_0123456789abcdef';

type App = { id: string; secret_key: string; publishable_key: string };
type Customer = { id: string; user_key: string; balance: number };

async function postRaw(url: string, body: string, headers: Record<string, string>): Promise<CallResult> {
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

for (const backend of testBackends()) {
  describe(`payments with Stripe (${backend.name})`, () => {
    let fake: FakeStripe;
    let stripe: Stripe;
    let server: TestServer;
    let app: App;
    let webhookUrl: string;
    // The fake dates what it creates on the server's manual clock (set once the server exists).
    let serverClock: ManualClock | undefined;

    beforeAll(async () => {
      fake = await startFakeStripe({ clock: { now: () => serverClock?.now() ?? new Date() } });
      server = await startTestServer(backend, {
        env: { STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, STRIPE_API_BASE: fake.baseUrl },
      });
      serverClock = server.clock;
      webhookUrl = `${server.url}/v1/webhooks/stripe`;
      fake.setWebhook({ url: webhookUrl, secret: WEBHOOK_SECRET });
      stripe = fake.client({ maxNetworkRetries: 0 });
      // The app's own site may receive buyers back from checkout (anywhere else would be an open redirect).
      app = await server.createApp({ name: 'Payments app', return_origins: ['https://app.example'] });
    });
    afterAll(async () => {
      await fake?.close();
      await server?.close();
    });
    afterEach(async () => {
      // Every event the fake delivered by itself was accepted.
      await fake.settle();
      const refused = fake.deliveries.filter((delivery) => delivery.status !== 200);
      expect(refused.map((delivery) => `${delivery.event.type} ${delivery.status} ${delivery.body}`)).toEqual(
        [],
      );
    });

    const customerView = async (customer: string) =>
      expectStatus(await server.call('GET', `/v1/customers/${customer}`, { key: app.secret_key }), 200);
    const balanceOf = async (customer: string): Promise<number> => (await customerView(customer)).balance;
    const purchasesOf = async (customer: string) =>
      expectStatus(
        await server.call('GET', `/v1/customers/${customer}/purchases`, { key: app.secret_key }),
        200,
      );
    const historyOf = async (customer: string) =>
      expectStatus(
        await server.call('GET', `/v1/customers/${customer}/transactions?limit=200`, { key: app.secret_key }),
        200,
      );
    const startCheckout = async (customer: string, body: Record<string, unknown>) =>
      expectStatus(
        await server.call('POST', '/v1/checkout/sessions', {
          key: app.secret_key,
          body: { customer, ...body },
        }),
        201,
      );
    /** The buyer pays on Stripe's side; the fake delivers the signed events and we wait for them. */
    const pay = async (sessionId: string) => {
      const { session } = fake.completeCheckoutSession(sessionId);
      await fake.settle();
      return session;
    };
    /** Pays without delivering, for tests that deliver the completed event themselves. */
    const payQuietly = (sessionId: string) => {
      fake.setWebhook(undefined);
      try {
        const { session, events } = fake.completeCheckoutSession(sessionId);
        const completed = events.find((event) => event.type === 'checkout.session.completed')!;
        return { session, completed };
      } finally {
        fake.setWebhook({ url: webhookUrl, secret: WEBHOOK_SECRET });
      }
    };
    const sendSigned = (event: JsonObject, secret = WEBHOOK_SECRET) => {
      const signed = signedWebhook(event, secret);
      return postRaw(webhookUrl, signed.body, signed.headers);
    };
    const webhookEventCount = async () =>
      Number(
        (await server.tollgate.db.query<{ n: number }>('select count(*)::int as n from webhook_events'))[0]!
          .n,
      );
    /** The session as Stripe holds it (without the fake's private bookkeeping fields). */
    const storedSession = (id: string): JsonObject =>
      Object.fromEntries(
        Object.entries(fake.checkoutSessions.get(id)!).filter(([key]) => !key.startsWith('_')),
      );
    const purchaseTransactions = (history: any, purchaseId: string) =>
      history.data.filter((row: any) => row.type === 'purchase' && row.metadata?.purchase_id === purchaseId);

    it('$25: a Checkout Session through the real SDK, a signed completed event, exactly 2,500 credits', async () => {
      const customer: Customer = await server.createCustomer(app.secret_key, 'buyer-25');
      expect(customer.balance).toBe(500); // the signup bonus
      const before = fake.requestsTo('POST', '/v1/checkout/sessions').length;

      const checkout = await startCheckout(customer.id, {
        amount_usd: 25,
        success_url: 'https://app.example/paid?session={CHECKOUT_SESSION_ID}',
        cancel_url: 'https://app.example/cancelled',
      });
      expect(checkout.id).toMatch(/^cs_test_/);
      expect(checkout.url).toBe(`${fake.baseUrl}/c/pay/${checkout.id}`);
      expect(checkout.purchase).toMatchObject({
        status: 'pending',
        amount_usd: 25,
        credits: 2500,
        bonus_credits: 0,
        customer: customer.id,
        provider: 'stripe',
        session_id: checkout.id,
      });
      const purchaseId = checkout.purchase.id as string;

      // What went to Stripe, as the SDK serialized it.
      const created = fake.requestsTo('POST', '/v1/checkout/sessions');
      expect(created).toHaveLength(before + 1);
      const request = created.at(-1)!;
      expect(request.status).toBe(200);
      expect(request.body).toMatchObject({
        mode: 'payment',
        client_reference_id: purchaseId,
        success_url: 'https://app.example/paid?session={CHECKOUT_SESSION_ID}',
        cancel_url: 'https://app.example/cancelled',
        metadata: { tollgate_purchase_id: purchaseId, tollgate_customer_id: customer.id },
      });
      expect(request.body.line_items).toHaveLength(1);
      expect(request.body.line_items[0]).toMatchObject({
        quantity: '1',
        price_data: { currency: 'usd', unit_amount: '2500' },
      });
      expect(request.idempotencyKey).toBeTruthy();
      expect(request.idempotencyKey).toContain(purchaseId);
      expect(fake.checkoutSessions.get(checkout.id)).toMatchObject({
        amount_total: 2500,
        client_reference_id: purchaseId,
      });

      // Nothing is granted before payment.
      expect(await balanceOf(customer.id)).toBe(500);
      const pending = expectStatus(
        await server.call('GET', `/v1/checkout/sessions/${checkout.id}`, { key: app.secret_key }),
        200,
      );
      expect(pending.status).toBe('pending');

      await pay(checkout.id);
      const delivered = fake.deliveries.filter((delivery) => delivery.event.data.object.id === checkout.id);
      expect(delivered.map((delivery) => [delivery.event.type, delivery.status])).toEqual([
        ['checkout.session.completed', 200],
      ]);
      expect(JSON.parse(delivered[0]!.body)).toMatchObject({ received: true, result: 'fulfilled' });

      expect(await balanceOf(customer.id)).toBe(3000);
      const view = await customerView(customer.id);
      expect(view.breakdown).toMatchObject({ purchase: 2500, promo: 500 });
      const done = expectStatus(
        await server.call('GET', `/v1/checkout/sessions/${checkout.id}`, { key: app.secret_key }),
        200,
      );
      expect(done).toMatchObject({ status: 'completed', purchase: { id: purchaseId, status: 'completed' } });

      // The purchase list: amount paid, credits, bonus, status.
      const purchases = await purchasesOf(customer.id);
      expect(purchases.data).toHaveLength(1);
      expect(purchases.data[0]).toMatchObject({
        id: purchaseId,
        status: 'completed',
        amount_usd: 25,
        credits: 2500,
        bonus_credits: 0,
        refunded_usd: 0,
        refund_shortfall: 0,
        kind: 'credits',
      });
      expect(purchases.data[0].completed_at).toEqual(expect.any(String));
      // The user sees the same list with their own key.
      const mine = expectStatus(
        await server.call('GET', '/v1/credits/purchases', { headers: { 'x-user-key': customer.user_key } }),
        200,
      );
      expect(mine.data.map((row: any) => row.id)).toEqual([purchaseId]);

      // The transaction history shows the purchase.
      const history = await historyOf(customer.id);
      expect(history.data[0]).toMatchObject({
        type: 'purchase',
        amount: 2500,
        balance_after: 3000,
        source: 'purchase',
      });
      expect(history.data[0].metadata).toMatchObject({ purchase_id: purchaseId, session_id: checkout.id });
      expectHistoryReplays(history.data);
    });

    it('$100 → 11,000 credits (10% bonus from $50); pack_100 → 100 credits', async () => {
      const customer: Customer = await server.createCustomer(app.secret_key, 'buyer-100');
      const big = await startCheckout(customer.id, { amount_usd: 100 });
      expect(big.purchase).toMatchObject({ amount_usd: 100, credits: 11000, bonus_credits: 1000 });
      expect(
        fake.requestsTo('POST', '/v1/checkout/sessions').at(-1)!.body.line_items[0].price_data.unit_amount,
      ).toBe('10000');
      await pay(big.id);
      expect(await balanceOf(customer.id)).toBe(500 + 11000);

      server.clock.advance(60_000); // the purchase list is newest first
      const pack = await startCheckout(customer.id, { pack: 'pack_100' });
      expect(pack.purchase).toMatchObject({
        kind: 'pack',
        pack: 'pack_100',
        amount_usd: 1,
        credits: 100,
        bonus_credits: 0,
      });
      expect(
        fake.requestsTo('POST', '/v1/checkout/sessions').at(-1)!.body.line_items[0].price_data.unit_amount,
      ).toBe('100');
      await pay(pack.id);
      expect(await balanceOf(customer.id)).toBe(500 + 11000 + 100);

      const purchases = await purchasesOf(customer.id);
      expect(
        purchases.data.map((row: any) => [row.amount_usd, row.credits, row.bonus_credits, row.status]),
      ).toEqual([
        [1, 100, 0, 'completed'],
        [100, 11000, 1000, 'completed'],
      ]);
      const history = await historyOf(customer.id);
      expect(
        history.data.filter((row: any) => row.type === 'purchase').map((row: any) => row.amount),
      ).toEqual([100, 11000]);
    });

    it('$4 is refused with the $5 minimum named, and nothing is created', async () => {
      const customer: Customer = await server.createCustomer(app.secret_key, 'buyer-4');
      const sessionsBefore = fake.requestsTo('POST', '/v1/checkout/sessions').length;
      const refused = await server.call('POST', '/v1/checkout/sessions', {
        key: app.secret_key,
        body: { customer: customer.id, amount_usd: 4 },
      });
      const error = expectError(refused, 400, 'invalid_request');
      expect(error.message).toMatch(/minimum/i);
      expect(error.message).toContain('$5');
      expect(error.minimum_usd).toBe(5);
      expect(fake.requestsTo('POST', '/v1/checkout/sessions')).toHaveLength(sessionsBefore);
      expect((await purchasesOf(customer.id)).data).toEqual([]);
      expect(await balanceOf(customer.id)).toBe(500);
      // Neither both nor none of amount_usd and pack, nor an unknown pack.
      expectError(
        await server.call('POST', '/v1/checkout/sessions', {
          key: app.secret_key,
          body: { customer: customer.id, amount_usd: 10, pack: 'pack_100' },
        }),
        400,
        'invalid_request',
      );
      expectError(
        await server.call('POST', '/v1/checkout/sessions', {
          key: app.secret_key,
          body: { customer: customer.id },
        }),
        400,
        'invalid_request',
      );
      expectError(
        await server.call('POST', '/v1/checkout/sessions', {
          key: app.secret_key,
          body: { customer: customer.id, pack: 'pack_nope' },
        }),
        400,
        'invalid_request',
      );
      expect(fake.requestsTo('POST', '/v1/checkout/sessions')).toHaveLength(sessionsBefore);
      expect((await purchasesOf(customer.id)).data).toEqual([]);
    });

    it('the completed event 5 times concurrently, again later, and under another event id: one grant', async () => {
      const customer: Customer = await server.createCustomer(app.secret_key, 'buyer-concurrent');
      const checkout = await startCheckout(customer.id, { amount_usd: 25 });
      const purchaseId = checkout.purchase.id as string;
      const { session, completed } = payQuietly(checkout.id);

      const concurrent = await Promise.all(Array.from({ length: 5 }, () => sendSigned(completed)));
      for (const response of concurrent) expect(response.status, JSON.stringify(response.body)).toBe(200);
      const results = concurrent.map((response) => response.body.result).sort();
      expect(results).toEqual([
        'already fulfilled',
        'already fulfilled',
        'already fulfilled',
        'already fulfilled',
        'fulfilled',
      ]);
      expect(await balanceOf(customer.id)).toBe(3000);

      // Redelivered later (Stripe retries), and a second event for the same session.
      expect(expectStatus(await sendSigned(completed), 200).result).toBe('already fulfilled');
      const other = checkoutSessionCompletedEvent(session);
      expect(other.id).not.toBe(completed.id);
      expect(expectStatus(await sendSigned(other), 200).result).toBe('already fulfilled');
      // The async-payment success event for the same session changes nothing either.
      const asyncSucceeded = stripeEvent('checkout.session.async_payment_succeeded', other.data.object);
      expect(expectStatus(await sendSigned(asyncSucceeded), 200).result).toBe('already fulfilled');

      expect(await balanceOf(customer.id)).toBe(3000);
      const history = await historyOf(customer.id);
      expect(purchaseTransactions(history, purchaseId)).toHaveLength(1);
      expect(history.data.map((row: any) => row.type)).toEqual(['purchase', 'signup_bonus']);
      const seen = await server.tollgate.db.query<{ id: string }>(
        'select id from webhook_events where id = $1',
        [completed.id],
      );
      expect(seen).toHaveLength(1);
      const purchases = await purchasesOf(customer.id);
      expect(purchases.data).toHaveLength(1);
      expect(purchases.data[0]).toMatchObject({ id: purchaseId, status: 'completed', credits: 2500 });
    });

    it('a bad signature (tampered body, wrong secret, missing header, stale timestamp) is 400 and writes nothing', async () => {
      const customer: Customer = await server.createCustomer(app.secret_key, 'buyer-signature');
      const checkout = await startCheckout(customer.id, { amount_usd: 25 });
      const { completed } = payQuietly(checkout.id);
      const eventsBefore = await webhookEventCount();

      const signed = signedWebhook(completed, WEBHOOK_SECRET);
      const wrongSecret = signedWebhook(completed, 'whsec_not_the_right_secret');
      const tampered = signed.body.replace('"amount_total": 2500', '"amount_total": 250000');
      expect(tampered).not.toBe(signed.body);
      const attempts = [
        await postRaw(webhookUrl, tampered, signed.headers),
        await postRaw(webhookUrl, wrongSecret.body, wrongSecret.headers),
        await postRaw(webhookUrl, signed.body, { 'content-type': 'application/json' }),
        await postRaw(webhookUrl, signed.body, { ...signed.headers, 'stripe-signature': 't=1,v1=deadbeef' }),
        await (async () => {
          const stale = signedWebhook(completed, WEBHOOK_SECRET, {
            timestamp: Math.floor(Date.now() / 1000) - 3600,
          });
          return postRaw(webhookUrl, stale.body, stale.headers);
        })(),
      ];
      for (const attempt of attempts) expectError(attempt, 400, 'invalid_request');

      expect(await webhookEventCount()).toBe(eventsBefore);
      expect(await balanceOf(customer.id)).toBe(500);
      expect((await purchasesOf(customer.id)).data[0]).toMatchObject({ status: 'pending' });

      // The same event, properly signed, is accepted: only the signature was wrong.
      expect(expectStatus(await postRaw(webhookUrl, signed.body, signed.headers), 200).result).toBe(
        'fulfilled',
      );
      expect(await balanceOf(customer.id)).toBe(3000);
      expect(await webhookEventCount()).toBe(eventsBefore + 1);
    });

    it('checkout.session.expired marks the purchase failed, and nothing is granted', async () => {
      const customer: Customer = await server.createCustomer(app.secret_key, 'buyer-expired');
      const checkout = await startCheckout(customer.id, { amount_usd: 30 });
      // Stripe expires the session (here through the API, as an operator or the 24h timeout would).
      const expired = await stripe.checkout.sessions.expire(checkout.id);
      expect(expired.status).toBe('expired');
      await fake.settle();
      const delivered = fake.deliveries.filter((delivery) => delivery.event.data.object.id === checkout.id);
      expect(delivered.map((delivery) => delivery.event.type)).toEqual(['checkout.session.expired']);
      expect(JSON.parse(delivered[0]!.body)).toMatchObject({ result: 'marked failed' });

      const purchases = await purchasesOf(customer.id);
      expect(purchases.data[0]).toMatchObject({
        id: checkout.purchase.id,
        status: 'failed',
        amount_usd: 30,
        credits: 3000,
      });
      const status = expectStatus(
        await server.call('GET', `/v1/checkout/sessions/${checkout.id}`, { key: app.secret_key }),
        200,
      );
      expect(status.status).toBe('failed');
      expect(await balanceOf(customer.id)).toBe(500);
      // An expiry event built independently (another event id, redelivered) changes nothing more, and says so.
      expect(
        expectStatus(await sendSigned(checkoutSessionExpiredEvent(expired as unknown as JsonObject)), 200)
          .result,
      ).toBe('already failed: nothing changed');
      expect((await purchasesOf(customer.id)).data[0].status).toBe('failed');
    });

    it('refund after partial spend: the grant drops to zero, the balance never goes negative, the shortfall is recorded', async () => {
      const customer: Customer = await server.createCustomer(app.secret_key, 'buyer-refund-full');
      const checkout = await startCheckout(customer.id, { amount_usd: 25 });
      const paid = await pay(checkout.id);
      expect(await balanceOf(customer.id)).toBe(3000);

      // Spend 2,000 credits ($20): the 500 signup credits go first, then 1,500 of the purchase.
      const charge = expectStatus(
        await server.call('POST', '/v1/charges', {
          key: app.secret_key,
          body: { customer: customer.id, model: 'custom/job', amount: 2000 },
        }),
        201,
      );
      expect(charge.amount).toBe(2000);
      const afterSpend = await customerView(customer.id);
      expect(afterSpend.balance).toBe(1000);
      expect(afterSpend.breakdown).toMatchObject({ purchase: 1000, promo: 0 });

      // The operator refunds the whole charge in Stripe; Stripe sends charge.refunded (amount_refunded 2500).
      const refund = await stripe.refunds.create({ payment_intent: paid.payment_intent as string });
      expect(refund.amount).toBe(2500);
      await fake.settle();
      const refundedEvents = fake.deliveries.filter(
        (delivery) =>
          delivery.event.type === 'charge.refunded' &&
          delivery.event.data.object.payment_intent === paid.payment_intent,
      );
      expect(refundedEvents).toHaveLength(1);
      expect(refundedEvents[0]!.event.data.object).toMatchObject({
        amount: 2500,
        amount_refunded: 2500,
        refunded: true,
      });
      expect(JSON.parse(refundedEvents[0]!.body)).toMatchObject({ result: 'refunded' });

      const view = await customerView(customer.id);
      expect(view.balance).toBe(0);
      expect(view.available).toBe(0);
      expect(view.breakdown.purchase).toBe(0);
      expect(view.grants.filter((grant: any) => grant.source === 'purchase')).toEqual([]);

      const purchases = await purchasesOf(customer.id);
      expect(purchases.data[0]).toMatchObject({
        id: checkout.purchase.id,
        status: 'refunded',
        refunded_usd: 25,
        refund_shortfall: 1500,
        credits: 2500,
      });

      const history = await historyOf(customer.id);
      const refunds = history.data.filter((row: any) => row.type === 'refund');
      expect(refunds).toHaveLength(1);
      expect(refunds[0]).toMatchObject({ amount: -1000, balance_after: 0, requested: 2500, shortfall: 1500 });
      for (const row of history.data) expect(row.balance_after).toBeGreaterThanOrEqual(0);
      expectHistoryReplays(history.data);

      // A redelivered refund takes nothing more, and the customer cannot spend below zero.
      const redelivered = await fake.deliver(refundedEvents[0]!.event);
      expect(redelivered.status).toBe(200);
      expect(JSON.parse(redelivered.body).result).toBe('already refunded');
      expect(await balanceOf(customer.id)).toBe(0);
      expectError(
        await server.call('POST', '/v1/charges', {
          key: app.secret_key,
          body: { customer: customer.id, model: 'custom/job', amount: 1 },
        }),
        402,
        'insufficient_credits',
      );
    });

    it('a partial refund then a larger cumulative refund claw back only the growth', async () => {
      const customer: Customer = await server.createCustomer(app.secret_key, 'buyer-refund-partial');
      const checkout = await startCheckout(customer.id, { amount_usd: 25 });
      const paid = await pay(checkout.id);
      expect(await balanceOf(customer.id)).toBe(3000);
      const paymentIntent = paid.payment_intent as string;
      const refundEvents = () =>
        fake.deliveries.filter(
          (delivery) =>
            delivery.event.type === 'charge.refunded' &&
            delivery.event.data.object.payment_intent === paymentIntent,
        );

      await stripe.refunds.create({ payment_intent: paymentIntent, amount: 1000 }); // $10 of $25
      await fake.settle();
      expect(refundEvents().map((delivery) => delivery.event.data.object.amount_refunded)).toEqual([1000]);
      expect(await balanceOf(customer.id)).toBe(2000); // 1,000 of 2,500 credits clawed back
      expect((await purchasesOf(customer.id)).data[0]).toMatchObject({
        status: 'partially_refunded',
        refunded_usd: 10,
        refund_shortfall: 0,
      });

      await stripe.refunds.create({ payment_intent: paymentIntent, amount: 500 }); // cumulative $15
      await fake.settle();
      expect(refundEvents().map((delivery) => delivery.event.data.object.amount_refunded)).toEqual([
        1000, 1500,
      ]);
      expect(await balanceOf(customer.id)).toBe(1500); // only the growth (500 credits) this time

      // Stripe redelivers both, out of order: nothing moves.
      const [first, second] = refundEvents().map((delivery) => delivery.event);
      expect(JSON.parse((await fake.deliver(second!)).body).result).toBe('already refunded');
      expect(JSON.parse((await fake.deliver(first!)).body).result).toBe('already refunded');
      expect(await balanceOf(customer.id)).toBe(1500);

      const purchase = (await purchasesOf(customer.id)).data[0];
      expect(purchase).toMatchObject({ status: 'partially_refunded', refunded_usd: 15, refund_shortfall: 0 });
      const history = await historyOf(customer.id);
      expect(history.data.filter((row: any) => row.type === 'refund').map((row: any) => row.amount)).toEqual([
        -500, -1000,
      ]);
      expectHistoryReplays(history.data);
      const view = await customerView(customer.id);
      expect(view.breakdown).toMatchObject({ purchase: 1000, promo: 500 });

      // The rest of the refund completes it: exactly the purchase in total.
      await stripe.refunds.create({ payment_intent: paymentIntent });
      await fake.settle();
      expect(await balanceOf(customer.id)).toBe(500);
      expect((await purchasesOf(customer.id)).data[0]).toMatchObject({
        status: 'refunded',
        refunded_usd: 25,
        refund_shortfall: 0,
      });
    });

    it('the metadata-only attack: a session claiming another amount, or another session, grants nothing', async () => {
      const customer: Customer = await server.createCustomer(app.secret_key, 'buyer-attack');
      const checkout = await startCheckout(customer.id, { amount_usd: 100 });
      const purchaseId = checkout.purchase.id as string;
      const real = storedSession(checkout.id);

      // Our session id and purchase, but Stripe says a different amount was paid.
      const cheap = checkoutSessionCompletedEvent(real, {
        amount_total: 500,
        amount_subtotal: 500,
        metadata: { tollgate_purchase_id: purchaseId, credits: '11000' },
      });
      expect(expectStatus(await sendSigned(cheap), 200).result).toBe('ignored: amount mismatch');

      // Another (cheaper) session that names our purchase as its client_reference_id.
      const other = await startCheckout(customer.id, { amount_usd: 5 });
      const otherSession = storedSession(other.id);
      const borrowed = checkoutSessionCompletedEvent(otherSession, {
        client_reference_id: purchaseId,
        metadata: { tollgate_purchase_id: purchaseId, tollgate_customer_id: customer.id },
      });
      expect(expectStatus(await sendSigned(borrowed), 200).result).toBe('ignored: session mismatch');

      // A session we never created.
      const unknown = checkoutSessionCompletedEvent({
        mode: 'payment',
        amount_total: 10000,
        metadata: { tollgate_purchase_id: 'pur_forged', tollgate_customer_id: customer.id },
      });
      expect(expectStatus(await sendSigned(unknown), 200).result).toBe('ignored: unknown purchase');

      // A session that is complete but unpaid.
      const unpaid = checkoutSessionCompletedEvent(real, { payment_status: 'unpaid' });
      expect(expectStatus(await sendSigned(unpaid), 200).result).toBe('awaiting payment');

      expect(await balanceOf(customer.id)).toBe(500);
      const purchases = await purchasesOf(customer.id);
      expect(purchases.data.find((row: any) => row.id === purchaseId)).toMatchObject({ status: 'pending' });
      expect(purchases.data.find((row: any) => row.id === other.purchase.id)).toMatchObject({
        status: 'pending',
      });

      // The real payment grants what our own record says, whatever the metadata claims.
      const inflated = checkoutSessionCompletedEvent(real, {
        metadata: { tollgate_purchase_id: purchaseId, credits: '99999999', credits_micros: '99999999000000' },
      });
      expect(expectStatus(await sendSigned(inflated), 200).result).toBe('fulfilled');
      expect(await balanceOf(customer.id)).toBe(500 + 11000);
    });

    it('the ledger audit finds nothing wrong after all of the above', async () => {
      const audit = await auditLedger(server.tollgate.db, server.clock);
      expect(audit.problems).toEqual([]);
    });

    it('unknown event types are acknowledged with 200 and ignored', async () => {
      const customer: Customer = await server.createCustomer(app.secret_key, 'buyer-unknown-events');
      const eventsBefore = await webhookEventCount();
      for (const type of [
        'customer.created',
        'payment_intent.succeeded',
        'radar.early_fraud_warning.created',
        'v2.something.new',
      ]) {
        const response = expectStatus(
          await sendSigned(
            stripeEvent(type, {
              id: 'obj_1',
              object: 'thing',
              metadata: { tollgate_customer_id: customer.id },
            }),
          ),
          200,
        );
        expect(response).toEqual({ received: true, result: `ignored: ${type}` });
      }
      // A refund for a payment we never saw is acknowledged too.
      const strayRefund = stripeEvent('charge.refunded', {
        id: 'ch_stray',
        object: 'charge',
        amount: 500,
        amount_refunded: 500,
        payment_intent: 'pi_never_seen',
        refunded: true,
      });
      expect(expectStatus(await sendSigned(strayRefund), 200).result).toBe('ignored: unknown purchase');
      expect(await webhookEventCount()).toBe(eventsBefore);
      expect(await balanceOf(customer.id)).toBe(500);
    });
  });

  describe(`payments in test mode (${backend.name})`, () => {
    let server: TestServer;
    let app: App;

    beforeAll(async () => {
      server = await startTestServer(backend);
      app = await server.createApp({ name: 'Test-mode app', return_origins: ['https://app.example'] });
    });
    afterAll(async () => {
      await server?.close();
    });

    const balanceOf = async (customer: string): Promise<number> =>
      expectStatus(await server.call('GET', `/v1/customers/${customer}`, { key: app.secret_key }), 200)
        .balance;
    /** What a browser does when the form is submitted: an empty urlencoded POST, redirects not followed. */
    const submitForm = (url: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
        redirect: 'manual',
      });

    it('checkout page with a TEST MODE banner, Pay → 303 to the success URL, credits granted once', async () => {
      expect(server.tollgate.services.checkout.name).toBe('test');
      const customer: Customer = await server.createCustomer(app.secret_key, 'test-buyer');
      const checkout = expectStatus(
        await server.call('POST', '/v1/checkout/sessions', {
          key: app.secret_key,
          body: {
            customer: customer.id,
            amount_usd: 60,
            success_url: 'https://app.example/done?session={CHECKOUT_SESSION_ID}',
            cancel_url: 'https://app.example/cancel',
          },
        }),
        201,
      );
      expect(checkout).toMatchObject({
        mode: 'test',
        purchase: { status: 'pending', amount_usd: 60, credits: 6600, bonus_credits: 600, provider: 'test' },
      });
      // The page's URL carries a key of its own: the session id alone opens nothing.
      expect(checkout.url).toMatch(new RegExp(`^${server.url}/checkout/test/${checkout.id}/[\\w-]{32}$`));

      const page = await fetch(checkout.url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      const html = await page.text();
      expect(html).toContain('TEST MODE');
      expect(html).toMatch(/<button[^>]*id="pay"[^>]*>Pay \$60\.00<\/button>/);
      expect(html).toContain(`action="${new URL(checkout.url).pathname}/pay"`);
      expect(html).toContain('6,600 credits');
      expect(await balanceOf(customer.id)).toBe(500);

      const paid = await submitForm(`${checkout.url}/pay`);
      expect(paid.status).toBe(303);
      expect(paid.headers.get('location')).toBe(`https://app.example/done?session=${checkout.id}`);
      expect(await balanceOf(customer.id)).toBe(500 + 6600);

      const status = expectStatus(
        await server.call('GET', `/v1/checkout/sessions/${checkout.id}`, { key: app.secret_key }),
        200,
      );
      expect(status).toMatchObject({
        id: checkout.id,
        status: 'completed',
        purchase: { status: 'completed', credits: 6600 },
      });
      const asUser = expectStatus(
        await server.call('GET', `/v1/checkout/sessions/${checkout.id}`, {
          headers: { 'x-user-key': customer.user_key },
        }),
        200,
      );
      expect(asUser.status).toBe('completed');

      // Paying twice (a double click, a reload) grants once.
      const again = await submitForm(`${checkout.url}/pay`);
      expect(again.status).toBe(303);
      const twice = await Promise.all([submitForm(`${checkout.url}/pay`), submitForm(`${checkout.url}/pay`)]);
      for (const response of twice) expect(response.status).toBe(303);
      expect(await balanceOf(customer.id)).toBe(500 + 6600);
      const history = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}/transactions`, { key: app.secret_key }),
        200,
      );
      expect(history.data.map((row: any) => [row.type, row.amount])).toEqual([
        ['purchase', 6600],
        ['signup_bonus', 500],
      ]);
      // The page now says it is done, with no Pay button.
      const donePage = await (await fetch(checkout.url)).text();
      expect(donePage).toContain('completed');
      expect(donePage).not.toContain('id="pay"');
    });

    it('a user key buys for its own customer; cancel marks the purchase failed and grants nothing', async () => {
      const customer: Customer = await server.createCustomer(app.secret_key, 'test-canceller');
      const checkout = expectStatus(
        await server.call('POST', '/v1/checkout/sessions', {
          headers: { 'x-user-key': customer.user_key },
          body: { amount_usd: '12.50', cancel_url: 'https://app.example/cancel' },
        }),
        201,
      );
      expect(checkout.purchase).toMatchObject({ customer: customer.id, amount_usd: 12.5, credits: 1250 });
      const cancelled = await submitForm(`${checkout.url}/cancel`);
      expect(cancelled.status).toBe(303);
      expect(cancelled.headers.get('location')).toBe('https://app.example/cancel');

      const status = expectStatus(
        await server.call('GET', `/v1/checkout/sessions/${checkout.id}`, { key: app.secret_key }),
        200,
      );
      expect(status.status).toBe('failed');
      const purchases = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}/purchases`, { key: app.secret_key }),
        200,
      );
      expect(purchases.data[0]).toMatchObject({ id: checkout.purchase.id, status: 'failed' });
      expect(await balanceOf(customer.id)).toBe(500);

      // A cancelled checkout cannot be paid afterwards.
      const late = await submitForm(`${checkout.url}/pay`);
      expect(late.status).toBe(409);
      expect(await balanceOf(customer.id)).toBe(500);
      const after = expectStatus(
        await server.call('GET', `/v1/checkout/sessions/${checkout.id}`, { key: app.secret_key }),
        200,
      );
      expect(after.status).toBe('failed');

      // Unknown sessions: 404 on the page and on the API; an id without its key is refused.
      const forged = `${server.url}/checkout/test/cs_test_local_nope/${'x'.repeat(32)}`;
      expect((await fetch(forged)).status).toBe(404);
      expect((await submitForm(`${forged}/pay`)).status).toBe(404);
      expect((await submitForm(`${server.url}/checkout/test/${checkout.id}/pay`)).status).toBe(403);
      expectError(
        await server.call('GET', '/v1/checkout/sessions/cs_test_local_nope', { key: app.secret_key }),
        404,
        'not_found',
      );
    });

    it("another app cannot see or pay into a customer's checkout through the API", async () => {
      const other = await server.createApp({ name: 'Other app' });
      const customer: Customer = await server.createCustomer(app.secret_key, 'test-private');
      const checkout = expectStatus(
        await server.call('POST', '/v1/checkout/sessions', {
          key: app.secret_key,
          body: { customer: customer.id, pack: 'pack_100' },
        }),
        201,
      );
      expectError(
        await server.call('GET', `/v1/checkout/sessions/${checkout.id}`, { key: other.secret_key }),
        404,
        'not_found',
      );
      expectError(
        await server.call('POST', '/v1/checkout/sessions', {
          key: other.secret_key,
          body: { customer: customer.id, amount_usd: 10 },
        }),
        404,
        'not_found',
      );
      expectError(
        await server.call('GET', `/v1/customers/${customer.id}/purchases`, { key: other.secret_key }),
        404,
        'not_found',
      );
      const audit = await auditLedger(server.tollgate.db, server.clock);
      expect(audit.problems).toEqual([]);
    });
  });
}
