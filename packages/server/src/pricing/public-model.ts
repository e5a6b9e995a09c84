/**
 * The `/v1/models` wire shape (seed 004): prices as JSON numbers of credits, built from their
 * exact decimal text; kinds the model does not charge are left out.
 */
import type { ModelConfig, ModelType, Price, RouteConfig } from '../config/types.ts';
import { microsToCredits } from '../shared/money.ts';
import { familyDefaultPrice } from './model-routing.ts';

export interface PublicModelPricing {
  per_call?: number;
  per_unit?: number;
  unit?: string;
  /** Credits per million tokens. */
  input_per_million?: number;
  output_per_million?: number;
  cached_input_per_million?: number;
}

export interface PublicModel {
  id: string;
  name: string;
  type: ModelType;
  context_window?: number;
  max_tokens?: number;
  pricing: PublicModelPricing;
}

export function publicPricing(price: Price): PublicModelPricing {
  const pricing: PublicModelPricing = {};
  if (price.perCallMicros !== null) pricing.per_call = microsToCredits(price.perCallMicros);
  if (price.perUnitMicros !== null) {
    pricing.per_unit = microsToCredits(price.perUnitMicros);
    if (price.unit !== null) pricing.unit = price.unit;
  }
  if (price.inputPerMillionMicros !== null)
    pricing.input_per_million = microsToCredits(price.inputPerMillionMicros);
  if (price.outputPerMillionMicros !== null) {
    pricing.output_per_million = microsToCredits(price.outputPerMillionMicros);
  }
  if (price.cachedInputPerMillionMicros !== null) {
    pricing.cached_input_per_million = microsToCredits(price.cachedInputPerMillionMicros);
  }
  return pricing;
}

export function publicModel(model: ModelConfig): PublicModel {
  const wire: PublicModel = {
    id: model.id,
    name: model.name,
    type: model.type,
    pricing: publicPricing(model.price),
  };
  if (model.contextWindow !== null) wire.context_window = model.contextWindow;
  if (model.maxTokens !== null) wire.max_tokens = model.maxTokens;
  return wire;
}

/** An alias in `/v1/models`: its own id, the model it stands for, and that model's price. */
export interface PublicAlias extends PublicModel {
  alias_of: string;
  provider: string;
}

/** A route in `/v1/models`: the ids it serves (a glob) and what each of its providers charges. */
export interface PublicRoute {
  match: string;
  providers: { provider: string; pricing: PublicModelPricing }[];
}

/** The config's aliases that resolve, each priced as the model it serves. */
export function publicAliases(
  aliases: Record<string, string>,
  resolve: (id: string) => ModelConfig | null,
): PublicAlias[] {
  return Object.keys(aliases).flatMap((alias) => {
    const model = resolve(alias);
    return model ? [{ ...publicModel(model), id: alias, alias_of: model.id, provider: model.provider }] : [];
  });
}

/**
 * The routes in the order they are tried, each provider at the price an id the catalog does not
 * know is charged (the route's own, else the family default); ids the catalog knows keep theirs.
 */
export function publicRoutes(routes: readonly RouteConfig[], models: readonly ModelConfig[]): PublicRoute[] {
  return routes.map((route) => ({
    match: route.match,
    providers: route.providers.flatMap((provider) => {
      const price = route.price ?? familyDefaultPrice(models, provider);
      return price ? [{ provider, pricing: publicPricing(price) }] : [];
    }),
  }));
}

/**
 * A price as an app's customers pay it: each component times (1 + the app's referral rate), rounded
 * up to the micro-credit like a quote (`quote.ts`), so a price list never shows less than a charge.
 */
export function priceWithShare(price: Price, referralRatePpm: bigint): Price {
  const scale = (micros: bigint | null) =>
    micros === null ? null : (micros * (1_000_000n + referralRatePpm) + 999_999n) / 1_000_000n;
  return {
    perCallMicros: scale(price.perCallMicros),
    perUnitMicros: scale(price.perUnitMicros),
    unit: price.unit,
    inputPerMillionMicros: scale(price.inputPerMillionMicros),
    outputPerMillionMicros: scale(price.outputPerMillionMicros),
    cachedInputPerMillionMicros: scale(price.cachedInputPerMillionMicros),
  };
}
