/**
 * Exact money. Inside Tollgate every credit amount is a `bigint` of micro-credits
 * (1 credit = 1,000,000 micros). Decimals exist only at the API edge, where they are parsed from
 * their decimal text (never through float arithmetic) and printed back.
 *
 * Rounding rule (the only one): a fractional micro-credit — from per-token prices or a referral
 * rate — is rounded UP to the next micro-credit, once, when a price becomes a ledger amount.
 */
import { TollgateError } from './errors.ts';

export const MICROS_PER_CREDIT = 1_000_000n;
export const MAX_MICROS = 2n ** 63n - 1n;
const DECIMAL_PATTERN = /^(-)?(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i;

/**
 * Parses a credit amount (JSON number or decimal string, at most 6 decimals) into micro-credits.
 * Numbers are read through their shortest decimal representation (`String(n)`), which is exact for
 * any value written with at most 6 decimals.
 */
export function parseCredits(value: unknown, field = 'amount'): bigint {
  if (typeof value === 'bigint') return checkRange(value * MICROS_PER_CREDIT, field);
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(field, 'must be a finite number');
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    throw invalid(field, 'must be a number of credits');
  }
  return checkRange(decimalToScaled(text, 6, field), field);
}

/** Parses a decimal (number or string) into an integer scaled by 10^scale; rejects excess precision. */
export function decimalToScaled(text: string, scale: number, field = 'amount'): bigint {
  const match = DECIMAL_PATTERN.exec(text);
  if (!match) throw invalid(field, 'must be a decimal number');
  const [, sign, whole, fraction = '', exponentText] = match;
  const exponent = exponentText ? Number(exponentText) : 0;
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 40) throw invalid(field, 'is out of range');
  let digits = whole + fraction;
  let decimals = fraction.length - exponent;
  if (decimals < 0) {
    digits += '0'.repeat(-decimals);
    decimals = 0;
  }
  // Trailing zeros beyond the scale carry no precision.
  while (decimals > scale && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    decimals -= 1;
  }
  if (decimals > scale) throw invalid(field, `has more than ${scale} decimals`);
  if (digits.length > 40) throw invalid(field, 'is out of range');
  const scaled = BigInt(digits || '0') * 10n ** BigInt(scale - decimals);
  return sign ? -scaled : scaled;
}

function checkRange(micros: bigint, field: string): bigint {
  if (micros > MAX_MICROS || micros < -MAX_MICROS) throw invalid(field, 'is out of range');
  return micros;
}

function invalid(field: string, reason: string): TollgateError {
  return new TollgateError('invalid_request', `${field} ${reason}`, { param: field });
}

/** Parses a strictly positive credit amount. */
export function parsePositiveCredits(value: unknown, field = 'amount'): bigint {
  const micros = parseCredits(value, field);
  if (micros <= 0n) throw invalid(field, 'must be greater than zero');
  return micros;
}

/** Micro-credits as an exact decimal string of credits: 1500000n → "1.5". */
export function formatMicros(micros: bigint): string {
  const negative = micros < 0n;
  const absolute = negative ? -micros : micros;
  const whole = absolute / MICROS_PER_CREDIT;
  const fraction = (absolute % MICROS_PER_CREDIT).toString().padStart(6, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/**
 * Micro-credits as a JSON number of credits for the wire (contract: "JSON numbers in credits, at
 * most 6 decimals"). Exact for any amount below 2^53 micros; built from the exact decimal text.
 */
export function microsToCredits(micros: bigint): number {
  return Number(formatMicros(micros));
}

/** Rounds numerator/denominator up to an integer (both non-negative): the one rounding rule. */
export function divideRoundingUp(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new Error('denominator must be positive');
  if (numerator <= 0n) return numerator / denominator;
  return (numerator + denominator - 1n) / denominator;
}

/** Dollars (or the configured currency) as integer cents, parsed exactly. */
export function parseUsdToCents(value: unknown, field = 'amount_usd'): bigint {
  if (typeof value !== 'number' && typeof value !== 'string') throw invalid(field, 'must be a number');
  const text = typeof value === 'number' ? String(value) : value.trim();
  const cents = decimalToScaled(text, 2, field);
  if (cents > MAX_MICROS) throw invalid(field, 'is out of range');
  return cents;
}
