/** The OpenCredits-compatible reads (seed 004) and the billing catalog (seed 002). */
import { z } from 'zod';
import type { AppsService } from '../../apps/apps-service.ts';
import type { KeyStore } from '../../auth/principals.ts';
import type { TollgateConfig } from '../../config/types.ts';
import type { CustomersService } from '../../customers/customers-service.ts';
import { featuresWire } from '../../entitlements/entitlements-service.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import { centsToUsd } from '../../payments/compute.ts';
import type { Catalog } from '../../pricing/catalog.ts';
import { createModelRouter } from '../../pricing/model-routing.ts';
import {
  priceWithShare,
  publicAliases,
  publicModel,
  publicPricing,
  publicRoutes,
} from '../../pricing/public-model.ts';
import { creditsPerRequest, DEFAULT_ESTIMATE_USAGE } from '../../pricing/quote.ts';
import { TollgateError } from '../../shared/errors.ts';
import { microsToCredits } from '../../shared/money.ts';
import { defineRoute } from '../route.ts';
import {
  balanceSchema,
  balanceWire,
  creditsSchema,
  listSchema,
  subscriptionSchema,
  transactionSchema,
  transactionWire,
} from '../wire.ts';
import { modelListSchema, pricingSchema as modelPricingSchema, userBalanceSchema } from './responses.ts';
import { pagination } from './schemas.ts';

export interface UserRouteDeps {
  config: TollgateConfig;
  catalog: Catalog;
  ledger: Ledger;
  apps: AppsService;
  customers: CustomersService;
  keys: KeyStore;
  subscriptionOf?: (customerId: string) => Promise<unknown>;
}

const tokenCount = z.number().int().nonnegative().max(100_000_000);
/** JSON body: token counts are numbers (a `[]`, `null` or `true` is refused, not read as 0 or 1). */
const pricingInput = z.object({
  publishable_key: z.string().min(1).max(200),
  models: z.union([z.array(z.string().min(1).max(300)).max(1000), z.string().max(20_000)]).optional(),
  input_tokens: tokenCount.optional(),
  output_tokens: tokenCount.optional(),
});
/** Query string: the same fields, token counts written in decimal digits. */
const tokenCountText = z
  .string()
  .regex(/^\d{1,9}$/, 'must be a whole number of tokens')
  .transform(Number)
  .pipe(tokenCount);
const pricingQuery = pricingInput.extend({
  input_tokens: tokenCountText.optional(),
  output_tokens: tokenCountText.optional(),
});

const pricingSchema = z.object({
  token_assumption: z
    .object({ input: z.number().int(), output: z.number().int() })
    .describe('The tokens a language-model request is priced at'),
  models: z.array(
    z.object({ id: z.string(), name: z.string(), type: z.string(), credits_per_request: creditsSchema }),
  ),
});

/** A plan's or pack's features as the config writes them: `true`, `10`, `{monthly: 100}`. */
const featuresSchema = z.record(
  z.string(),
  z.union([z.boolean(), z.number(), z.object({ monthly: z.number() })]),
);

const catalogSchema = z.object({
  subscription: subscriptionSchema.nullable(),
  wallet: balanceSchema.extend({ currency: z.literal('credits') }).nullable(),
  plans: z.array(
    z.object({
      code: z.string(),
      name: z.string(),
      price_usd: z.number(),
      interval: z.string(),
      allowance: creditsSchema,
      features: featuresSchema,
    }),
  ),
  credit_packs: z.array(
    z.object({
      code: z.string(),
      name: z.string(),
      credits: creditsSchema,
      price_usd: z.number(),
      features: featuresSchema,
    }),
  ),
  purchase: z.object({
    minimum_usd: z.number(),
    usd_per_credit: z.number(),
    bonus: z.array(z.object({ from_usd: z.number(), percent: z.number() })),
  }),
});

