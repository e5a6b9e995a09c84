/**
 * Credit cost estimates from the server's model catalog (`GET /v1/models`): plain functions over
 * a list of models, so they are tested without a network. The `Tollgate` client wraps them with a
 * cached catalog (`getModelCredits`, `getShotImageCredits`, …).
 *
 * Arithmetic is exact: prices are read as micro-credits, fractions of a micro-credit (per-token
 * prices, fractional quantities) are summed exactly and rounded up once — the server's rule for
 * turning a price into a ledger amount. The estimate leaves out an app's referral share, which
 * only the server knows; `credits.pricing` includes it.
 */
import { decimalToScaled, fromMicros, MICROS_PER_CREDIT, toMicros } from './amounts.ts';
import type { Model, TokenUsage } from './types.ts';

/** Director's Cut runs this model; its price is the operation's price. */
export const DIRECTORS_CUT_MODEL_ID = 'fal-ai/ffmpeg-api/compose';
/** Credits for a Director's Cut when the catalog does not price its model. */
export const DIRECTORS_CUT_FALLBACK_CREDITS = 12;

/** The work to price: units of a `per_unit` price (default 1) and token counts. */
export interface WorkEstimate {
  quantity?: number | string;
  usage?: TokenUsage;
}

/**
 * The model with this id, if the catalog has it.
 *
 * @example
 * ```ts
 * const { data } = await tollgate.models.list();
 * findModel(data, 'fal-ai/flux/schnell')?.pricing.per_call; // 0.3
 * ```
 */
export function findModel(models: readonly Model[], modelId: string): Model | undefined {
  return models.find((model) => model.id === modelId);
}

/**
 * The catalog's default model for a kind of work (`image`, `video`, …): the one whose
 * `default_for` names it, else the first model of that type.
 *
 * @example
 * ```ts
 * defaultModelFor((await tollgate.models.list()).data, 'video')?.id;
 * ```
 */
export function defaultModelFor(models: readonly Model[], type: string): Model | undefined {
  const named = models.find((model) => {
    const defaults = model.default_for;
    return Array.isArray(defaults) ? defaults.includes(type) : defaults === type;
  });
  return named ?? models.find((model) => model.type === type);
}

/**
 * Exact micro-credits that `work` on `model` costs before any referral share:
 * `per_call + per_unit × quantity + Σ price_per_million × tokens / 10^6`, rounded up once.
 * Token prices count only when `work.usage` names tokens.
 *
 * @example
 * ```ts
 * const gpt4o = findModel(catalog, 'openai/gpt-4o')!;
 * estimateCostMicros(gpt4o, { usage: { input_tokens: 1200, output_tokens: 300 } }); // 600000n at 250/1000 per million
 * ```
 */
export function estimateCostMicros(model: Model, work: WorkEstimate = {}): bigint {
  const pricing = model.pricing ?? {};
  const priceMicros = (value: number | undefined) => (value === undefined ? 0n : toMicros(value));
  const quantityMillionths = decimalToScaled(String(work.quantity ?? 1).trim(), 6, 'quantity');
  const usage = work.usage ?? {};
  const tokens = (count: number | undefined) => BigInt(count ?? 0);

  // Everything in millionths of a micro-credit, so that nothing rounds until the end.
  const totalMillionths =
    priceMicros(pricing.per_call) * MICROS_PER_CREDIT +
    priceMicros(pricing.per_unit) * quantityMillionths +
    priceMicros(pricing.input_per_million) * tokens(usage.input_tokens) +
    priceMicros(pricing.output_per_million) * tokens(usage.output_tokens) +
    priceMicros(pricing.cached_input_per_million) * tokens(usage.cached_input_tokens);
  return divideRoundingUp(totalMillionths, MICROS_PER_CREDIT);
}

/** `estimateCostMicros` as a number of credits, or `undefined` for a model not in the catalog. */
export function modelCredits(
  models: readonly Model[],
  modelId: string,
  work?: WorkEstimate,
): number | undefined {
  const model = findModel(models, modelId);
  return model ? microsToNumber(estimateCostMicros(model, work)) : undefined;
}

/** Credits of the catalog's default model for `type`, or `undefined` when it has none. */
export function defaultModelCredits(models: readonly Model[], type: string): number | undefined {
  const model = defaultModelFor(models, type);
  return model ? microsToNumber(estimateCostMicros(model)) : undefined;
}

/** Credits of `modelId` when the catalog has it, else of the default model for `type`. */
export function modelOrDefaultCredits(
  models: readonly Model[],
  type: string,
  modelId: string | undefined,
): number | undefined {
  const chosen = modelId ? modelCredits(models, modelId) : undefined;
  return chosen ?? defaultModelCredits(models, type);
}

/** Credits of a Director's Cut: the compose model's price, with a hard fallback of 12. */
export function directorsCutCredits(models: readonly Model[]): number {
  return modelCredits(models, DIRECTORS_CUT_MODEL_ID) ?? DIRECTORS_CUT_FALLBACK_CREDITS;
}

function divideRoundingUp(numerator: bigint, denominator: bigint): bigint {
  if (numerator <= 0n) return numerator / denominator;
  return (numerator + denominator - 1n) / denominator;
}

function microsToNumber(micros: bigint): number {
  return Number(fromMicros(micros));
}
