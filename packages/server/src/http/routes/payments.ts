/** Checkout sessions, purchases, Stripe webhooks, gift codes and subscriptions over HTTP. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Principal } from '../../auth/principals.ts';
import type { CustomersService } from '../../customers/customers-service.ts';
import type { GiftCodesService } from '../../gifts/gift-codes-service.ts';
import {
  type PurchasesService,
  purchaseExample,
  purchaseSchema,
  purchaseWire,
} from '../../payments/purchases-service.ts';
import type { StripeWebhooks } from '../../payments/webhooks.ts';
import type { RateLimiter } from '../../ratelimit/rate-limiter.ts';
import { TollgateError } from '../../shared/errors.ts';
import { parsePositiveCredits } from '../../shared/money.ts';
import type { SubscriptionsService } from '../../subscriptions/subscriptions-service.ts';
import { defineRoute } from '../route.ts';
import { creditsSchema, fullListSchema, listSchema, subscriptionSchema, timestampSchema } from '../wire.ts';
import { creditAmount, customerParams, identifier, pagination } from './schemas.ts';

export interface PaymentRouteDeps {
  customers: CustomersService;
  purchases: PurchasesService;
  webhooks: StripeWebhooks;
  gifts: GiftCodesService;
  subscriptions: SubscriptionsService;
  redeemLimiter: RateLimiter;
}

const urlField = z.string().url().max(2000);

const checkoutSchema = z.object({
  id: z.string(),
  url: z.string().nullable().describe('Where to send the buyer (hosted); null for an embedded checkout'),
  client_secret: z.string().nullable().describe('For an embedded Stripe Checkout'),
});

const giftBatchSchema = z.object({
  id: z.string(),
  object: z.literal('gift_code_batch'),
  amount: creditsSchema,
  count: z.number().int(),
  max_redemptions: z.number().int(),
  expires_at: timestampSchema.nullable(),
});

/** Every answer of the subscription routes carries the subscription as it now stands (null: none). */
const subscriptionAnswer = z.object({ subscription: subscriptionSchema.nullable() });

