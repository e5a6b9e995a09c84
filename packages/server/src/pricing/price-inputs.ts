/**
 * The amounts of work a price is applied to, read exactly: quantity as micro-units (4.5 seconds →
 * 4_500_000n), token counts as non-negative integers, a referral rate as parts per million.
 * Anything else is the caller's bad request: TollgateError('invalid_request') naming the field.
 */
import { TollgateError } from '../shared/errors.ts';
import { decimalText, decimalToScaled } from '../shared/money.ts';

export const MICRO_UNITS_PER_UNIT = 1_000_000n;
export const PARTS_PER_MILLION = 1_000_000n;
/** A referral rate above 1000% is not a rate anyone means. */
export const MAX_RATE_PPM = 10n * PARTS_PER_MILLION;

/** Token usage as the wire states it. `input_tokens` EXCLUDES cached input tokens (Anthropic's way). */
export interface UsageInput {
  input_tokens?: number | bigint | null;
  output_tokens?: number | bigint | null;
  cached_input_tokens?: number | bigint | null;
}

export interface Usage {
  inputTokens: bigint;
  outputTokens: bigint;
  cachedInputTokens: bigint;
}

function invalid(field: string, reason: string): TollgateError {
  return new TollgateError('invalid_request', `${field} ${reason}`, { param: field });
}

/** A positive plain decimal with at most 6 decimals (default 1), as micro-units (shared/money.ts). */
export function parseQuantity(value: unknown, field = 'quantity'): bigint {
  if (value === undefined || value === null) return MICRO_UNITS_PER_UNIT;
  const text = decimalText(value, field);
  const microUnits = decimalToScaled(text, 6, field);
  if (microUnits <= 0n) throw invalid(field, 'must be greater than zero');
  return microUnits;
}

export function parseTokenCount(value: unknown, field: string): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'bigint') {
    if (value < 0n) throw invalid(field, 'must not be negative');
    return value;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw invalid(field, 'must be a whole number');
  if (value < 0) throw invalid(field, 'must not be negative');
  return BigInt(value);
}

export function parseUsage(usage: UsageInput | null | undefined, field = 'usage'): Usage {
  if (usage === undefined || usage === null)
    return { inputTokens: 0n, outputTokens: 0n, cachedInputTokens: 0n };
  if (typeof usage !== 'object') throw invalid(field, 'must be an object');
  return {
    inputTokens: parseTokenCount(usage.input_tokens, `${field}.input_tokens`),
    outputTokens: parseTokenCount(usage.output_tokens, `${field}.output_tokens`),
    cachedInputTokens: parseTokenCount(usage.cached_input_tokens, `${field}.cached_input_tokens`),
  };
}

/**
 * A referral rate written as an exact decimal fraction (0.1 = 10%) → parts per million (100_000n).
 * Between 0 and 10, at most 6 decimals.
 */
export function parseRate(value: unknown, field = 'referral_rate'): bigint {
  const text = decimalText(value, field);
  const ratePpm = decimalToScaled(text, 6, field);
  checkRatePpm(ratePpm, field);
  return ratePpm;
}

export function checkRatePpm(ratePpm: bigint, field = 'referral_rate'): void {
  if (ratePpm < 0n || ratePpm > MAX_RATE_PPM) throw invalid(field, 'must be between 0 and 10');
}
