/**
 * How a config file combines with the built-in default, before validation:
 * - a section the file leaves out (or leaves empty) keeps the default;
 * - object sections (`credits`, `purchases`, `holds`, `rate_limits`) merge key by key;
 * - `providers` merge by name, and each provider key by key, so models may keep naming defaults;
 * - lists (`plans`, `purchases.packs`, `purchases.bonus`) and `default_price` are replaced whole;
 * - `models` replaces the default catalog, unless `include_default_models: true`, in which case the
 *   file's models are added to it (a file model replaces the default with the same id);
 * - a file model that sets no `work_inputs` keeps those of the built-in model with its id: they are
 *   facts about the provider's input (which field is the duration), not prices. An inherited `units`
 *   input becomes a `limit` when the file prices the model per call.
 * - `aliases` merge by client id; the file's `routes` are checked before the built-in ones (first
 *   match wins), which `include_default_routes: false` drops.
 * Unknown top-level keys pass through here and are dropped by the schema.
 */
import { TollgateError } from '../shared/errors.ts';
import type { RawConfig } from './config-schema.ts';

const MERGED_SECTIONS = ['credits', 'purchases', 'holds', 'rate_limits', 'fallbacks'] as const;

type PlainObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function mergeWithDefaults(file: unknown, defaults: RawConfig): PlainObject {
  if (file === null || file === undefined) return { ...defaults };
  if (!isPlainObject(file)) {
    throw new TollgateError('invalid_request', 'config: must be a mapping of sections', { param: 'config' });
  }
  const includeDefaultModels = file.include_default_models ?? false;
  if (typeof includeDefaultModels !== 'boolean') {
    throw new TollgateError('invalid_request', 'include_default_models: must be true or false', {
      param: 'include_default_models',
    });
  }
  const present = Object.fromEntries(Object.entries(file).filter(([, value]) => value !== null));
  const merged: PlainObject = { ...defaults, ...present };
  for (const section of MERGED_SECTIONS) {
    const value = present[section];
    if (isPlainObject(value)) merged[section] = { ...defaults[section], ...value };
  }
  const includeDefaultRoutes = file.include_default_routes ?? true;
  if (typeof includeDefaultRoutes !== 'boolean') {
    throw new TollgateError('invalid_request', 'include_default_routes: must be true or false', {
      param: 'include_default_routes',
    });
  }
  if (isPlainObject(present.providers))
    merged.providers = mergeProviders(present.providers, defaults.providers);
  if (Array.isArray(present.models) && includeDefaultModels) {
    const fileIds = new Set(present.models.map((model) => (isPlainObject(model) ? model.id : undefined)));
    merged.models = [...defaults.models.filter((model) => !fileIds.has(model.id)), ...present.models];
  }
  if (Array.isArray(merged.models))
    merged.models = merged.models.map((model) => withBuiltInWorkInputs(model, defaults));
  // The built-in routes and aliases follow the catalog: a file whose models replace it keeps only
  // those whose family (or target) it still prices.
  const models = Array.isArray(merged.models) ? merged.models : [];
  const builtInRoutes = includeDefaultRoutes
    ? defaults.routes.filter((route) => pricesFamily(models, String(route.provider)))
    : [];
  merged.routes = [...(Array.isArray(present.routes) ? present.routes : []), ...builtInRoutes];
  const ids = new Set(models.map((model) => (isPlainObject(model) ? model.id : undefined)));
  const builtInAliases = Object.fromEntries(
    Object.entries(defaults.aliases).filter(([, target]) => ids.has(target)),
  );
  merged.aliases = { ...builtInAliases, ...(isPlainObject(present.aliases) ? present.aliases : {}) };
  return merged;
}

/** Whether some model served first by `provider` has a token price (a family default exists). */
function pricesFamily(models: unknown[], provider: string): boolean {
  return models.some((model) => {
    if (!isPlainObject(model) || !isPlainObject(model.price)) return false;
    const first = Array.isArray(model.provider) ? model.provider[0] : model.provider;
    const name = isPlainObject(first) ? first.name : first;
    return (
      name === provider &&
      (model.price.input_per_million !== undefined || model.price.output_per_million !== undefined)
    );
  });
}

function withBuiltInWorkInputs(model: unknown, defaults: RawConfig): unknown {
  if (!isPlainObject(model) || model.work_inputs !== undefined) return model;
  const builtIn = defaults.models.find((candidate) => candidate.id === model.id);
  if (!builtIn?.work_inputs) return model;
  const perUnit = isPlainObject(model.price) && model.price.per_unit !== undefined;
  const inherited = Object.fromEntries(
    Object.entries(builtIn.work_inputs).map(([field, work]) => [
      field,
      work.role === 'units' && !perUnit ? { ...work, role: 'limit' } : work,
    ]),
  );
  return { ...model, work_inputs: inherited };
}

function mergeProviders(file: PlainObject, defaults: RawConfig['providers']): PlainObject {
  const merged: PlainObject = { ...defaults };
  for (const [name, provider] of Object.entries(file)) {
    const base = defaults[name];
    merged[name] = base && isPlainObject(provider) ? { ...base, ...provider } : provider;
  }
  return merged;
}
