/**
 * The model catalog built from the config: look-ups by id, defaults by purpose, and the
 * default-price pseudo-model for ids the catalog does not list (seed 001: "Unknown models $0.05").
 */
import type { ModelConfig, ModelType, Price, TollgateConfig } from '../config/types.ts';
import { TollgateError } from '../shared/errors.ts';

export interface CatalogModel extends ModelConfig {
  /** True only for the pseudo-model standing in for an id the catalog does not list. */
  isDefault: boolean;
}

export interface Catalog {
  find(id: string): CatalogModel | undefined;
  /**
   * The model with this id; an unknown id gets the default-price pseudo-model, or, when `strict`,
   * TollgateError('model_not_found').
   */
  require(id: string, options?: { strict?: boolean }): CatalogModel;
  list(): readonly CatalogModel[];
  /** The model marked `default_for: purpose` ('image', 'video', 'tts', 'text', …). */
  defaultFor(purpose: string): CatalogModel | undefined;
  /** The first listed model of a type, the fallback when no model is marked default. */
  firstOfType(type: ModelType): CatalogModel | undefined;
  readonly defaultPrice: Price;
}

export type CatalogConfig = Pick<TollgateConfig, 'models' | 'defaultPrice' | 'defaultProvider' | 'providers'>;

export function createCatalog(config: CatalogConfig): Catalog {
  const models = Object.freeze(config.models.map((model) => Object.freeze({ ...model, isDefault: false })));
  const byId = new Map(models.map((model) => [model.id, model]));
  const byPurpose = new Map<string, CatalogModel>();
  for (const model of models) {
    for (const purpose of model.defaultFor) if (!byPurpose.has(purpose)) byPurpose.set(purpose, model);
  }

  function unknownModel(id: string): CatalogModel {
    // An id namespaced by a configured provider ('openai/…') goes there; any other (seed 001's
    // fal endpoints) to the default provider, under its own name.
    const slash = id.indexOf('/');
    const namespace = slash > 0 ? id.slice(0, slash) : '';
    const routed = namespace !== '' && config.providers[namespace] !== undefined;
    const provider = routed ? namespace : config.defaultProvider;
    const upstreamModel = routed ? id.slice(slash + 1) : id;
    return {
      id,
      name: id,
      type: 'operation',
      category: null,
      provider,
      upstreamModel,
      candidates: [{ provider, upstreamModel, price: config.defaultPrice }],
      openrouterModel: null,
      contextWindow: null,
      maxTokens: null,
      defaultFor: [],
      price: config.defaultPrice,
      // Nothing is known of its input: a job may not ask for more than one output or a set length.
      workInputs: [],
      isDefault: true,
    };
  }

  return {
    find: (id) => byId.get(id),
    require(id, options = {}) {
      if (typeof id !== 'string' || !/^\S+$/.test(id)) {
        throw new TollgateError('invalid_request', 'model must be a non-empty model id', { param: 'model' });
      }
      const model = byId.get(id);
      if (model) return model;
      if (options.strict) {
        throw new TollgateError('model_not_found', `The model ${id} does not exist`, { param: 'model' });
      }
      return unknownModel(id);
    },
    list: () => models,
    defaultFor: (purpose) => byPurpose.get(purpose),
    firstOfType: (type) => models.find((model) => model.type === type),
    defaultPrice: config.defaultPrice,
  };
}
