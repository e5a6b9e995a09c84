/**
 * What the widget shows about an amount before the server prices it for real (the checkout
 * recomputes from its own config): credits bought, the bonus tier reached, and the formatting.
 */

export interface PurchaseRules {
  currency: string;
  usd_per_credit: number;
  minimum_usd: number;
  maximum_usd: number;
  bonus: { from_usd: number; percent: number }[];
  amounts: { amount_usd: number; credits: number; bonus_credits: number }[];
}

/**
 * The same rules in the currency the widget sells in (`?currency=eur`): amounts in that currency's
 * major units, `per_credit` what one credit costs in them.
 */
export interface CurrencyRules {
  currency: string;
  per_credit: number;
  minimum: number;
  maximum: number;
  bonus: { from: number; percent: number }[];
  amounts: { amount: number; credits: number; bonus_credits: number }[];
}

/** Digits after the decimal point a currency is paid in (2 for USD and EUR, 0 for JPY). */
export function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits as number;
  } catch {
    return 2;
  }
}

/** An amount in minor units (cents), exact for what a buyer can type. */
export function toMinorUnits(amount: number, currency: string): number {
  return Math.round(amount * 10 ** minorDigits(currency));
}

/**
 * Credits for `amount` of the rules' currency: base credits, the highest bonus tier reached, rounded
 * down like the server.
 */
export function quoteCreditsIn(
  rules: Pick<CurrencyRules, 'currency' | 'per_credit' | 'bonus'>,
  amount: number,
): { credits: number; bonus: number } {
  const minor = toMinorUnits(amount, rules.currency);
  // per_credit has at most six decimals (millionths of the major unit): exact in minor units.
  const minorPerCredit = Math.round(rules.per_credit * 1_000_000) / 10 ** (6 - minorDigits(rules.currency));
  const base = Math.floor((minor / minorPerCredit) * 1_000_000) / 1_000_000;
  let percent = 0;
  for (const tier of rules.bonus)
    if (minor >= toMinorUnits(tier.from, rules.currency)) percent = tier.percent;
  const bonus = Math.floor(base * percent * 10_000) / 1_000_000;
  return { credits: Math.round((base + bonus) * 1_000_000) / 1_000_000, bonus };
}

/** Credits for `usd` dollars (the dashboard, which sells in dollars). */
export function quoteCredits(
  rules: Pick<PurchaseRules, 'usd_per_credit' | 'bonus'>,
  usd: number,
): { credits: number; bonus: number } {
  return quoteCreditsIn(
    {
      currency: 'usd',
      per_credit: rules.usd_per_credit,
      bonus: rules.bonus.map((tier) => ({ from: tier.from_usd, percent: tier.percent })),
    },
    usd,
  );
}

/**
 * "20", "12.5", "12,50", "$1,000.00", "€ 1.000,50" → the amount; anything else (or more decimals than
 * the currency has) → null. A comma followed by one or two digits at the end is a decimal comma (many
 * locales type "12,50"); commas or dots followed by groups of three are thousands separators.
 */
export function parseAmountInput(text: string, digits = 2): number | null {
  let cleaned = text.replace(/[\s\p{Sc}\u00a0]/gu, '');
  if (/^\d{1,3}(\.\d{3})*,\d{1,2}$/.test(cleaned) || /^\d+,\d{1,2}$/.test(cleaned)) {
    cleaned = cleaned.replace(/\./g, '').replace(',', '.');
  } else if (/^\d{1,3}(,\d{3})+(\.\d{1,2})?$/.test(cleaned)) {
    cleaned = cleaned.replace(/,/g, '');
  }
  const pattern = digits > 0 ? new RegExp(`^\\d{1,9}(\\.\\d{1,${digits}})?$`) : /^\d{1,9}$/;
  if (!pattern.test(cleaned)) return null;
  return Math.round(Number(cleaned) * 10 ** digits) / 10 ** digits;
}

/** Dollars typed by a buyer (the dashboard). */
export function parseUsdInput(text: string): number | null {
  return parseAmountInput(text, 2);
}

/** At or above this many dollars (euros, …) a purchase asks "are you sure?" before checkout: a typo costs real money. */
export const LARGE_PURCHASE_MAJOR_UNITS = 1000;

/**
 * "$12.50", "$1,250", "€25"; `minor: true` always shows the minor units ("$100,000.00"). Written the
 * same way whatever the reader's locale, like the amounts the checkout page prints.
 */
export function formatMoney(amount: number, currency: string, minor = false): string {
  const digits = minorDigits(currency);
  return new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency,
    minimumFractionDigits: minor || !Number.isInteger(amount) ? digits : 0,
    maximumFractionDigits: digits,
  }).format(amount);
}

/** The symbol a currency's amounts are written with ("$", "€"). */
export function currencySymbol(currency: string): string {
  const parts = new Intl.NumberFormat('en-US', { style: 'currency', currency }).formatToParts(0);
  return parts.find((part) => part.type === 'currency')?.value ?? currency.toUpperCase();
}

/** "$12.50", "$1,250"; `cents: true` always shows the cents ("$100,000.00"). */
export function formatUsd(usd: number, cents = false): string {
  return formatMoney(usd, 'usd', cents);
}

/**
 * The one rule for credits on every page (widget and dashboard): up to two decimals, thousands
 * separated as the reader's locale writes them; an amount too small for two decimals says "<0.01"
 * rather than a misleading 0.
 */
export function formatCredits(credits: number): string {
  const magnitude = Math.abs(credits);
  if (magnitude > 0 && magnitude < 0.005) return `${credits < 0 ? '-' : ''}<${(0.01).toLocaleString()}`;
  return credits.toLocaleString(undefined, { maximumFractionDigits: 2 });
}

/** "≈ $0.42" beside a credit amount wherever money is decided; "≈ <$0.01" for a sliver. */
export function formatApproxUsd(credits: number, usdPerCredit: number): string {
  const usd = Math.abs(credits) * usdPerCredit;
  if (usd > 0 && usd < 0.005) return '≈ <$0.01';
  return `≈ ${formatUsd(Math.round(usd * 100) / 100)}`;
}

/** Cents of a currency as paid: "$12.50" for dollars, "9.99 EUR" for the others. */
export function formatPaid(cents: number, currency: string): string {
  const code = currency.toUpperCase();
  const amount = (cents / 100).toLocaleString(undefined, {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });
  return code === 'USD' ? `$${amount}` : `${amount} ${code}`;
}
