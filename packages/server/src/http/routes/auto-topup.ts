/** Auto top-up over HTTP: a customer's threshold, amount and monthly cap, saving a card, the attempts. */
import { z } from 'zod';
import { type AutoTopupService, attemptWire, autoTopupWire } from '../../auto-topup/auto-topup-service.ts';
import type { CustomersService } from '../../customers/customers-service.ts';
import { TollgateError } from '../../shared/errors.ts';
import { parseCredits, parseUsdToCents } from '../../shared/money.ts';
import { defineRoute } from '../route.ts';
import { creditsSchema, fullListSchema, timestampSchema } from '../wire.ts';
import { creditAmount, identifier } from './schemas.ts';

const tag = 'Auto top-up';
const auth = ['app', 'admin'] as const;
const usd = z.union([z.number(), z.string().max(20)]);
/** A threshold far beyond any real balance is a typo, not a setting. */
const MAXIMUM_THRESHOLD_MICROS = 1_000_000_000n * 1_000_000n;
/** The largest monthly cap (USD cents): a million dollars a month. */
const MAXIMUM_CAP_CENTS = 100_000_000n;
const urlField = z.string().url().max(2000);

/** autoTopupWire (auto-topup/auto-topup-service.ts): the setting, this month's spend, its state. */
const autoTopupSchema = z.object({
  object: z.literal('auto_topup'),
  customer: z.string(),
  enabled: z.boolean().describe('false once turned off after repeated failures'),
  threshold: creditsSchema.describe('Below this many credits available, a top-up is bought'),
  amount_usd: z.number().describe('What each top-up buys, in USD'),
  monthly_cap_usd: z.number(),
  spent_this_month_usd: z.number(),
  provider: z.enum(['stripe', 'test']),
  payment_method: z.string().nullable().describe('The saved card; null until one is saved'),
  failures: z.number().int().describe('Payments failed in a row'),
  disabled_reason: z.string().nullable(),
  in_flight_attempt: z.string().nullable().describe('The attempt whose payment is under way'),
  retry_after: timestampSchema.nullable(),
  updated_at: timestampSchema,
});

const autoTopupExample = {
  object: 'auto_topup',
  customer: 'cus_8f3k2m9x1q7z',
  enabled: true,
  threshold: 5,
  amount_usd: 20,
  monthly_cap_usd: 100,
  spent_this_month_usd: 20,
  provider: 'stripe',
  payment_method: 'pm_1QxYz',
  failures: 0,
  disabled_reason: null,
  in_flight_attempt: null,
  retry_after: null,
  updated_at: '2026-01-01T00:00:00.000Z',
};

/** attemptWire (auto-topup/auto-topup-service.ts): one top-up payment. */
const attemptSchema = z.object({
  id: z.string(),
  object: z.literal('auto_topup.attempt'),
  status: z.enum(['pending', 'succeeded', 'failed']),
  amount_usd: z.number(),
  credits: creditsSchema,
  purchase: z.string(),
  payment_intent: z.string().nullable(),
  failure_message: z.string().nullable(),
  created_at: timestampSchema,
  finished_at: timestampSchema.nullable(),
});

const attemptExample = {
  id: 'atu_3kQ9x7Lm2pRt',
  object: 'auto_topup.attempt',
  status: 'succeeded',
  amount_usd: 20,
  credits: 20,
  purchase: 'pur_7hX2n4Wq8sYc',
  payment_intent: 'pi_3QxYz',
  failure_message: null,
  created_at: '2026-01-01T00:00:00.000Z',
  finished_at: '2026-01-01T00:00:02.000Z',
};

