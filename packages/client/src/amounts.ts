/**
 * Exact credit amounts. The wire carries credits as JSON numbers with at most 6 decimals; the
 * ledger counts integer micro-credits (1 credit = 1,000,000 micros). Every conversion here goes
 * through decimal text — never float arithmetic — so `0.1 + 0.2` style drift cannot reach a bill:
 * a number is read through `String(n)`, and a number that is not exactly a 6-decimal amount
 * (`0.1 + 0.2` is `0.30000000000000004`) is refused rather than silently rounded.
 */

/** Micro-credits in one credit. */
export const MICROS_PER_CREDIT = 1_000_000n;
const SCALE = 6;
/** The server stores amounts as signed 64-bit micros. */
const MAX_MICROS = 2n ** 63n - 1n;
const DECIMAL_PATTERN = /^([+-])?(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i;
const CREDITS_BRAND = Symbol.for('tollgate.credits');

/** What an SDK method accepts wherever the wire takes a credit amount. */
export type AmountInput = number | string | Credits;

/**
 * An exact amount of credits, held as integer micro-credits.
 *
 * Methods of the client accept a `Credits` wherever they accept an amount; it is written to the
 * wire as a JSON number built from its exact decimal text.
 *
 * @example
 * ```ts
 * const price = credits('0.1').plus('0.2');
 * price.toString(); // "0.3"
 * price.micros; // 300000n
 * await tollgate.customers.grant('cus_123', { amount: price, source: 'promo' });
 * ```
 */
export class Credits {
  /** The amount in micro-credits. */
  readonly micros: bigint;
  /** Recognised by `isCredits`, also across two loaded copies of this module. */
  readonly [CREDITS_BRAND] = true;

  private constructor(micros: bigint) {
    if (micros > MAX_MICROS || micros < -MAX_MICROS) {
      throw new RangeError(`credit amount ${formatMicros(micros)} is out of range`);
    }
    this.micros = micros;
  }

  /**
   * Wraps an integer number of micro-credits.
   *
   * @example
   * ```ts
   * Credits.fromMicros(1_500_000n).toString(); // "1.5"
   * ```
   */
  static fromMicros(micros: bigint): Credits {
    if (typeof micros !== 'bigint') throw new TypeError('micros must be a bigint');
    return new Credits(micros);
  }

  /**
   * Parses a credit amount from a number, decimal text, or another `Credits`.
   *
   * @throws {RangeError} when the value has more than 6 decimals or is not a finite decimal.
   * @example
   * ```ts
   * Credits.from('12.000001').micros; // 12000001n
   * Credits.from(0.25).toString(); // "0.25"
   * ```
   */
  static from(value: AmountInput): Credits {
    if (isCredits(value)) return value;
    return new Credits(toMicros(value));
  }

  /**
   * The exact sum of this amount and another.
   *
   * @example
   * ```ts
   * credits('0.1').plus(0.2).toString(); // "0.3"
   * ```
   */
  plus(other: AmountInput): Credits {
    return new Credits(this.micros + Credits.from(other).micros);
  }

  /**
   * The exact difference between this amount and another.
   *
   * @example
   * ```ts
   * credits('1').minus('0.000001').toString(); // "0.999999"
   * ```
   */
  minus(other: AmountInput): Credits {
    return new Credits(this.micros - Credits.from(other).micros);
  }

  /**
   * Whether two amounts are exactly equal.
   *
   * @example
   * ```ts
   * credits('1.50').equals(1.5); // true
   * ```
   */
  equals(other: AmountInput): boolean {
    return this.micros === Credits.from(other).micros;
  }

  /**
   * The exact decimal text, without trailing zeros: `"1.5"`, `"-0.000001"`, `"12"`.
   *
   * @example
   * ```ts
   * credits(2_500_000n).toString(); // "2.5"
   * ```
   */
  toString(): string {
    return formatMicros(this.micros);
  }

  /**
   * The amount as a JavaScript number (exact for amounts of up to 15 significant digits).
   *
   * @example
   * ```ts
   * credits('4850.5').toNumber(); // 4850.5
   * ```
   */
  toNumber(): number {
    return Number(this.toString());
  }

  /**
   * `JSON.stringify` writes a `Credits` as a JSON number.
   *
   * @example
   * ```ts
   * JSON.stringify({ amount: credits('0.3') }); // '{"amount":0.3}'
   * ```
   */
  toJSON(): number {
    return this.toNumber();
  }
}

/**
 * Makes an exact credit amount. Decimal text (or a number, read through `String(n)`) is in
 * credits; a `bigint` is in **micro-credits**.
 *
 * @throws {RangeError} when the value has more than 6 decimals or is not a finite decimal.
 * @example
 * ```ts
 * credits('0.3').micros; // 300000n
 * credits(300_000n).toString(); // "0.3"
 * credits(0.1 + 0.2); // throws RangeError: 0.30000000000000004 has more than 6 decimals
 * ```
 */
export function credits(value: string | bigint | number | Credits): Credits {
  return typeof value === 'bigint' ? Credits.fromMicros(value) : Credits.from(value);
}

/**
 * Converts credits (a JSON number from a response, decimal text, or a `Credits`) to exact
 * integer micro-credits.
 *
 * @throws {RangeError} when the value has more than 6 decimals or is not a finite decimal.
 * @example
 * ```ts
 * const hold = await tollgate.holds.create({ customer: 'cus_123', model: 'fal-ai/flux/schnell' });
 * toMicros(hold.amount); // 300000n for 0.3 credits
 * toMicros('0.1') + toMicros('0.2') === toMicros('0.3'); // true
 * ```
 */
export function toMicros(value: number | string | Credits): bigint {
  if (isCredits(value)) return value.micros;
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`credit amount ${value} is not a finite number`);
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    throw new TypeError('a credit amount must be a number, a decimal string or Credits');
  }
  const micros = decimalToScaled(text, SCALE, 'credit amount');
  if (micros > MAX_MICROS || micros < -MAX_MICROS)
    throw new RangeError(`credit amount ${text} is out of range`);
  return micros;
}

