/** Conversions between money paid (cents) and credits, at the configured price of one credit. */

const MICRO_USD_PER_CENT = 10_000n;
const MICROS_PER_CREDIT = 1_000_000n;

/**
 * Credits bought by `cents` when one credit costs `priceMicroUsd` millionths of a dollar.
 * Rounds DOWN to the micro-credit: a grant never exceeds what was paid for (charges round up, in
 * pricing; at the default $0.01 per credit both are exact).
 */
export function creditsMicrosForCents(cents: bigint, priceMicroUsd: bigint): bigint {
  if (priceMicroUsd <= 0n) throw new Error('priceMicroUsd must be positive');
  return (cents * MICRO_USD_PER_CENT * MICROS_PER_CREDIT) / priceMicroUsd;
}
