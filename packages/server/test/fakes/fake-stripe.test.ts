import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import {
  chargeRefundedEvent,
  checkoutSessionCompletedEvent,
  checkoutSessionExpiredEvent,
  type FakeStripe,
  invoicePaidEvent,
  invoicePaymentFailedEvent,
  parseStripeForm,
  signedWebhook,
  startFakeStripe,
  subscriptionDeletedEvent,
  subscriptionUpdatedEvent,
} from './fake-stripe.ts';

const WEBHOOK_SECRET = 'whsec_test_fake_stripe';

let fake: FakeStripe;
let stripe: Stripe;

beforeAll(async () => {
  fake = await startFakeStripe();
  stripe = fake.client({ maxNetworkRetries: 0 });
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  fake.reset();
  fake.setWebhook(undefined);
});

async function createPaymentSession(params: Partial<Stripe.Checkout.SessionCreateParams> = {}) {
  return stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [
      {
        price_data: { currency: 'usd', unit_amount: 10_000, product_data: { name: 'Tollgate credits' } },
        quantity: 1,
      },
    ],
    metadata: { tollgate_customer: 'cus_tg_1', credits_micros: '11000000000' },
    client_reference_id: 'cus_tg_1',
    success_url: 'https://app.example/success?session={CHECKOUT_SESSION_ID}',
    cancel_url: 'https://app.example/cancel',
    ...params,
  });
}

