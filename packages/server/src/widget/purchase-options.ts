/**
 * What the widget offers a buyer, computed from the server's config: the preset amounts it shows
 * (5 / 10 / 25 / 50 / 100 of the currency, minus any below its minimum), each with the credits and
 * bonus it buys, and the rules a custom amount follows. The checkout itself recomputes everything
 * (PurchasesService.price); this is only what the buyer reads before paying. Amounts are in the
 * currency asked for (`amount`, `minimum`, `per_credit`, `bonus[].from`); the `_usd` fields repeat
 * them for USD, the currency every earlier client reads, and are null for others.
 */
import type { PaymentCurrency, TollgateConfig } from '../config/types.ts';
import {
  creditsForPurchase,
  MAXIMUM_PURCHASE_MAJOR_UNITS,
  paymentCurrency,
} from '../pricing/purchase-credits.ts';
import { formatMicros, microsToCredits, minorUnitsToAmount } from '../shared/money.ts';

const PRESET_MAJOR_UNITS = [5n, 10n, 25n, 50n, 100n] as const;

export interface AmountOption {
  amount: number;
  amount_usd: number | null;
  credits: number;
  bonus_credits: number;
}

export interface PurchaseOptions {
  currency: string;
  /** Currencies this server sells in (the widget's `currency` option picks one). */
  currencies: string[];
  per_credit: number;
  minimum: number;
  maximum: number;
  usd_per_credit: number | null;
  minimum_usd: number | null;
  maximum_usd: number | null;
  bonus: { from: number; from_usd: number | null; percent: number }[];
  amounts: AmountOption[];
}

export function amountOption(currency: PaymentCurrency, amountMinorUnits: bigint): AmountOption {
  const credits = creditsForPurchase(currency, amountMinorUnits);
  const amount = minorUnitsToAmount(amountMinorUnits, currency.minorDigits);
  return {
    amount,
    amount_usd: currency.code === 'usd' ? amount : null,
    credits: microsToCredits(credits.totalMicros),
    bonus_credits: microsToCredits(credits.bonusMicros),
  };
}

export function purchaseOptions(
  config: Pick<TollgateConfig, 'currencies'>,
  currencyCode?: string,
): PurchaseOptions {
  const currency = paymentCurrency(config, currencyCode);
  const scale = 10n ** BigInt(currency.minorDigits);
  const presets: bigint[] = PRESET_MAJOR_UNITS.map((units) => units * scale).filter(
    (minorUnits) => minorUnits >= currency.minimumMinorUnits,
  );
  if (presets.length === 0) presets.push(currency.minimumMinorUnits);
  const amount = (minorUnits: bigint) => minorUnitsToAmount(minorUnits, currency.minorDigits);
  const usd = currency.code === 'usd';
  // Millionths of the major unit print like micro-credits: 9_500n → '0.0095'.
  const perCredit = Number(formatMicros(currency.pricePerCreditMicro));
  const maximum = amount(MAXIMUM_PURCHASE_MAJOR_UNITS * scale);
  return {
    currency: currency.code,
    currencies: Object.keys(config.currencies),
    per_credit: perCredit,
    minimum: amount(currency.minimumMinorUnits),
    maximum,
    usd_per_credit: usd ? perCredit : null,
    minimum_usd: usd ? amount(currency.minimumMinorUnits) : null,
    maximum_usd: usd ? maximum : null,
    bonus: currency.bonusTiers.map((tier) => ({
      from: amount(tier.fromCents),
      from_usd: usd ? amount(tier.fromCents) : null,
      percent: Number(tier.ratePpm) / 10_000,
    })),
    amounts: presets.map((minorUnits) => amountOption(currency, minorUnits)),
  };
}