export function userRoutes(deps: UserRouteDeps) {
  const { config, catalog, ledger, apps, customers } = deps;

  async function pricing(input: z.output<typeof pricingInput>) {
    const appId = await deps.keys.appForPublishableKey(input.publishable_key);
    const app = await apps.get(appId);
    const requested =
      typeof input.models === 'string'
        ? input.models
            .split(',')
            .map((id) => id.trim())
            .filter(Boolean)
        : input.models;
    const usage = {
      input_tokens: input.input_tokens ?? DEFAULT_ESTIMATE_USAGE.input_tokens,
      output_tokens: input.output_tokens ?? DEFAULT_ESTIMATE_USAGE.output_tokens,
    };
    const models = catalog
      .list()
      .filter((model) => !app.allowedModels || app.allowedModels.includes(model.id))
      .filter((model) => !requested || requested.includes(model.id));
    return {
      token_assumption: { input: usage.input_tokens, output: usage.output_tokens },
      models: models.map((model) => ({
        id: model.id,
        name: model.name,
        type: model.type,
        credits_per_request: microsToCredits(creditsPerRequest(model, usage, app.referralRatePpm)),
      })),
    };
  }

  const planWire = (plan: TollgateConfig['plans'][number]) => ({
    code: plan.code,
    name: plan.name,
    price_usd: centsToUsd(plan.priceCents),
    interval: plan.interval,
    allowance: microsToCredits(plan.allowanceMicros),
    features: featuresWire(plan.features),
  });

  const router = createModelRouter(config);
  const aliases = publicAliases(config.aliases, (id) => router.resolve(id));
  const modelRoutes = publicRoutes(config.routes, config.models);

  return [
    defineRoute({
      method: 'GET',
      url: '/v1/models',
      summary: 'The model catalog with prices (no authentication)',
      tag: 'Catalog',
      auth: 'public',
      response: { schema: modelListSchema },
      handler: () => ({
        object: 'list',
        data: [
          ...catalog.list().map((model) => ({
            ...publicModel(model),
            object: 'model',
            provider: model.provider,
            ...(model.defaultFor.length ? { default_for: model.defaultFor } : {}),
          })),
          // Ids a client may send that are served as another model (Claude Code's default ids).
          ...aliases.map((alias) => ({ ...alias, object: 'model' })),
        ],
        routes: modelRoutes,
        default_price: publicPricing(catalog.defaultPrice),
      }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/credits/app',
      summary:
        'The app this user belongs to as its dashboard shows it: name, logo_url, accent_color, website_url (user key)',
      tag: 'Credits',
      auth: ['user'],
      response: {
        schema: z.object({
          object: z.literal('app_branding'),
          name: z.string(),
          logo_url: z.string().nullable(),
          accent_color: z.string().nullable().describe('#rrggbb'),
          website_url: z.string().nullable(),
        }),
      },
      async handler({ principal }) {
        if (principal.kind !== 'user') throw new TollgateError('forbidden', 'user key required');
        const customer = await customers.get(principal.customerId);
        if (!customer.appId) throw new TollgateError('not_found', 'This customer belongs to no app');
        const app = await apps.get(customer.appId);
        return {
          object: 'app_branding',
          name: app.name,
          logo_url: app.branding.logoUrl,
          accent_color: app.branding.accentColor,
          website_url: app.branding.websiteUrl,
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/credits/prices',
      summary:
        "What each of the app's models costs this user, the app's share included: credits per call, per unit, per 1M tokens; usd_per_credit for the ≈ $ (user key)",
      tag: 'Credits',
      auth: ['user'],
      query: z
        .object({
          type: z
            .string()
            .regex(/^[a-z_]{1,40}$/)
            .optional(),
        })
        .strict(),
      response: {
        schema: z.object({
          object: z.literal('list'),
          usd_per_credit: z.number(),
          data: z.array(
            z.object({ id: z.string(), name: z.string(), type: z.string(), pricing: modelPricingSchema }),
          ),
        }),
      },
      async handler({ principal, query }) {
        if (principal.kind !== 'user') throw new TollgateError('forbidden', 'user key required');
        const customer = await customers.get(principal.customerId);
        const app = customer.appId ? await apps.get(customer.appId) : null;
        const rate = app?.referralRatePpm ?? 0n;
        return {
          object: 'list',
          usd_per_credit: Number(config.credits.priceUsd),
          data: catalog
            .list()
            .filter((model) => !app?.allowedModels || app.allowedModels.includes(model.id))
            .filter((model) => !query.type || model.type === query.type)
            .map((model) => ({
              id: model.id,
              name: model.name,
              type: model.type,
              pricing: publicPricing(priceWithShare(model.price, rate)),
            })),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/credits/balance',
      summary: "The user's balance (user key)",
      tag: 'Credits',
      auth: ['user'],
      response: { schema: userBalanceSchema },
      async handler({ principal }) {
        if (principal.kind !== 'user') throw new TollgateError('forbidden', 'user key required');
        const balance = (await ledger.balance(principal.customerId))!;
        return {
          balance: microsToCredits(balance.balanceMicros),
          currency: 'credits',
          pending: microsToCredits(balance.pendingMicros),
          available: microsToCredits(balance.availableMicros),
          customer: principal.customerId,
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/credits/history',
      summary: "The user's transaction and usage history (user key)",
      tag: 'Credits',
      auth: ['user'],
      query: pagination,
      response: { schema: listSchema(transactionSchema) },
      async handler({ principal, query }) {
        if (principal.kind !== 'user') throw new TollgateError('forbidden', 'user key required');
        const page = await ledger.history({
          customerId: principal.customerId,
          limit: query.limit,
          offset: query.offset,
        });
        return { object: 'list', data: page.data.map(transactionWire), has_more: page.hasMore };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/credits/pricing',
      summary: 'Estimated credits per request for the app’s models (publishable key)',
      tag: 'Credits',
      auth: 'public',
      body: pricingInput,
      response: { schema: pricingSchema },
      handler: ({ body }) => pricing(body),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/credits/pricing',
      summary: 'Estimated credits per request (query parameters)',
      tag: 'Credits',
      auth: 'public',
      query: pricingQuery,
      response: { schema: pricingSchema },
      handler: ({ query }) => pricing(query),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/billing/catalog',
      summary: 'Plans, credit packs, the wallet and the subscription of a customer (seed 002)',
      tag: 'Billing',
      auth: ['app', 'admin', 'user'],
      query: z.object({ customer: z.string().min(1).max(200).optional() }),
      response: { schema: catalogSchema },
      async handler({ principal, query }) {
        let customerId: string | null = null;
        if (principal.kind === 'user') customerId = principal.customerId;
        else if (query.customer) customerId = (await customers.resolve(query.customer, principal)).id;
        const balance = customerId ? await ledger.balance(customerId) : null;
        return {
          subscription: customerId && deps.subscriptionOf ? await deps.subscriptionOf(customerId) : null,
          wallet: balance ? { ...balanceWire(balance), currency: 'credits' } : null,
          plans: config.plans.map(planWire),
          credit_packs: config.purchases.packs.map((pack) => ({
            code: pack.code,
            name: pack.name,
            credits: microsToCredits(pack.creditsMicros),
            price_usd: centsToUsd(pack.priceCents),
            features: featuresWire(pack.features),
          })),
          purchase: {
            minimum_usd: centsToUsd(config.purchases.minimumCents),
            usd_per_credit: Number(config.credits.priceUsd),
            bonus: config.purchases.bonusTiers.map((tier) => ({
              from_usd: centsToUsd(tier.fromCents),
              percent: Number(tier.ratePpm) / 10_000,
            })),
          },
        };
      },
    }),
  ];
}