describe('checkout sessions through the real SDK', () => {
  it('creates a payment-mode session with price_data and metadata', async () => {
    const session = await createPaymentSession();
    expect(session.id).toMatch(/^cs_test_/);
    expect(session).toMatchObject({
      object: 'checkout.session',
      status: 'open',
      payment_status: 'unpaid',
      amount_total: 10_000,
      currency: 'usd',
      mode: 'payment',
      ui_mode: 'hosted',
      client_secret: null,
      customer: null,
      client_reference_id: 'cus_tg_1',
      metadata: { tollgate_customer: 'cus_tg_1', credits_micros: '11000000000' },
      payment_intent: null,
    });
    expect(session.url).toBe(`${fake.baseUrl}/c/pay/${session.id}`);

    const [request] = fake.requestsTo('POST', '/v1/checkout/sessions');
    expect(request.body.line_items[0].price_data).toEqual({
      currency: 'usd',
      unit_amount: '10000',
      product_data: { name: 'Tollgate credits' },
    });
    expect(request.body.metadata).toEqual({ tollgate_customer: 'cus_tg_1', credits_micros: '11000000000' });
    expect(request.stripeVersion).toBe(Stripe.API_VERSION);
  });

  it('records the idempotency key the caller chose', async () => {
    await createPaymentSession();
    await stripe.checkout.sessions.create(
      {
        mode: 'payment',
        line_items: [
          { price_data: { currency: 'usd', unit_amount: 500, product_data: { name: 'x' } }, quantity: 1 },
        ],
      },
      { idempotencyKey: 'purchase_42' },
    );
    const keys = fake.requestsTo('POST', '/v1/checkout/sessions').map((request) => request.idempotencyKey);
    expect(keys[0]).toBeNull(); // maxNetworkRetries 0: the SDK adds no key of its own
    expect(keys[1]).toBe('purchase_42');
  });

  it('retrieves a session, expanding line items', async () => {
    const created = await createPaymentSession();
    const plain = await stripe.checkout.sessions.retrieve(created.id);
    expect(plain.line_items).toBeUndefined();
    const expanded = await stripe.checkout.sessions.retrieve(created.id, { expand: ['line_items'] });
    expect(expanded.id).toBe(created.id);
    expect(expanded.line_items?.data).toHaveLength(1);
    expect(expanded.line_items?.data[0]).toMatchObject({
      object: 'item',
      amount_total: 10_000,
      quantity: 1,
      description: 'Tollgate credits',
      price: { unit_amount: 10_000, currency: 'usd', type: 'one_time' },
    });
    expect(fake.requestsTo('GET', `/v1/checkout/sessions/${created.id}`)[1].query).toEqual({
      expand: ['line_items'],
    });
    const items = await stripe.checkout.sessions.listLineItems(created.id);
    expect(items.data[0].amount_total).toBe(10_000);
  });

  it('expires an open session once, then refuses', async () => {
    const created = await createPaymentSession();
    const expired = await stripe.checkout.sessions.expire(created.id);
    expect(expired).toMatchObject({ id: created.id, status: 'expired', url: null });
    expect(fake.events.map((event) => event.type)).toEqual(['checkout.session.expired']);
    await expect(stripe.checkout.sessions.expire(created.id)).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      statusCode: 400,
    });
  });

  it('answers missing objects and unknown paths in Stripe’s error shape', async () => {
    await expect(stripe.checkout.sessions.retrieve('cs_test_missing')).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      statusCode: 404,
      code: 'resource_missing',
      message: "No such checkout.session: 'cs_test_missing'",
    });
    const response = await fetch(`${fake.baseUrl}/v1/not_a_thing`, {
      headers: { authorization: 'Bearer sk_test_x' },
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: {
        type: 'invalid_request_error',
        message: expect.stringContaining('Unrecognized request URL (GET: /v1/not_a_thing)'),
      },
    });
    const unauthenticated = await fetch(`${fake.baseUrl}/v1/customers`, { method: 'POST' });
    expect(unauthenticated.status).toBe(401);
  });

  it('gives embedded sessions a client_secret and no url, and requires return_url', async () => {
    const session = await stripe.checkout.sessions.create({
      mode: 'payment',
      ui_mode: 'embedded',
      return_url: 'https://app.example/return?session={CHECKOUT_SESSION_ID}',
      line_items: [
        { price_data: { currency: 'usd', unit_amount: 500, product_data: { name: 'Credits' } }, quantity: 1 },
      ],
    });
    expect(session.ui_mode).toBe('embedded');
    expect(session.url).toBeNull();
    expect(session.client_secret).toMatch(new RegExp(`^${session.id}_secret_`));
    await expect(
      stripe.checkout.sessions.create({
        mode: 'payment',
        ui_mode: 'embedded',
        success_url: 'https://app.example/success',
        line_items: [
          {
            price_data: { currency: 'usd', unit_amount: 500, product_data: { name: 'Credits' } },
            quantity: 1,
          },
        ],
      }),
    ).rejects.toMatchObject({ param: 'success_url' });
  });

  it('validates like Stripe: mode and recurring prices', async () => {
    await expect(
      stripe.checkout.sessions.create({} as Stripe.Checkout.SessionCreateParams),
    ).rejects.toMatchObject({
      code: 'parameter_missing',
      param: 'mode',
    });
    await expect(
      stripe.checkout.sessions.create({
        mode: 'subscription',
        line_items: [
          {
            price_data: { currency: 'usd', unit_amount: 500, product_data: { name: 'One-off' } },
            quantity: 1,
          },
        ],
      }),
    ).rejects.toMatchObject({ param: 'line_items' });
  });

  it('uses the injected clock for timestamps', async () => {
    const clock = new ManualClock('2026-03-10T12:00:00Z');
    const clocked = await startFakeStripe({ clock });
    try {
      const session = await clocked.client({ maxNetworkRetries: 0 }).checkout.sessions.create({
        mode: 'payment',
        line_items: [
          {
            price_data: { currency: 'usd', unit_amount: 500, product_data: { name: 'Credits' } },
            quantity: 1,
          },
        ],
      });
      expect(session.created).toBe(Date.parse('2026-03-10T12:00:00Z') / 1000);
      expect(session.expires_at).toBe(session.created + 86_400);
    } finally {
      await clocked.close();
    }
  });
});

describe('idempotency and injected failures', () => {
  it('replays the first answer for a repeated key and refuses the key with other parameters', async () => {
    const first = await stripe.customers.create({ email: 'a@example.com' }, { idempotencyKey: 'customer_a' });
    const again = await stripe.customers.create({ email: 'a@example.com' }, { idempotencyKey: 'customer_a' });
    expect(again.id).toBe(first.id);
    expect(fake.customers.size).toBe(1);
    await expect(
      stripe.customers.create({ email: 'b@example.com' }, { idempotencyKey: 'customer_a' }),
    ).rejects.toMatchObject({ type: 'StripeIdempotencyError' });
  });

  it('fails the next matching request with a Stripe-shaped error', async () => {
    fake.failNext({ method: 'POST', path: '/v1/checkout/sessions', status: 500, message: 'Stripe is down' });
    await expect(createPaymentSession()).rejects.toMatchObject({
      type: 'StripeAPIError',
      message: 'Stripe is down',
    });
    await expect(createPaymentSession()).resolves.toMatchObject({ status: 'open' });
  });

  it('lets the SDK retry with its own idempotency key', async () => {
    const retrying = fake.client({ maxNetworkRetries: 1 });
    fake.failNext({ method: 'POST', path: '/v1/customers', status: 503 });
    const customer = await retrying.customers.create({ email: 'retry@example.com' });
    const attempts = fake.requestsTo('POST', '/v1/customers');
    expect(attempts.map((attempt) => attempt.status)).toEqual([503, 200]);
    expect(attempts[0].idempotencyKey).toMatch(/^stripe-node-retry-/);
    expect(attempts[1].idempotencyKey).toBe(attempts[0].idempotencyKey);
    expect(customer.email).toBe('retry@example.com');
  });
});