/**
 * Converts integer micro-credits to exact decimal text of credits.
 *
 * @example
 * ```ts
 * fromMicros(1_500_000n); // "1.5"
 * fromMicros(-1n); // "-0.000001"
 * ```
 */
export function fromMicros(micros: bigint): string {
  if (typeof micros !== 'bigint') throw new TypeError('micros must be a bigint');
  return formatMicros(micros);
}

/**
 * Formats a credit amount for people: thousands grouped, exact decimals, and the unit.
 * Locale-independent, so server logs and UIs agree. A `bigint` is read as micro-credits.
 *
 * @example
 * ```ts
 * formatCredits(12); // "12 credits"
 * formatCredits(1); // "1 credit"
 * formatCredits('4850.5'); // "4,850.5 credits"
 * ```
 */
export function formatCredits(value: number | string | bigint | Credits): string {
  const amount = credits(value);
  const text = amount.toString();
  const negative = text.startsWith('-');
  const [whole, fraction] = (negative ? text.slice(1) : text).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const unit = amount.micros === MICROS_PER_CREDIT ? 'credit' : 'credits';
  return `${negative ? '-' : ''}${grouped}${fraction ? `.${fraction}` : ''} ${unit}`;
}

/** Whether a value is a `Credits` (by brand, so copies of this module loaded twice still agree). */
export function isCredits(value: unknown): value is Credits {
  return typeof value === 'object' && value !== null && CREDITS_BRAND in value;
}

/**
 * Parses decimal text into an integer scaled by 10^scale, refusing excess precision. Trailing
 * zeros beyond the scale carry no precision and are accepted (`"1.0000000"`).
 */
export function decimalToScaled(text: string, scale: number, what = 'amount'): bigint {
  const match = DECIMAL_PATTERN.exec(text);
  if (!match) throw new RangeError(`${what} ${JSON.stringify(text)} is not a decimal number`);
  const [, sign, whole, fraction = '', exponentText] = match;
  const exponent = exponentText ? Number(exponentText) : 0;
  if (Math.abs(exponent) > 40) throw new RangeError(`${what} ${text} is out of range`);
  let digits = whole + fraction;
  let decimals = fraction.length - exponent;
  if (decimals < 0) {
    digits += '0'.repeat(-decimals);
    decimals = 0;
  }
  while (decimals > scale && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    decimals -= 1;
  }
  if (decimals > scale) throw new RangeError(`${what} ${text} has more than ${scale} decimals`);
  const scaled = BigInt(digits || '0') * 10n ** BigInt(scale - decimals);
  return sign === '-' ? -scaled : scaled;
}

function formatMicros(micros: bigint): string {
  const negative = micros < 0n;
  const absolute = negative ? -micros : micros;
  const whole = absolute / MICROS_PER_CREDIT;
  const fraction = (absolute % MICROS_PER_CREDIT).toString().padStart(SCALE, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}
