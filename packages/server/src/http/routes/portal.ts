/**
 * What the customer dashboard and the partner view read and do beyond the rest of the API: portal
 * sign-in links, OpenRouter OAuth, a customer's usage by day, and an app's customers, revenue and
 * latest usage.
 */
import { z } from 'zod';
import type { AppsService } from '../../apps/apps-service.ts';
import type { Principal } from '../../auth/principals.ts';
import type { CustomersService } from '../../customers/customers-service.ts';
import type { OpenRouterConnect } from '../../portal/openrouter-connect.ts';
import type { PortalService } from '../../portal/portal-service.ts';
import type { AppScope, ReportsService } from '../../portal/reports-service.ts';
import { microsToCredits } from '../../shared/money.ts';
import { parseInput } from '../../shared/validation.ts';
import { defineRoute } from '../route.ts';
import { creditsSchema, fullListSchema, listSchema, timestampSchema } from '../wire.ts';
import { providerKeySchema } from './customers.ts';
import { customerParams, identifier } from './schemas.ts';

export interface PortalRouteDeps {
  apps: AppsService;
  customers: CustomersService;
  portal: PortalService;
  openRouter: OpenRouterConnect;
  reports: ReportsService;
}

const days = z.coerce.number().int().min(1).max(365).default(30);
const httpUrl = z
  .string()
  .url()
  .max(2000)
  .refine((value) => /^https?:\/\//i.test(value), 'must be an http(s) URL');
/** Bodies that may be left out entirely (a bare POST). */
const portalLinkBody = z.object({ expires_in_seconds: z.number().int().min(60).max(3600).optional() });
const authorizeBody = z.object({ callback_url: httpUrl.optional() });

const partnerTotalsSchema = z.object({
  usage_charged: creditsSchema,
  provider_cost: creditsSchema,
  referral_share: creditsSchema,
  usage_count: z.number().int(),
  purchases_usd: z.number(),
  purchases_count: z.number().int(),
  subscriptions_usd: z.number(),
  subscriptions_count: z.number().int(),
});

/** The operator sees every customer, or one app's with `?app=`; an app sees its own. */
function scopeOf(principal: Principal, app: string | undefined): AppScope {
  if (principal.kind === 'app') return { kind: 'app', appId: principal.appId };
  return app ? { kind: 'app', appId: app } : { kind: 'all' };
}

export function portalRoutes(deps: PortalRouteDeps) {
  const { customers, portal, openRouter, reports } = deps;
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/customers/:id/portal-links',
      summary:
        'A single-use dashboard sign-in link for the customer (15 minutes unless expires_in_seconds says otherwise; body optional)',
      tag: 'Dashboard',
      auth: ['app', 'admin'],
      params: customerParams,
      response: {
        status: 201,
        schema: z.object({
          id: z.string(),
          object: z.literal('portal_link'),
          customer: z.string(),
          url: z.string().describe('The single-use sign-in link to the dashboard'),
          expires_at: timestampSchema,
        }),
      },
      async handler({ params, principal, request, reply }) {
        const body = parseInput(portalLinkBody, request.body ?? {});
        const customer = await customers.resolve(params.id, principal);
        reply.code(201);
        return portal.createLink({ customer, expiresInSeconds: body.expires_in_seconds });
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/portal/exchange',
      summary:
        'Trade a portal link token for a user key that lasts the session (no key needed; the token is spent)',
      tag: 'Dashboard',
      auth: 'public',
      body: z.object({ token: z.string().min(10).max(200) }),
      response: {
        schema: z.object({
          object: z.literal('portal_session'),
          customer: z.string(),
          user_key: z.string().describe('tg_uk_…: valid until expires_at'),
          expires_at: timestampSchema,
        }),
      },
      handler: ({ body }) => portal.exchange(body.token),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/customers/:id/openrouter/authorize',
      summary: 'Start "Connect via OpenRouter" (OAuth PKCE): the URL to send the browser to (body optional)',
      tag: 'Bring your own keys',
      auth: ['user', 'app', 'admin'],
      params: customerParams,
      response: {
        status: 201,
        schema: z.object({
          object: z.literal('oauth_authorization'),
          provider: z.string(),
          url: z.string().describe('Where to send the browser'),
          state: z.string(),
          expires_at: timestampSchema,
        }),
      },
      async handler({ params, principal, request, reply }) {
        const body = parseInput(authorizeBody, request.body ?? {});
        const customer = await customers.resolve(params.id, principal);
        reply.code(201);
        return openRouter.authorize(customer, body.callback_url);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/customers/:id/openrouter/exchange',
      summary:
        "Finish connecting OpenRouter: the callback's code is exchanged server-side and stored as the openrouter key",
      tag: 'Bring your own keys',
      auth: ['user', 'app', 'admin'],
      params: customerParams,
      body: z.object({ state: z.string().min(10).max(200), code: z.string().min(1).max(2000) }),
      response: { schema: providerKeySchema },
      async handler({ params, principal, body }) {
        const customer = await customers.resolve(params.id, principal);
        return openRouter.complete(customer, body.state, body.code);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/usage/daily',
      summary: 'Credits spent per day (UTC) by model type over the last `days` days (the dashboard chart)',
      tag: 'Dashboard',
      auth: ['user', 'app', 'admin'],
      params: customerParams,
      query: z.object({ days }),
      response: {
        schema: z.object({
          object: z.literal('usage_report'),
          customer: z.string(),
          currency: z.literal('credits'),
          days: z.number().int(),
          from: z.string().describe('YYYY-MM-DD (UTC)'),
          to: z.string(),
          types: z.array(z.string()),
          total: creditsSchema,
          totals_by_type: z.record(z.string(), creditsSchema),
          data: z.array(
            z.object({
              date: z.string(),
              total: creditsSchema,
              by_type: z.record(z.string(), creditsSchema),
            }),
          ),
          by_model: z.array(
            z.object({ model: z.string(), type: z.string(), amount: creditsSchema, count: z.number().int() }),
          ),
        }),
      },
      async handler({ params, principal, query }) {
        const customer = await customers.resolve(params.id, principal);
        return reports.customerUsage(customer.id, query.days);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers',
      summary: "The app's customers with balances, newest first (q searches external id, email or id)",
      tag: 'Customers',
      auth: ['app', 'admin'],
      query: z.object({
        limit: z.coerce.number().int().min(1).max(200).default(50),
        offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
        q: z.string().min(1).max(200).optional(),
        app: identifier.optional(),
      }),
      response: {
        schema: listSchema(
          z.object({
            id: z.string(),
            object: z.literal('customer'),
            app_id: z.string().nullable(),
            external_id: z.string().nullable(),
            email: z.string().nullable(),
            balance: creditsSchema,
            pending: creditsSchema,
            available: creditsSchema,
            created_at: timestampSchema,
            last_activity_at: timestampSchema.nullable(),
          }),
        ),
      },
      handler: ({ principal, query }) =>
        reports.listCustomers(scopeOf(principal, query.app), {
          limit: query.limit,
          offset: query.offset,
          search: query.q,
        }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/partner/account',
      summary: 'Who the partner view is signed in as: the app (name, referral rate) or the operator',
      tag: 'Partner',
      auth: ['app', 'admin'],
      response: {
        schema: z.object({
          object: z.literal('partner_account'),
          kind: z.enum(['admin', 'app']),
          app: z.object({ id: z.string(), name: z.string(), referral_rate: z.number() }).nullable(),
        }),
      },
      async handler({ principal }) {
        if (principal.kind !== 'app') return { object: 'partner_account', kind: 'admin', app: null };
        const app = await deps.apps.get(principal.appId);
        return {
          object: 'partner_account',
          kind: 'app',
          app: {
            id: app.id,
            name: app.name,
            referral_rate: microsToCredits(app.referralRatePpm),
            referral_rate_max: microsToCredits(app.referralRateMaxPpm),
            publishable_key: app.publishableKey,
          },
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/partner/stats',
      summary: 'Per day: usage charged, provider cost, referral share (credits) and purchases (USD)',
      tag: 'Partner',
      auth: ['app', 'admin'],
      query: z.object({ days, app: identifier.optional() }),
      response: {
        schema: z.object({
          object: z.literal('partner_stats'),
          app: z.string().nullable(),
          currency: z.literal('credits'),
          purchases_in_other_currencies: z.array(
            z.object({ currency: z.string(), amount: z.number(), count: z.number().int() }),
          ),
          days: z.number().int(),
          from: z.string(),
          to: z.string(),
          totals: partnerTotalsSchema,
          data: z.array(partnerTotalsSchema.extend({ date: z.string() })),
        }),
      },
      handler: ({ principal, query }) => reports.partnerStats(scopeOf(principal, query.app), query.days),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/partner/usage',
      summary: "The latest usage across the app's customers",
      tag: 'Partner',
      auth: ['app', 'admin'],
      query: z.object({
        limit: z.coerce.number().int().min(1).max(200).default(25),
        app: identifier.optional(),
      }),
      response: {
        schema: fullListSchema(
          z.object({
            id: z.string(),
            object: z.literal('usage'),
            customer: z.string(),
            external_id: z.string().nullable(),
            model: z.string().nullable(),
            type: z.string(),
            amount: creditsSchema,
            provider_cost: creditsSchema.nullable(),
            referral_share: creditsSchema.nullable(),
            created_at: timestampSchema,
          }),
        ),
      },
      handler: ({ principal, query }) => reports.recentUsage(scopeOf(principal, query.app), query.limit),
    }),
  ];
}