describe('webhook signatures', () => {
  it('produces events that constructEvent verifies', async () => {
    const session = await createPaymentSession();
    const event = checkoutSessionCompletedEvent(session);
    const { body, headers } = signedWebhook(event, WEBHOOK_SECRET);
    expect(headers['content-type']).toBe('application/json');
    const verified = stripe.webhooks.constructEvent(body, headers['stripe-signature'], WEBHOOK_SECRET);
    expect(verified.type).toBe('checkout.session.completed');
    const completed = verified.data.object as Stripe.Checkout.Session;
    expect(completed).toMatchObject({
      id: session.id,
      status: 'complete',
      payment_status: 'paid',
      amount_total: 10_000,
      client_reference_id: 'cus_tg_1',
      metadata: session.metadata,
    });
    expect(completed.payment_intent).toMatch(/^pi_/);
    await expect(
      stripe.webhooks.constructEventAsync(body, headers['stripe-signature'], WEBHOOK_SECRET),
    ).resolves.toMatchObject({
      id: event.id,
    });
  });

  it('rejects a tampered body, a wrong secret and a stale timestamp', () => {
    const event = checkoutSessionCompletedEvent({ id: 'cs_test_1', amount_total: 500 });
    const { body, headers } = signedWebhook(event, WEBHOOK_SECRET);
    const tampered = body.replace('"amount_total": 500', '"amount_total": 50000');
    expect(tampered).not.toBe(body);
    expect(() =>
      stripe.webhooks.constructEvent(tampered, headers['stripe-signature'], WEBHOOK_SECRET),
    ).toThrow(Stripe.errors.StripeSignatureVerificationError);
    expect(() => stripe.webhooks.constructEvent(body, headers['stripe-signature'], 'whsec_other')).toThrow(
      /No signatures found/,
    );
    const stale = signedWebhook(event, WEBHOOK_SECRET, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect(() =>
      stripe.webhooks.constructEvent(stale.body, stale.headers['stripe-signature'], WEBHOOK_SECRET),
    ).toThrow(/tolerance/);
  });
});

describe('event builders', () => {
  it('builds checkout.session.expired', () => {
    const event = checkoutSessionExpiredEvent({ id: 'cs_test_2', amount_total: 500, metadata: { a: 'b' } });
    expect(event).toMatchObject({
      object: 'event',
      type: 'checkout.session.expired',
      api_version: Stripe.API_VERSION,
      livemode: false,
      data: {
        object: { id: 'cs_test_2', object: 'checkout.session', status: 'expired', payment_status: 'unpaid' },
      },
    });
  });

  it('builds charge.refunded with the cumulative amount and previous_attributes', () => {
    const partial = chargeRefundedEvent({ payment_intent: 'pi_1', amount: 10_000, amount_refunded: 2_500 });
    expect(partial.data.object).toMatchObject({
      object: 'charge',
      payment_intent: 'pi_1',
      amount: 10_000,
      amount_refunded: 2_500,
      refunded: false,
    });
    expect(partial.data.previous_attributes).toEqual({ amount_refunded: 0 });
    const rest = chargeRefundedEvent({
      payment_intent: 'pi_1',
      amount: 10_000,
      amount_refunded: 10_000,
      previous_amount_refunded: 2_500,
    });
    expect(rest.data.object.refunded).toBe(true);
    expect(rest.data.previous_attributes).toEqual({ amount_refunded: 2_500, refunded: false });
  });

  it('builds invoice.paid in the clover shape, the service period on the line', () => {
    const event = invoicePaidEvent({
      subscription: 'sub_1',
      customer: 'cus_1',
      period_start: 1_772_323_200,
      period_end: 1_775_001_600,
      price: { id: 'price_pro', unit_amount: 2_500, product: 'prod_pro' },
      billing_reason: 'subscription_cycle',
      subscription_metadata: { tollgate_plan: 'pro' },
    });
    const invoice = event.data.object as Stripe.Invoice;
    expect(event.type).toBe('invoice.paid');
    expect(invoice).toMatchObject({
      object: 'invoice',
      status: 'paid',
      amount_paid: 2_500,
      customer: 'cus_1',
    });
    expect(invoice.billing_reason).toBe('subscription_cycle');
    expect(invoice.parent?.subscription_details?.subscription).toBe('sub_1');
    expect(invoice.parent?.subscription_details?.metadata).toEqual({ tollgate_plan: 'pro' });
    const [line] = invoice.lines.data;
    expect(line.period).toEqual({ start: 1_772_323_200, end: 1_775_001_600 });
    expect(line.pricing?.price_details?.price).toBe('price_pro');
    expect(line.parent?.subscription_item_details?.proration).toBe(false);
    expect(line.invoice).toBe(invoice.id);

    const failed = invoicePaymentFailedEvent({
      subscription: 'sub_1',
      customer: 'cus_1',
      period_start: 1,
      period_end: 2,
      price: { id: 'p', unit_amount: 100 },
    });
    expect(failed.type).toBe('invoice.payment_failed');
    expect(failed.data.object).toMatchObject({
      status: 'open',
      amount_paid: 0,
      amount_remaining: 100,
      attempted: true,
    });
  });

  it('builds subscription updated/deleted events with periods on the items', () => {
    const spec = {
      id: 'sub_2',
      customer: 'cus_2',
      price: { id: 'price_max', unit_amount: 5_000 },
      current_period_start: 100,
      current_period_end: 200,
    };
    const updated = subscriptionUpdatedEvent(spec, { cancel_at_period_end: false });
    expect(updated.type).toBe('customer.subscription.updated');
    expect(updated.data.previous_attributes).toEqual({ cancel_at_period_end: false });
    const item = (updated.data.object as Stripe.Subscription).items.data[0];
    expect(item).toMatchObject({
      current_period_start: 100,
      current_period_end: 200,
      price: { id: 'price_max' },
    });
    const deleted = subscriptionDeletedEvent({ ...spec, ended_at: 200 });
    expect(deleted.data.object).toMatchObject({
      id: 'sub_2',
      status: 'canceled',
      ended_at: 200,
      canceled_at: 200,
    });
  });
});

describe('payments, refunds and subscriptions through the SDK', () => {
  it('completes a payment session, then refunds it in parts with cumulative charge.refunded', async () => {
    const session = await createPaymentSession({ payment_intent_data: { metadata: { purchase: 'pur_1' } } });
    const { session: completed, events } = fake.completeCheckoutSession(session.id);
    expect(events.map((event) => event.type)).toEqual(['checkout.session.completed']);
    expect(completed).toMatchObject({ status: 'complete', payment_status: 'paid' });
    const paymentIntentId = completed.payment_intent as string;
    const paymentIntent = await stripe.paymentIntents.retrieve(paymentIntentId);
    expect(paymentIntent).toMatchObject({
      amount: 10_000,
      status: 'succeeded',
      metadata: { purchase: 'pur_1' },
    });

    const refund = await stripe.refunds.create({ payment_intent: paymentIntentId, amount: 4_000 });
    expect(refund).toMatchObject({
      object: 'refund',
      amount: 4_000,
      payment_intent: paymentIntentId,
      status: 'succeeded',
    });
    await stripe.refunds.create({ payment_intent: paymentIntentId });
    const refundedEvents = fake.events.filter((event) => event.type === 'charge.refunded');
    expect(refundedEvents.map((event) => event.data.object.amount_refunded)).toEqual([4_000, 10_000]);
    expect(refundedEvents.map((event) => event.data.object.refunded)).toEqual([false, true]);
    await expect(stripe.refunds.create({ payment_intent: paymentIntentId, amount: 1 })).rejects.toMatchObject(
      {
        code: 'charge_already_refunded',
      },
    );
  });

  it('runs a subscription: checkout, prorated upgrade, renewal, cancel', async () => {
    const product = await stripe.products.create({ name: 'Pro' });
    const pro = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 2_500,
      recurring: { interval: 'month' },
      lookup_key: 'tollgate_pro',
    });
    const max = await stripe.prices.create({
      product_data: { name: 'Max' },
      currency: 'usd',
      unit_amount: 5_000,
      recurring: { interval: 'month' },
      lookup_key: 'tollgate_max',
    });
    const found = await stripe.prices.list({ lookup_keys: ['tollgate_max'] });
    expect(found.data.map((price) => price.id)).toEqual([max.id]);

    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: pro.id, quantity: 1 }],
      subscription_data: { metadata: { tollgate_customer: 'cus_tg_2' } },
      success_url: 'https://app.example/ok',
    });
    const { session: completed, events } = fake.completeCheckoutSession(session.id);
    expect(events.map((event) => event.type)).toEqual([
      'customer.subscription.created',
      'invoice.paid',
      'checkout.session.completed',
    ]);
    const subscriptionId = completed.subscription as string;
    const firstInvoice = events[1].data.object as Stripe.Invoice;
    expect(firstInvoice.billing_reason).toBe('subscription_create');
    expect(firstInvoice.parent?.subscription_details?.subscription).toBe(subscriptionId);
    expect(firstInvoice.parent?.subscription_details?.metadata).toEqual({ tollgate_customer: 'cus_tg_2' });

    const subscription = await stripe.subscriptions.retrieve(subscriptionId);
    const item = subscription.items.data[0];
    expect(item.price.id).toBe(pro.id);
    expect(item.current_period_end).toBeGreaterThan(item.current_period_start);
    expect(firstInvoice.lines.data[0].period).toEqual({
      start: item.current_period_start,
      end: item.current_period_end,
    });

    const upgraded = await stripe.subscriptions.update(subscriptionId, {
      items: [{ id: item.id, price: max.id }],
      proration_behavior: 'always_invoice',
    });
    expect(upgraded.items.data[0].price.id).toBe(max.id);
    expect(fake.subscriptionUpdates).toEqual([
      {
        subscription: subscriptionId,
        params: { items: [{ id: item.id, price: max.id }], proration_behavior: 'always_invoice' },
        at: expect.any(Number),
      },
    ]);
    const prorationInvoice = fake.events.at(-1)!.data.object as Stripe.Invoice;
    expect(fake.events.at(-1)!.type).toBe('invoice.paid');
    expect(prorationInvoice.billing_reason).toBe('subscription_update');
    expect(
      prorationInvoice.lines.data.map((line) => line.parent?.subscription_item_details?.proration),
    ).toEqual([true, true]);
    expect(prorationInvoice.amount_paid).toBeGreaterThan(0);
    expect(prorationInvoice.amount_paid).toBeLessThanOrEqual(2_500);
    const updatedEvent = fake.events.at(-2)!;
    expect(updatedEvent.type).toBe('customer.subscription.updated');
    expect(updatedEvent.data.previous_attributes.items.data[0].price.id).toBe(pro.id);

    const { events: renewalEvents } = fake.renewSubscription(subscriptionId);
    const renewal = renewalEvents[1].data.object as Stripe.Invoice;
    expect(renewal.billing_reason).toBe('subscription_cycle');
    expect(renewal.lines.data[0].period.start).toBe(item.current_period_end);
    expect(renewal.amount_paid).toBe(5_000);

    const canceled = await stripe.subscriptions.cancel(subscriptionId);
    expect(canceled.status).toBe('canceled');
    expect(fake.events.at(-1)!.type).toBe('customer.subscription.deleted');
  });

  it('applies an update entirely or not at all, and bills create_prorations at renewal', async () => {
    const pro = await stripe.prices.create({
      product_data: { name: 'Pro' },
      currency: 'usd',
      unit_amount: 2_500,
      recurring: { interval: 'month' },
    });
    const max = await stripe.prices.create({
      product_data: { name: 'Max' },
      currency: 'usd',
      unit_amount: 5_000,
      recurring: { interval: 'month' },
    });
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: pro.id, quantity: 1 }],
    });
    const subscriptionId = fake.completeCheckoutSession(session.id).session.subscription as string;
    const itemId = (await stripe.subscriptions.retrieve(subscriptionId)).items.data[0].id;

    await expect(
      stripe.subscriptions.update(subscriptionId, {
        items: [{ id: itemId, price: max.id }, { price: 'price_missing' }],
      }),
    ).rejects.toMatchObject({ code: 'resource_missing', param: 'items[1][price]' });
    expect(
      (await stripe.subscriptions.retrieve(subscriptionId)).items.data.map((item) => item.price.id),
    ).toEqual([pro.id]);

    const eventsBefore = fake.events.length;
    await stripe.subscriptions.update(subscriptionId, { items: [{ id: itemId, price: max.id }] });
    expect(fake.events.slice(eventsBefore).map((event) => event.type)).toEqual([
      'customer.subscription.updated',
    ]);
    const { events } = fake.renewSubscription(subscriptionId);
    const renewal = events[1].data.object as Stripe.Invoice;
    expect(renewal.lines.data.map((line) => line.parent?.subscription_item_details?.proration)).toEqual([
      true,
      true,
      false,
    ]);
    expect(renewal.lines.data[2].amount).toBe(5_000);
  });

  it('schedules a cancellation at period end and ends it on renewal', async () => {
    const price = await stripe.prices.create({
      product_data: { name: 'Pro' },
      currency: 'usd',
      unit_amount: 2_500,
      recurring: { interval: 'month' },
    });
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: price.id, quantity: 1 }],
    });
    const subscriptionId = fake.completeCheckoutSession(session.id).session.subscription as string;
    const scheduled = await stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: true });
    expect(scheduled).toMatchObject({ cancel_at_period_end: true, status: 'active' });
    expect(scheduled.cancel_at).toBe(scheduled.items.data[0].current_period_end);
    const { events } = fake.renewSubscription(subscriptionId);
    expect(events.map((event) => event.type)).toEqual(['customer.subscription.deleted']);
  });
});

