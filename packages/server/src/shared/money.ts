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
/**
 * The only decimal text an amount may be written in: digits, optionally a fraction after one dot,
 * optionally a leading minus. No exponent, no `+`, no bare `.5` or `5.`, no surrounding spaces —
 * a hostile client gets no second spelling of a number to probe the parser with.
 */
const PLAIN_DECIMAL_PATTERN = /^(-)?(\d+)(?:\.(\d+))?$/;

/**
 * The decimal text of an amount on the wire. A string is taken exactly as sent. A JSON number is read
 * through its shortest text (`String(n)`), which is a plain decimal for every number from 1e-6 up to
 * 1e21; outside that JavaScript writes an exponent (`1e-7`, `1e+21`) and the number is refused like
 * the same string would be — none of those fits 6 decimals within an amount's range anyway.
 * Negative zero (`-0`, `"-0.00"`) is refused too: no client means it, and it has no exact meaning.
 */
export function decimalText(value: unknown, field: string, expected = 'a number'): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(field, 'must be a finite number');
    if (Object.is(value, -0)) throw invalid(field, 'must not be negative zero');
    return String(value);
  }
  if (typeof value === 'string') return value;
  throw invalid(field, `must be ${expected}`);
}

/**
 * Parses a credit amount (JSON number or plain decimal string, at most 6 decimals) into
 * micro-credits. Numbers are read through their shortest decimal representation (`String(n)`),
 * which is exact for any value written with at most 6 decimals.
 */
export function parseCredits(value: unknown, field = 'amount'): bigint {
  if (typeof value === 'bigint') return checkRange(value * MICROS_PER_CREDIT, field);
  const text = decimalText(value, field, 'a number of credits');
  return checkRange(decimalToScaled(text, 6, field), field);
}

/**
 * Parses a plain decimal (`^-?\d+(\.\d+)?$`) into an integer scaled by 10^scale; refuses excess
 * precision, any other spelling, and negative zero.
 */
export function decimalToScaled(text: string, scale: number, field = 'amount'): bigint {
  const match = PLAIN_DECIMAL_PATTERN.exec(text);
  if (!match) {
    throw invalid(
      field,
      'must be a plain decimal number (digits with an optional "." and fraction, no exponent)',
    );
  }
  const [, sign, whole, fraction = ''] = match;
  let digits = whole + fraction;
  let decimals = fraction.length;
  // Trailing zeros beyond the scale carry no precision.
  while (decimals > scale && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    decimals -= 1;
  }
  if (decimals > scale) throw invalid(field, `has more than ${scale} decimals`);
  if (digits.length > 40) throw invalid(field, 'is out of range');
  const scaled = BigInt(digits) * 10n ** BigInt(scale - decimals);
  if (sign && scaled === 0n) throw invalid(field, 'must not be negative zero');
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

/** Dollars as integer cents, parsed exactly (plain decimals only). */
export function parseUsdToCents(value: unknown, field = 'amount_usd'): bigint {
  return parseMoneyToMinorUnits(value, 2, field);
}

/**
 * An amount of money in a currency whose minor unit has `minorDigits` digits (2 for cents, 0 for
 * yen), as an integer count of minor units, parsed exactly (plain decimals only).
 */
export function parseMoneyToMinorUnits(value: unknown, minorDigits: number, field = 'amount'): bigint {
  const minorUnits = decimalToScaled(decimalText(value, field), minorDigits, field);
  if (minorUnits > MAX_MICROS || minorUnits < -MAX_MICROS) throw invalid(field, 'is out of range');
  return minorUnits;
}

/** Minor units as a JSON number of the major unit (1250n, 2 digits → 12.5), exact below 2^53. */
export function minorUnitsToAmount(minorUnits: bigint, minorDigits: number): number {
  const negative = minorUnits < 0n;
  const absolute = negative ? -minorUnits : minorUnits;
  const scale = 10n ** BigInt(minorDigits);
  const fraction = minorDigits === 0 ? '' : (absolute % scale).toString().padStart(minorDigits, '0');
  return Number(`${negative ? '-' : ''}${absolute / scale}${fraction ? `.${fraction}` : ''}`);
}
