/**
 * What a piece of work costs, in micro-credits.
 *
 * THE rounding rule: the exact cost is a rational number (per-million token prices and decimal
 * quantities make fractions of a micro-credit). It is rounded UP to the micro-credit once, at the
 * end, never per term:
 *   providerCost  = ceil(exact provider cost)
 *   total         = ceil(exact provider cost × (1 + referral rate))
 *   referralShare = total − providerCost
 * so the user is charged the smallest whole amount covering the exact price, and the partner's
 * share absorbs the rounding of the markup (it is never negative: total ≥ providerCost).
 *
 * Cached input tokens are billed at the cached rate (the input rate when the model has none) and
 * are NOT also billed as input: `usage.input_tokens` excludes them, as Anthropic reports usage. An
 * OpenAI-format adapter must subtract `prompt_tokens_details.cached_tokens` from `prompt_tokens`.
 *
 * `quantity` scales only `per_unit`; `per_call` is charged once per call.
 */
import type { Price } from '../config/types.ts';
import { TollgateError } from '../shared/errors.ts';
import { divideRoundingUp, MAX_MICROS } from '../shared/money.ts';
import {
  checkRatePpm,
  MICRO_UNITS_PER_UNIT,
  PARTS_PER_MILLION,
  parseQuantity,
  parseUsage,
  type Usage,
  type UsageInput,
} from './price-inputs.ts';

const TOKENS_PER_MILLION = 1_000_000n;
/** The exact cost is kept as a numerator over this many parts of a micro-credit. */
const COST_DENOMINATOR = MICRO_UNITS_PER_UNIT * TOKENS_PER_MILLION;

export interface PricedModel {
  price: Price;
}

export interface QuoteInput {
  /** Units of a `per_unit` price; a positive decimal, at most 6 decimals; default 1. */
  quantity?: number | string | null;
  usage?: UsageInput | null;
}

export interface Quote {
  providerCostMicros: bigint;
  referralShareMicros: bigint;
  totalMicros: bigint;
}

/** The pricing estimate endpoint's default assumption (seed 004). */
export const DEFAULT_ESTIMATE_USAGE = { input_tokens: 2500, output_tokens: 2500 } as const;

/** The exact provider cost, as a numerator over COST_DENOMINATOR micro-credits. */
function exactCostNumerator(price: Price, quantityMicroUnits: bigint, usage: Usage): bigint {
  let numerator = 0n;
  if (price.perCallMicros !== null) numerator += price.perCallMicros * COST_DENOMINATOR;
  if (price.perUnitMicros !== null)
    numerator += price.perUnitMicros * quantityMicroUnits * TOKENS_PER_MILLION;
  const inputRate = price.inputPerMillionMicros ?? 0n;
  const cachedRate = price.cachedInputPerMillionMicros ?? inputRate;
  const outputRate = price.outputPerMillionMicros ?? 0n;
  const tokenMicrosTimesMillion =
    inputRate * usage.inputTokens + cachedRate * usage.cachedInputTokens + outputRate * usage.outputTokens;
  return numerator + tokenMicrosTimesMillion * MICRO_UNITS_PER_UNIT;
}

function quoteFromNumerator(numerator: bigint, referralRatePpm: bigint): Quote {
  const providerCostMicros = divideRoundingUp(numerator, COST_DENOMINATOR);
  const totalMicros = divideRoundingUp(
    numerator * (PARTS_PER_MILLION + referralRatePpm),
    COST_DENOMINATOR * PARTS_PER_MILLION,
  );
  if (totalMicros > MAX_MICROS) {
    throw new TollgateError('invalid_request', 'the quoted amount is too large', { param: 'quantity' });
  }
  return { providerCostMicros, referralShareMicros: totalMicros - providerCostMicros, totalMicros };
}

/**
 * Prices one call of `model`. Throws TollgateError('invalid_request') for a bad quantity, token
 * count or rate.
 *
 * @example quote(gpt4o, { usage: { input_tokens: 1, output_tokens: 0 } }) // 250 micros at 250/M
 */
export function quote(model: PricedModel, input: QuoteInput = {}, referralRatePpm = 0n): Quote {
  checkRatePpm(referralRatePpm);
  const quantityMicroUnits = parseQuantity(input.quantity);
  const usage = parseUsage(input.usage);
  return quoteFromNumerator(exactCostNumerator(model.price, quantityMicroUnits, usage), referralRatePpm);
}

/** Credits (with referral share) one request costs at an assumed usage; for `/v1/credits/pricing`. */
export function creditsPerRequest(
  model: PricedModel,
  usage: UsageInput = DEFAULT_ESTIMATE_USAGE,
  referralRatePpm = 0n,
): bigint {
  return quote(model, { usage }, referralRatePpm).totalMicros;
}

export type OutputTokenBudget =
  /** Even zero output tokens cost more than is available. */
  | { affordable: false }
  /** `maxOutputTokens` is null when output tokens are free (credits set no limit). */
  | { affordable: true; maxOutputTokens: bigint | null };

/**
 * The largest output token count whose total quote (one call, with referral share) stays within
 * `availableMicros`, so the gateway can lower `max_tokens` before calling upstream.
 *
 * total(n) ≤ A  ⟺  (N₀ + k·n)·(1+r) ≤ A  (ceil of a value ≤ an integer A iff the value ≤ A)
 *              ⟺  N₀ + k·n ≤ ⌊A·D·PPM / (PPM + r_ppm)⌋   (all integers, D the cost denominator)
 */
export function maxOutputTokensAffordable(
  model: PricedModel,
  usage: Omit<UsageInput, 'output_tokens'> | null | undefined,
  availableMicros: bigint,
  referralRatePpm = 0n,
): OutputTokenBudget {
  checkRatePpm(referralRatePpm);
  const { inputTokens, cachedInputTokens } = parseUsage(usage);
  const baseNumerator = exactCostNumerator(model.price, MICRO_UNITS_PER_UNIT, {
    inputTokens,
    cachedInputTokens,
    outputTokens: 0n,
  });
  if (availableMicros < 0n) return { affordable: false };
  const numeratorBudget =
    (availableMicros * COST_DENOMINATOR * PARTS_PER_MILLION) / (PARTS_PER_MILLION + referralRatePpm);
  if (baseNumerator > numeratorBudget) return { affordable: false };
  const numeratorPerOutputToken = (model.price.outputPerMillionMicros ?? 0n) * MICRO_UNITS_PER_UNIT;
  if (numeratorPerOutputToken === 0n) return { affordable: true, maxOutputTokens: null };
  return { affordable: true, maxOutputTokens: (numeratorBudget - baseNumerator) / numeratorPerOutputToken };
}
