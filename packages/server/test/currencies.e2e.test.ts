/**
 * Paying in other currencies (seed 004's widget `currency: 'eur'`), end to end over HTTP: the server
 * prices a purchase in the buyer's currency from its own config (price of a credit, minimum, bonus
 * tiers, pack prices), Stripe — the official SDK against the local fake — is asked to charge that
 * currency, and the signed webhook grants exactly what the purchase recorded. Refunds claw back in
 * the same currency's minor units; reports never add euros to dollars.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigSource } from '../src/config/load-config.ts';
import { auditLedger } from '../src/ledger/audit.ts';
import type { ManualClock } from '../src/shared/clock.ts';
import { type FakeStripe, startFakeStripe } from './fakes/fake-stripe.ts';
import { testBackends } from './support/databases.ts';
import { expectError, expectStatus } from './support/expectations.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const STRIPE_SECRET_KEY = 'sk_test_tollgate_currencies_0123456789';
const WEBHOOK_SECRET = 'whsec_tollgate_currencies_0123456789abcdef';

const CONFIG_TEXT = [
  'currencies:',
  '  eur: { per_credit: 0.0095, minimum: 4.5, bonus: [{ from: 40, percent: 12.5 }], packs: { pack_100: 0.95 } }',
  '  jpy: { per_credit: 1.5, minimum: 500 }',
].join('\n');

type App = { id: string; secret_key: string; publishable_key: string };

for (const backend of testBackends()) {
  describe(`purchases in other currencies (${backend.name})`, () => {
    let fake: FakeStripe;
    let stripe: Stripe;
    let server: TestServer;
    let app: App;
    let serverClock: ManualClock | undefined;

    beforeAll(async () => {
      fake = await startFakeStripe({ clock: { now: () => serverClock?.now() ?? new Date() } });
      const env = { STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, STRIPE_API_BASE: fake.baseUrl };
      server = await startTestServer(backend, { env, config: parseConfigSource(CONFIG_TEXT, { env }) });
      serverClock = server.clock;
      fake.setWebhook({ url: `${server.url}/v1/webhooks/stripe`, secret: WEBHOOK_SECRET });
      stripe = fake.client({ maxNetworkRetries: 0 });
      app = await server.createApp({ name: 'Euro app' });
    });
    afterAll(async () => {
      await fake?.close();
      await server?.close();
    });

    const balanceOf = async (customer: string): Promise<number> =>
      expectStatus(await server.call('GET', `/v1/customers/${customer}`, { key: app.secret_key }), 200)
        .balance;
    const checkout = (customer: string, body: Record<string, unknown>) =>
      server.call('POST', '/v1/checkout/sessions', { key: app.secret_key, body: { customer, ...body } });
    const lastStripeCheckout = () => fake.requestsTo('POST', '/v1/checkout/sessions').at(-1)!;
    const pay = async (sessionId: string) => {
      const { session } = fake.completeCheckoutSession(sessionId);
      await fake.settle();
      return session;
    };

    it('€12.50 is charged in euros and buys 1,315.789473 credits at €0.0095 a credit, rounded down', async () => {
      const customer = await server.createCustomer(app.secret_key, 'euro-buyer');
      const before = await balanceOf(customer.id);
      const session = expectStatus(await checkout(customer.id, { amount: '12.50', currency: 'EUR' }), 201);
      expect(session.purchase).toMatchObject({
        amount: 12.5,
        currency: 'eur',
        amount_usd: null,
        credits: 1315.789473,
        bonus_credits: 0,
        status: 'pending',
      });
      expect(lastStripeCheckout().body.line_items[0]).toMatchObject({
        price_data: { currency: 'eur', unit_amount: '1250' },
      });

      const paid = await pay(session.id);
      expect(before).toBe(500); // the signup bonus
      expect(await balanceOf(customer.id)).toBe(1815.789473);
      const purchases = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}/purchases`, { key: app.secret_key }),
        200,
      );
      expect(purchases.data[0]).toMatchObject({ status: 'completed', amount: 12.5, currency: 'eur' });

      // A €5 refund claws back 5/12.5 of the credits, rounded up: 526.315789 + 1e-6.
      await stripe.refunds.create({ payment_intent: paid.payment_intent as string, amount: 500 });
      await fake.settle();
      expect(await balanceOf(customer.id)).toBe(1289.473683);
      const refunded = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}/purchases`, { key: app.secret_key }),
        200,
      );
      expect(refunded.data[0]).toMatchObject({
        status: 'partially_refunded',
        refunded_amount: 5,
        refunded_usd: null,
      });
    });

    it('€40 reaches the euro bonus tier; a pack sells at its euro price; yen have no minor unit', async () => {
      const customer = await server.createCustomer(app.secret_key, 'euro-bonus');
      const bonus = expectStatus(await checkout(customer.id, { amount: 40, currency: 'eur' }), 201);
      expect(bonus.purchase).toMatchObject({ credits: 4736.842104, bonus_credits: 526.315789 });

      const pack = expectStatus(await checkout(customer.id, { pack: 'pack_100', currency: 'eur' }), 201);
      expect(pack.purchase).toMatchObject({ amount: 0.95, currency: 'eur', credits: 100 });
      expect(lastStripeCheckout().body.line_items[0]).toMatchObject({
        price_data: { currency: 'eur', unit_amount: '95' },
      });

      const yen = expectStatus(await checkout(customer.id, { amount: 600, currency: 'jpy' }), 201);
      expect(yen.purchase).toMatchObject({ amount: 600, currency: 'jpy', credits: 400 });
      expect(lastStripeCheckout().body.line_items[0]).toMatchObject({
        price_data: { currency: 'jpy', unit_amount: '600' },
      });
      await pay(yen.id);
      expect(await balanceOf(customer.id)).toBe(500 + 400);
    });

    it('refuses what the config does not sell, and creates nothing', async () => {
      const customer = await server.createCustomer(app.secret_key, 'euro-refused');
      const stripeCalls = fake.requestsTo('POST', '/v1/checkout/sessions').length;
      expect(
        expectError(await checkout(customer.id, { amount: '4.49', currency: 'eur' }), 400, 'invalid_request'),
      ).toMatchObject({
        param: 'amount',
        currency: 'eur',
        minimum: 4.5,
      });
      expectError(await checkout(customer.id, { amount: '12.505', currency: 'eur' }), 400, 'invalid_request');
      expectError(await checkout(customer.id, { amount: '600.5', currency: 'jpy' }), 400, 'invalid_request');
      expect(
        expectError(await checkout(customer.id, { amount_usd: 10, currency: 'eur' }), 400, 'invalid_request'),
      ).toMatchObject({
        param: 'amount_usd',
      });
      expect(
        expectError(
          await checkout(customer.id, { pack: 'pack_500', currency: 'eur' }),
          400,
          'invalid_request',
        ),
      ).toMatchObject({
        param: 'pack',
      });
      const unknown = expectError(
        await checkout(customer.id, { amount: 10, currency: 'gbp' }),
        400,
        'invalid_request',
      );
      expect(unknown).toMatchObject({ param: 'currency', currencies: ['usd', 'eur', 'jpy'] });
      expect(fake.requestsTo('POST', '/v1/checkout/sessions')).toHaveLength(stripeCalls);
      const purchases = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}/purchases`, { key: app.secret_key }),
        200,
      );
      expect(purchases.data).toEqual([]);
    });

    it('the widget reads the euro offer; USD stays what earlier clients read', async () => {
      const euro = expectStatus(
        await server.call('GET', `/v1/widget/config?publishable_key=${app.publishable_key}&currency=eur`),
        200,
      );
      expect(euro).toMatchObject({
        currency: 'eur',
        currencies: ['usd', 'eur', 'jpy'],
        per_credit: 0.0095,
        minimum: 4.5,
        usd_per_credit: null,
        bonus: [{ from: 40, percent: 12.5 }],
      });
      expect(euro.amounts.map((option: { amount: number }) => option.amount)).toEqual([5, 10, 25, 50, 100]);
      expect(euro.amounts[4]).toMatchObject({ amount: 100, amount_usd: null, credits: 11842.105262 });
      const usd = expectStatus(
        await server.call('GET', `/v1/widget/config?publishable_key=${app.publishable_key}`),
        200,
      );
      expect(usd).toMatchObject({ currency: 'usd', usd_per_credit: 0.01, minimum_usd: 5 });
      expect(usd.amounts[0]).toMatchObject({ amount: 5, amount_usd: 5, credits: 500 });
    });

    it('partner stats keep dollars and other currencies apart; the books balance', async () => {
      const stats = expectStatus(
        await server.call('GET', '/v1/partner/stats?days=7', { key: app.secret_key }),
        200,
      );
      expect(stats.purchases_in_other_currencies).toEqual([
        { currency: 'eur', amount: 12.5, count: 1 },
        { currency: 'jpy', amount: 600, count: 1 },
      ]);
      const audit = await auditLedger(server.tollgate.db, server.clock);
      expect(audit.problems).toEqual([]);
    });
  });
}
