/**
 * Credits granted for money paid (seed 001: "$100 purchase gets you $110 in credits"). Grants
 * round DOWN to the micro-credit — never more than was paid for; at the default $0.01 per credit
 * whole cents and whole-percent bonuses are exact anyway. The minimum purchase is the caller's
 * check (`config.purchases.minimumCents`): below it is a bad request, not a price.
 */
import { creditsMicrosForCents } from '../config/credit-rate.ts';
import type { TollgateConfig } from '../config/types.ts';
import { PARTS_PER_MILLION } from './price-inputs.ts';

export interface PurchaseCredits {
  baseMicros: bigint;
  bonusMicros: bigint;
  totalMicros: bigint;
  /** The bonus rate applied, parts per million (0n below the first tier). */
  bonusRatePpm: bigint;
}

export function creditsForPurchase(
  config: Pick<TollgateConfig, 'credits' | 'purchases'>,
  amountCents: bigint,
): PurchaseCredits {
  if (amountCents < 0n) throw new Error('amountCents must not be negative');
  const baseMicros = creditsMicrosForCents(amountCents, config.credits.priceMicroUsd);
  let bonusRatePpm = 0n;
  for (const tier of config.purchases.bonusTiers)
    if (amountCents >= tier.fromCents) bonusRatePpm = tier.ratePpm;
  const bonusMicros = (baseMicros * bonusRatePpm) / PARTS_PER_MILLION;
  return { baseMicros, bonusMicros, totalMicros: baseMicros + bonusMicros, bonusRatePpm };
}