describe('webhook delivery and the hosted page', () => {
  let receiver: Server;
  const received: Stripe.Event[] = [];

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk) => chunks.push(chunk));
      request.on('end', () => {
        try {
          const event = stripe.webhooks.constructEvent(
            Buffer.concat(chunks),
            String(request.headers['stripe-signature']),
            WEBHOOK_SECRET,
          );
          received.push(event);
          response.writeHead(200).end('{"received":true}');
        } catch {
          response.writeHead(400).end('bad signature');
        }
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it('delivers signed events when the buyer pays on the hosted page', async () => {
    const port = (receiver.address() as AddressInfo).port;
    fake.setWebhook({ url: `http://127.0.0.1:${port}/v1/webhooks/stripe`, secret: WEBHOOK_SECRET });
    const session = await createPaymentSession();

    const page = await fetch(session.url!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('$100.00');
    const paid = await fetch(`${fake.baseUrl}/c/pay/${session.id}/complete`, {
      method: 'POST',
      redirect: 'manual',
    });
    expect(paid.status).toBe(303);
    expect(paid.headers.get('location')).toBe(`https://app.example/success?session=${session.id}`);

    await fake.settle();
    expect(fake.deliveries.map((delivery) => delivery.status)).toEqual([200]);
    expect(received.map((event) => event.type)).toEqual(['checkout.session.completed']);
    expect((received[0].data.object as Stripe.Checkout.Session).id).toBe(session.id);

    const wrongSecret = await fake.deliver(checkoutSessionCompletedEvent(session), {
      url: `http://127.0.0.1:${port}/`,
      secret: 'whsec_wrong',
    });
    expect(wrongSecret.status).toBe(400);
  });
});

describe('parseStripeForm', () => {
  it('reads bracket notation into objects and arrays', () => {
    expect(
      parseStripeForm(
        'mode=payment&line_items[0][price_data][unit_amount]=500&line_items[0][quantity]=1' +
          '&line_items[1][price]=price_1&metadata[user%20id]=a+b%26c&expand[]=line_items&expand[]=customer',
      ),
    ).toEqual({
      mode: 'payment',
      line_items: [{ price_data: { unit_amount: '500' }, quantity: '1' }, { price: 'price_1' }],
      metadata: { 'user id': 'a b&c' },
      expand: ['line_items', 'customer'],
    });
  });

  it('orders indices numerically and ignores prototype keys', () => {
    const parsed = parseStripeForm(
      'items[10][id]=b&items[2][id]=a&__proto__[polluted]=1&a[constructor][x]=1',
    );
    expect(parsed.items).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(parsed.a).toBeUndefined();
  });
});