export function paymentRoutes(deps: PaymentRouteDeps) {
  const { customers, purchases, gifts, subscriptions } = deps;
  /** A user key acts for its own customer; apps and the operator name one. */
  const customerFor = (principal: Principal, reference: string | undefined) => {
    if (principal.kind === 'user') return customers.resolve(reference ?? principal.customerId, principal);
    if (!reference) throw new TollgateError('invalid_request', 'customer is required', { param: 'customer' });
    return customers.resolve(reference, principal);
  };
  const appIdOf = (principal: Principal) =>
    principal.kind === 'app' ? principal.appId : principal.kind === 'user' ? principal.appId : null;

  return [
    defineRoute({
      method: 'POST',
      url: '/v1/checkout/sessions',
      summary: 'Start buying credits: a custom amount (minimum and bonus tiers from config) or a named pack',
      tag: 'Payments',
      auth: ['app', 'admin', 'user'],
      idempotent: 'replay',
      body: z.object({
        customer: identifier.optional(),
        amount_usd: z.union([z.number(), z.string().max(20)]).optional(),
        amount: z.union([z.number(), z.string().max(20)]).optional(),
        currency: z.string().min(3).max(3).optional(),
        pack: z.string().min(1).max(100).optional(),
        success_url: urlField.optional(),
        cancel_url: urlField.optional(),
        ui_mode: z.enum(['hosted', 'embedded']).optional(),
      }),
      response: {
        status: 201,
        schema: checkoutSchema.extend({
          object: z.literal('checkout.session'),
          mode: z.enum(['test', 'live']),
          purchase: purchaseSchema,
        }),
        example: {
          id: 'cs_test_…',
          object: 'checkout.session',
          url: 'https://checkout.stripe.com/c/pay/cs_test_…',
          client_secret: null,
          mode: 'live',
          purchase: { ...purchaseExample, status: 'pending', completed_at: null },
        },
      },
      async handler({ body, principal, reply }) {
        const customer = await customerFor(principal, body.customer);
        reply.code(201);
        return purchases.createCheckout(customer, body);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/checkout/sessions/:id',
      summary: 'A checkout session and its purchase status (poll until completed)',
      tag: 'Payments',
      auth: ['app', 'admin', 'user'],
      params: z.object({ id: identifier }),
      response: {
        schema: z.object({
          id: z.string(),
          object: z.literal('checkout.session'),
          status: z.string(),
          purchase: purchaseSchema,
        }),
      },
      handler: ({ params, principal }) =>
        purchases.sessionStatus(params.id, principal, (customerId) =>
          customers.resolve(customerId, principal),
        ),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/purchases',
      summary: "A customer's purchases: amount paid, credits, bonus, status",
      tag: 'Payments',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      query: pagination,
      response: {
        schema: listSchema(purchaseSchema),
        example: { object: 'list', data: [purchaseExample], has_more: false },
      },
      async handler({ params, query, principal }) {
        const customer = await customers.resolve(params.id, principal);
        const page = await purchases.list(customer.id, query.limit, query.offset);
        return { object: 'list', data: page.data.map(purchaseWire), has_more: page.hasMore };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/credits/purchases',
      summary: "The user's purchases (user key)",
      tag: 'Credits',
      auth: ['user'],
      query: pagination,
      response: { schema: listSchema(purchaseSchema) },
      async handler({ principal, query }) {
        const customer = await customerFor(principal, undefined);
        const page = await purchases.list(customer.id, query.limit, query.offset);
        return { object: 'list', data: page.data.map(purchaseWire), has_more: page.hasMore };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/gift-codes',
      summary: 'Create gift codes (shown once; stored hashed)',
      tag: 'Gift codes',
      auth: ['app', 'admin'],
      idempotent: 'replay',
      body: z.object({
        amount: creditAmount,
        count: z.number().int().min(1).max(1000).default(1),
        max_redemptions: z.number().int().min(1).max(1_000_000).default(1),
        expires_at: z.string().datetime({ offset: true }).optional(),
      }),
      response: {
        status: 201,
        schema: giftBatchSchema.extend({ codes: z.array(z.string()).describe('Shown once; stored hashed') }),
      },
      async handler({ body, principal, reply }) {
        const batch = await gifts.createBatch({
          appId: appIdOf(principal),
          amountMicros: parsePositiveCredits(body.amount, 'amount'),
          count: body.count,
          maxRedemptions: body.max_redemptions,
          expiresAt: body.expires_at ? new Date(body.expires_at) : null,
        });
        reply.code(201);
        return batch;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/gift-codes',
      summary: "The app's gift-code batches with redemption counts",
      tag: 'Gift codes',
      auth: ['app', 'admin'],
      response: {
        schema: fullListSchema(
          giftBatchSchema.extend({ redemptions: z.number().int(), created_at: timestampSchema }),
        ),
      },
      handler: async ({ principal }) => ({
        object: 'list',
        data: await gifts.listBatches(appIdOf(principal)),
      }),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/gift-codes/redeem',
      summary: 'Redeem a gift code (user key; rate limited)',
      tag: 'Gift codes',
      auth: ['user'],
      idempotent: 'replay',
      body: z.object({ code: z.string().min(4).max(64) }),
      response: {
        schema: z.object({
          object: z.literal('gift_code_redemption'),
          amount: creditsSchema,
          grant_id: z.string(),
          balance: creditsSchema,
        }),
      },
      async handler({ body, principal }) {
        if (principal.kind !== 'user') throw new TollgateError('forbidden', 'user key required');
        // Limits guessing: a handful of attempts per minute per customer, whatever the outcome.
        const decision = await deps.redeemLimiter.take(`gift:${principal.customerId}`);
        if (!decision.allowed) {
          throw new TollgateError('rate_limited', 'Too many gift code attempts. Try again later.', {
            retry_after_seconds: decision.retryAfterSeconds,
          });
        }
        return gifts.redeem(principal.customerId, principal.appId, body.code);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/subscription',
      summary: "The customer's subscription (null without one)",
      tag: 'Subscriptions',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      response: { schema: subscriptionAnswer },
      async handler({ params, principal }) {
        const customer = await customers.resolve(params.id, principal);
        return { subscription: await subscriptions.view(customer.id) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/customers/:id/subscription',
      summary:
        'Start a plan: Stripe Checkout in subscription mode, or the test checkout page in test mode (the plan starts when paid)',
      tag: 'Subscriptions',
      auth: ['app', 'admin', 'user'],
      idempotent: 'replay',
      params: customerParams,
      body: z.object({
        plan: z.string().min(1).max(100),
        success_url: urlField.optional(),
        cancel_url: urlField.optional(),
      }),
      response: {
        status: 201,
        description: 'The checkout to pay; the plan starts once paid (subscription is null until then)',
        schema: z.object({ subscription: z.null(), checkout: checkoutSchema }),
      },
      async handler({ params, body, principal, reply }) {
        const customer = await customers.resolve(params.id, principal);
        reply.code(201);
        return subscriptions.start(customer, body.plan, body);
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v1/customers/:id/subscription',
      summary:
        'Change plan: an upgrade applies now with prorated allowance (in test mode once its prorated charge is paid on the test page), a downgrade at the period end',
      tag: 'Subscriptions',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      body: z.object({
        plan: z.string().min(1).max(100),
        success_url: urlField.optional(),
        cancel_url: urlField.optional(),
      }),
      response: {
        description:
          'change: none, upgrade (now; in test mode awaiting_payment with a checkout until its prorated charge is paid) or downgrade (effective_at the period end)',
        schema: subscriptionAnswer.extend({
          change: z.enum(['none', 'upgrade', 'downgrade']),
          status: z.literal('awaiting_payment').optional(),
          prorated_allowance: creditsSchema.optional(),
          prorated_charge_usd: z.number().nullable().optional(),
          checkout: checkoutSchema.optional(),
          effective_at: timestampSchema.optional(),
        }),
      },
      async handler({ params, body, principal }) {
        const customer = await customers.resolve(params.id, principal);
        return subscriptions.change(customer, body.plan, body);
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/customers/:id/subscription',
      summary: 'Cancel at the period end',
      tag: 'Subscriptions',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      response: { schema: subscriptionAnswer },
      async handler({ params, principal }) {
        const customer = await customers.resolve(params.id, principal);
        return subscriptions.cancel(customer);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/customers/:id/subscription/resume',
      summary: 'Undo a cancellation before the period ends: the plan renews again',
      tag: 'Subscriptions',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      response: { schema: subscriptionAnswer },
      async handler({ params, principal }) {
        const customer = await customers.resolve(params.id, principal);
        return subscriptions.resume(customer);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/subscription/charges',
      summary: "The customer's plan payments (start, upgrade, renewal), newest first",
      tag: 'Subscriptions',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
      response: {
        schema: fullListSchema(
          z.object({
            id: z.string(),
            object: z.literal('subscription_charge'),
            kind: z.string().describe('start, upgrade or renewal'),
            plan: z.string(),
            plan_name: z.string(),
            from_plan: z.string().nullable(),
            amount_usd: z.number(),
            allowance: creditsSchema,
            status: z.string(),
            period_start: timestampSchema.nullable(),
            period_end: timestampSchema.nullable(),
            created_at: timestampSchema,
            paid_at: timestampSchema.nullable(),
          }),
        ),
      },
      async handler({ params, principal, query }) {
        const customer = await customers.resolve(params.id, principal);
        return subscriptions.charges(customer.id, query.limit);
      },
    }),
  ];
}

/** The Stripe webhook needs the raw body and answers Stripe, not a client: registered outside the route table. */
export function registerStripeWebhook(http: FastifyInstance, webhooks: StripeWebhooks): void {
  http.post('/v1/webhooks/stripe', async (request) => {
    const signature = request.headers['stripe-signature'];
    return webhooks.handle(request.rawBody, typeof signature === 'string' ? signature : undefined);
  });
}
