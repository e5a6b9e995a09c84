/**
 * Credits granted for money paid (seed 001: "$100 purchase gets you $110 in credits"). Grants
 * round DOWN to the micro-credit — never more than was paid for; at the default $0.01 per credit
 * whole cents and whole-percent bonuses are exact anyway. The minimum purchase is the caller's
 * check (`PaymentCurrency.minimumMinorUnits`): below it is a bad request, not a price.
 */
import { creditsMicrosForMinorUnits } from '../config/credit-rate.ts';
import type { PaymentCurrency, TollgateConfig } from '../config/types.ts';
import { TollgateError } from '../shared/errors.ts';
import { PARTS_PER_MILLION } from './price-inputs.ts';

export interface PurchaseCredits {
  baseMicros: bigint;
  bonusMicros: bigint;
  totalMicros: bigint;
  /** The bonus rate applied, parts per million (0n below the first tier). */
  bonusRatePpm: bigint;
}

/** The largest purchase, in major units of its currency (a million dollars, euros or yen). */
export const MAXIMUM_PURCHASE_MAJOR_UNITS = 1_000_000n;

/** The configured currency of this code (`usd` when none is named), or a 400 naming the ones sold. */
export function paymentCurrency(
  config: Pick<TollgateConfig, 'currencies'>,
  code: string | undefined,
): PaymentCurrency {
  const wanted = (code ?? 'usd').toLowerCase();
  const currency = Object.hasOwn(config.currencies, wanted) ? config.currencies[wanted] : undefined;
  if (!currency) {
    throw new TollgateError('invalid_request', `Payments in "${code}" are not configured`, {
      param: 'currency',
      currencies: Object.keys(config.currencies),
    });
  }
  return currency;
}

/** What `amountMinorUnits` of `currency` buys: the credits at its price, plus its bonus tier. */
export function creditsForPurchase(currency: PaymentCurrency, amountMinorUnits: bigint): PurchaseCredits {
  if (amountMinorUnits < 0n) throw new Error('amountMinorUnits must not be negative');
  const baseMicros = creditsMicrosForMinorUnits(
    amountMinorUnits,
    currency.pricePerCreditMicro,
    currency.minorDigits,
  );
  let bonusRatePpm = 0n;
  for (const tier of currency.bonusTiers) if (amountMinorUnits >= tier.fromCents) bonusRatePpm = tier.ratePpm;
  const bonusMicros = (baseMicros * bonusRatePpm) / PARTS_PER_MILLION;
  return { baseMicros, bonusMicros, totalMicros: baseMicros + bonusMicros, bonusRatePpm };
}
