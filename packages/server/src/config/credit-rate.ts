import { minorUnitsToAmount } from '../shared/money.ts';

/** Conversions between money paid (cents) and credits, at the configured price of one credit. */

const MICROS_PER_CREDIT = 1_000_000n;

/**
 * Credits bought by `cents` when one credit costs `priceMicroUsd` millionths of a dollar.
 * Rounds DOWN to the micro-credit: a grant never exceeds what was paid for (charges round up, in
 * pricing; at the default $0.01 per credit both are exact).
 */
export function creditsMicrosForCents(cents: bigint, priceMicroUsd: bigint): bigint {
  return creditsMicrosForMinorUnits(cents, priceMicroUsd, 2);
}

/**
 * The same for any currency: `minorUnits` of a currency whose minor unit has `minorDigits` digits,
 * when one credit costs `pricePerCreditMicro` millionths of its major unit. Rounds DOWN.
 */
export function creditsMicrosForMinorUnits(
  minorUnits: bigint,
  pricePerCreditMicro: bigint,
  minorDigits: number,
): bigint {
  if (pricePerCreditMicro <= 0n) throw new Error('pricePerCreditMicro must be positive');
  if (minorDigits > 6) throw new Error('a minor unit finer than a millionth is not supported');
  const micro = 10n ** BigInt(6 - minorDigits);
  return (minorUnits * micro * MICROS_PER_CREDIT) / pricePerCreditMicro;
}

/**
 * Digits of the minor unit as Stripe counts amounts: ISO 4217's zero-decimal currencies, and the
 * three-decimal ones (which Stripe asks to be charged in multiples of 10); every other has cents.
 */
const ZERO_DECIMAL_CURRENCIES = new Set(
  'bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf'.split(' '),
);
const THREE_DECIMAL_CURRENCIES = new Set('bhd jod kwd omr tnd'.split(' '));

export function minorUnitDigits(code: string): number {
  if (ZERO_DECIMAL_CURRENCIES.has(code)) return 0;
  if (THREE_DECIMAL_CURRENCIES.has(code)) return 3;
  return 2;
}

/** `$5.00`, `€12.50`, `¥300`: an amount of money as a buyer reads it (display only). */
export function formatMoney(minorUnits: bigint, currency: string): string {
  const digits = minorUnitDigits(currency);
  return new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency: currency.toUpperCase(),
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(minorUnitsToAmount(minorUnits, digits));
}
