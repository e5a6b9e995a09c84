/**
 * What the widget offers a buyer, computed from the server's config: the preset amounts it shows
 * ($5 / $10 / $25 / $50 / $100, minus any below the configured minimum), each with the credits and
 * bonus it buys, and the rules a custom amount follows. The checkout itself recomputes everything
 * (PurchasesService.price); this is only what the buyer reads before paying.
 */
import type { TollgateConfig } from '../config/types.ts';
import { centsToUsd } from '../payments/compute.ts';
import { creditsForPurchase } from '../pricing/purchase-credits.ts';
import { microsToCredits } from '../shared/money.ts';

export const PRESET_AMOUNTS_CENTS = [500n, 1_000n, 2_500n, 5_000n, 10_000n] as const;
/** Matches PurchasesService.price's ceiling. */
export const MAXIMUM_PURCHASE_CENTS = 100_000_000n;

export interface AmountOption {
  amount_usd: number;
  credits: number;
  bonus_credits: number;
}

export interface PurchaseOptions {
  currency: 'usd';
  usd_per_credit: number;
  minimum_usd: number;
  maximum_usd: number;
  bonus: { from_usd: number; percent: number }[];
  amounts: AmountOption[];
}

export function amountOption(
  config: Pick<TollgateConfig, 'credits' | 'purchases'>,
  amountCents: bigint,
): AmountOption {
  const credits = creditsForPurchase(config, amountCents);
  return {
    amount_usd: centsToUsd(amountCents),
    credits: microsToCredits(credits.totalMicros),
    bonus_credits: microsToCredits(credits.bonusMicros),
  };
}

export function purchaseOptions(config: Pick<TollgateConfig, 'credits' | 'purchases'>): PurchaseOptions {
  const minimumCents = config.purchases.minimumCents;
  const presets: bigint[] = PRESET_AMOUNTS_CENTS.filter((cents) => cents >= minimumCents);
  if (presets.length === 0) presets.push(minimumCents);
  return {
    currency: 'usd',
    usd_per_credit: Number(config.credits.priceUsd),
    minimum_usd: centsToUsd(minimumCents),
    maximum_usd: centsToUsd(MAXIMUM_PURCHASE_CENTS),
    bonus: config.purchases.bonusTiers.map((tier) => ({
      from_usd: centsToUsd(tier.fromCents),
      percent: Number(tier.ratePpm) / 10_000,
    })),
    amounts: presets.map((cents) => amountOption(config, cents)),
  };
}
