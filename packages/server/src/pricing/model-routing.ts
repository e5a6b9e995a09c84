/**
 * Which model a client's model id is, and so who serves it and at what price. Pure: built once
 * from the config.
 *
 * Resolution order (deterministic; the first step that answers wins):
 *   1. an exact catalog id (`anthropic/claude-opus-4-5`);
 *   2. an alias (`aliases: {claude-opus-5-5: anthropic/claude-opus-4-5}`), whose target is resolved
 *      by steps 1 and 3 (aliases do not chain);
 *   3. a route: the first in `routes` whose glob matches the id (the file's routes before the
 *      built-in ones). A namespaced id (`anthropic/claude-x`) is matched without its namespace, and
 *      only by routes whose first provider is that namespace.
 *   4. nothing: `model_not_found`.
 * A route decides who serves an id; it never decides the price of a model the catalog knows. When
 * the id is the upstream name of a catalog model on one of the route's providers, that catalog model
 * is the answer — its price and its providers. Only an id the catalog does not know is priced by the
 * route: its explicit price, else its provider family's default, the dearest token prices of that
 * provider's catalog models (each price kind at its maximum), so that a new or unknown model is never
 * billed below any model the provider is known to sell. A dated snapshot the catalog does not list
 * (`gpt-4o-2024-05-13`) is such an unknown id: snapshots are not always priced like their family
 * name, so it takes the family default unless an alias or a catalog entry says otherwise.
 */
import type { ModelConfig, Price, ProviderCandidate, RouteConfig } from '../config/types.ts';
import type { CatalogModel } from './catalog.ts';

/** Longer client ids are refused outright: no provider names a model that way. */
const MAX_MODEL_ID_LENGTH = 256;

/** OpenRouter's namespace for each provider family of the built-in config. */
const OPENROUTER_NAMESPACES: Record<string, string> = {
  anthropic: 'anthropic',
  openai: 'openai',
  google: 'google',
  xai: 'x-ai',
};

export interface RouterConfig {
  models: readonly ModelConfig[];
  aliases: Record<string, string>;
  routes: readonly RouteConfig[];
  providers: Record<string, unknown>;
}

export interface ModelRouter {
  /** The model a client's id stands for, or null (answer `model_not_found`). */
  resolve(clientId: string): CatalogModel | null;
}

/**
 * Whether `glob` matches the whole of `text`: `*` is any run of characters, `|` separates
 * alternatives. Linear backtracking over one star at a time, so no pattern can be made slow.
 */
export function globMatches(glob: string, text: string): boolean {
  return glob.split('|').some((alternative) => wildcardMatch(alternative, text));
}

function wildcardMatch(pattern: string, text: string): boolean {
  let patternIndex = 0;
  let textIndex = 0;
  let starIndex = -1;
  let resumeIndex = 0;
  while (textIndex < text.length) {
    if (patternIndex < pattern.length && pattern[patternIndex] === text[textIndex]) {
      patternIndex += 1;
      textIndex += 1;
    } else if (patternIndex < pattern.length && pattern[patternIndex] === '*') {
      starIndex = patternIndex;
      resumeIndex = textIndex;
      patternIndex += 1;
    } else if (starIndex !== -1) {
      patternIndex = starIndex + 1;
      resumeIndex += 1;
      textIndex = resumeIndex;
    } else {
      return false;
    }
  }
  while (patternIndex < pattern.length && pattern[patternIndex] === '*') patternIndex += 1;
  return patternIndex === pattern.length;
}

function maxOf(left: bigint | null, right: bigint | null): bigint | null {
  if (left === null) return right;
  if (right === null) return left;
  return left > right ? left : right;
}

/**
 * Each price kind at the larger of the two: never below either. A null cached-input rate falls back
 * to the input rate, so it is compared as that.
 */
export function dearestPrice(prices: readonly Price[]): Price {
  const [first, ...rest] = prices;
  if (!first) throw new Error('dearestPrice needs at least one price');
  const cached = (price: Price) => price.cachedInputPerMillionMicros ?? price.inputPerMillionMicros;
  return rest.reduce<Price>(
    (dearest, price) => ({
      perCallMicros: maxOf(dearest.perCallMicros, price.perCallMicros),
      perUnitMicros: maxOf(dearest.perUnitMicros, price.perUnitMicros),
      unit: dearest.unit ?? price.unit,
      inputPerMillionMicros: maxOf(dearest.inputPerMillionMicros, price.inputPerMillionMicros),
      outputPerMillionMicros: maxOf(dearest.outputPerMillionMicros, price.outputPerMillionMicros),
      cachedInputPerMillionMicros: maxOf(cached(dearest), cached(price)),
    }),
    { ...first, cachedInputPerMillionMicros: cached(first) },
  );
}