export function autoTopupRoutes(autoTopups: AutoTopupService, customers: CustomersService) {
  const view = async (customerId: string) => {
    const row = await autoTopups.get(customerId);
    if (!row) throw new TollgateError('not_found', 'This customer has no auto top-up');
    return autoTopupWire(row, await autoTopups.spentThisMonthCents(customerId));
  };
  return [
    defineRoute({
      method: 'PUT',
      url: '/v1/customers/:id/auto-topup',
      summary:
        'Set auto top-up: below `threshold` credits available, buy `amount_usd` with the saved card, at most `monthly_cap_usd` a month',
      tag,
      auth: [...auth],
      params: z.object({ id: identifier }),
      body: z.object({ threshold: creditAmount, amount_usd: usd, monthly_cap_usd: usd }).strict(),
      response: { schema: autoTopupSchema, example: autoTopupExample },
      async handler({ params, body, principal }) {
        const customer = await customers.resolve(params.id, principal);
        const thresholdMicros = parseCredits(body.threshold, 'threshold');
        if (thresholdMicros <= 0n || thresholdMicros > MAXIMUM_THRESHOLD_MICROS) {
          throw new TollgateError(
            'invalid_request',
            'threshold must be above 0 and at most 1,000,000,000 credits',
            {
              param: 'threshold',
            },
          );
        }
        const amountCents = parseUsdToCents(body.amount_usd, 'amount_usd');
        const monthlyCapCents = parseUsdToCents(body.monthly_cap_usd, 'monthly_cap_usd');
        if (monthlyCapCents > MAXIMUM_CAP_CENTS) {
          throw new TollgateError('invalid_request', 'monthly_cap_usd is too large', {
            param: 'monthly_cap_usd',
          });
        }
        await autoTopups.put(customer, { thresholdMicros, amountCents, monthlyCapCents });
        return view(customer.id);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/auto-topup',
      summary: "A customer's auto top-up, what it spent this month and whether a payment is in flight",
      tag,
      auth: [...auth],
      params: z.object({ id: identifier }),
      response: { schema: autoTopupSchema, example: autoTopupExample },
      async handler({ params, principal }) {
        const customer = await customers.resolve(params.id, principal);
        return view(customer.id);
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/customers/:id/auto-topup',
      summary: "Turn a customer's auto top-up off (a payment already started still grants its credits)",
      tag,
      auth: [...auth],
      params: z.object({ id: identifier }),
      response: {
        schema: z.object({ object: z.literal('auto_topup'), customer: z.string(), deleted: z.literal(true) }),
      },
      async handler({ params, principal }) {
        const customer = await customers.resolve(params.id, principal);
        const deleted = await autoTopups.remove(customer.id);
        if (!deleted) throw new TollgateError('not_found', 'This customer has no auto top-up');
        return { object: 'auto_topup', customer: customer.id, deleted: true };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/customers/:id/auto-topup/setup',
      summary:
        'Save the card auto top-up pays with: a Stripe Checkout page in setup mode (`url`); in test mode the simulated card, saved at once',
      tag,
      auth: [...auth],
      params: z.object({ id: identifier }),
      body: z
        .object({
          success_url: urlField.optional(),
          cancel_url: urlField.optional(),
          test_card: z.enum(['succeeds', 'declines']).optional(),
        })
        .strict(),
      response: {
        status: 201,
        schema: z.object({
          object: z.literal('auto_topup.setup'),
          url: z.string().nullable().describe("Stripe Checkout's setup page; null in test mode"),
          saved: z.boolean().describe('true when the card is already saved (test mode)'),
          auto_topup: autoTopupSchema,
        }),
        example: {
          object: 'auto_topup.setup',
          url: 'https://checkout.stripe.com/c/pay/cs_test_…',
          saved: false,
          auto_topup: { ...autoTopupExample, payment_method: null },
        },
      },
      async handler({ params, body, principal, reply }) {
        const customer = await customers.resolve(params.id, principal);
        const setup = await autoTopups.startSetup(customer, body);
        reply.code(201);
        return {
          object: 'auto_topup.setup',
          url: setup.url,
          saved: setup.saved,
          auto_topup: await view(customer.id),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/auto-topup/attempts',
      summary: "A customer's auto top-up payments, newest first",
      tag,
      auth: [...auth],
      params: z.object({ id: identifier }),
      query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
      response: {
        schema: fullListSchema(attemptSchema),
        example: { object: 'list', data: [attemptExample] },
      },
      async handler({ params, query, principal }) {
        const customer = await customers.resolve(params.id, principal);
        return {
          object: 'list',
          data: (await autoTopups.attempts(customer.id, query.limit)).map(attemptWire),
        };
      },
    }),
  ];
}