/** The dearest token prices among the catalog's chat models served by `provider`; null if none. */
export function familyDefaultPrice(models: readonly ModelConfig[], provider: string): Price | null {
  const prices = models.flatMap((model) =>
    model.candidates
      .filter((candidate) => candidate.provider === provider)
      .map((candidate) => candidate.price)
      .filter((price) => price.inputPerMillionMicros !== null || price.outputPerMillionMicros !== null),
  );
  return prices.length === 0 ? null : dearestPrice(prices);
}

/**
 * The model's id on OpenRouter, for a customer whose own OpenRouter key serves it: the catalog's
 * `openrouter_model`, else the upstream name under the provider family's OpenRouter namespace.
 */
export function openRouterModelId(model: ModelConfig): string {
  if (model.openrouterModel) return model.openrouterModel;
  if (model.provider === 'openrouter') return model.upstreamModel;
  const namespace = OPENROUTER_NAMESPACES[model.provider] ?? model.provider;
  return `${namespace}/${model.upstreamModel}`;
}

export function createModelRouter(config: RouterConfig): ModelRouter {
  const byId = new Map(config.models.map((model) => [model.id, model]));
  // Catalog models by `provider\nupstream name`, for ids a route serves.
  const byUpstream = new Map<string, ModelConfig>();
  for (const model of config.models) {
    for (const candidate of model.candidates) {
      const key = `${candidate.provider}\n${candidate.upstreamModel}`;
      if (!byUpstream.has(key)) byUpstream.set(key, model);
    }
  }
  const familyDefaults = new Map<string, Price | null>();
  const familyDefault = (provider: string) => {
    if (!familyDefaults.has(provider))
      familyDefaults.set(provider, familyDefaultPrice(config.models, provider));
    return familyDefaults.get(provider) ?? null;
  };

  // One answer per catalog model, made once (every gateway call resolves a model); frozen, since it is shared.
  const catalogModels = new Map<ModelConfig, CatalogModel>();
  const catalogModel = (model: ModelConfig): CatalogModel => {
    let answer = catalogModels.get(model);
    if (!answer) {
      answer = Object.freeze({ ...model, isDefault: false });
      catalogModels.set(model, answer);
    }
    return answer;
  };

  function byRoute(id: string): CatalogModel | null {
    const slash = id.indexOf('/');
    const namespace = slash > 0 ? id.slice(0, slash) : null;
    const namespaced = namespace !== null && config.providers[namespace] !== undefined;
    const name = namespaced ? id.slice(slash + 1) : id;
    const route = config.routes.find(
      (candidate) =>
        (!namespaced || candidate.providers[0] === namespace) && globMatches(candidate.match, name),
    );
    if (!route) return null;
    // A model the catalog knows keeps its own price and providers, whatever the route says.
    for (const provider of route.providers) {
      const known = byUpstream.get(`${provider}\n${name}`);
      if (known) return catalogModel(known);
    }
    const candidates: ProviderCandidate[] = [];
    for (const provider of route.providers) {
      const price = route.price ?? familyDefault(provider);
      // A family with no priced model and a route without a price is refused at load; never free.
      if (price === null) return null;
      candidates.push({ provider, upstreamModel: name, price });
    }
    const first = candidates[0]!;
    return {
      id: `${first.provider}/${name}`,
      name,
      type: 'language',
      category: 'text',
      provider: first.provider,
      upstreamModel: name,
      candidates,
      openrouterModel: null,
      contextWindow: null,
      maxTokens: null,
      defaultFor: [],
      price: first.price,
      workInputs: [],
      isDefault: false,
    };
  }

  function resolveTarget(id: string): CatalogModel | null {
    const model = byId.get(id);
    return model ? catalogModel(model) : byRoute(id);
  }

  return {
    resolve(clientId) {
      if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > MAX_MODEL_ID_LENGTH)
        return null;
      if (byId.has(clientId)) return catalogModel(byId.get(clientId)!);
      const alias = config.aliases[clientId];
      if (alias !== undefined) return resolveTarget(alias);
      return byRoute(clientId);
    },
  };
}
