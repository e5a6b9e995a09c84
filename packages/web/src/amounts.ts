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

/** Credits for `usd` dollars: base credits, the highest bonus tier reached, rounded down like the server. */
export function quoteCredits(
  rules: Pick<PurchaseRules, 'usd_per_credit' | 'bonus'>,
  usd: number,
): { credits: number; bonus: number } {
  const cents = Math.round(usd * 100);
  const centsPerCredit = Math.round(rules.usd_per_credit * 1_000_000) / 10_000;
  const base = Math.floor((cents / centsPerCredit) * 1_000_000) / 1_000_000;
  let percent = 0;
  for (const tier of rules.bonus) if (cents >= Math.round(tier.from_usd * 100)) percent = tier.percent;
  const bonus = Math.floor(base * percent * 10_000) / 1_000_000;
  return { credits: Math.round((base + bonus) * 1_000_000) / 1_000_000, bonus };
}

/**
 * "20", "12.5", "12,50", "$1,000.00", "1.000,50" → dollars; anything else (or more than cents) → null.
 * A comma followed by one or two digits at the end is a decimal comma (many locales type "12,50");
 * commas or dots followed by groups of three are thousands separators.
 */
export function parseUsdInput(text: string): number | null {
  let cleaned = text.replace(/[\s$\u00a0]/g, '');
  if (/^\d{1,3}(\.\d{3})*,\d{1,2}$/.test(cleaned) || /^\d+,\d{1,2}$/.test(cleaned)) {
    cleaned = cleaned.replace(/\./g, '').replace(',', '.');
  } else if (/^\d{1,3}(,\d{3})+(\.\d{1,2})?$/.test(cleaned)) {
    cleaned = cleaned.replace(/,/g, '');
  }
  if (!/^\d{1,9}(\.\d{1,2})?$/.test(cleaned)) return null;
  return Math.round(Number(cleaned) * 100) / 100;
}

/** At or above this a purchase asks "are you sure?" before checkout: a typo costs real money. */
export const LARGE_PURCHASE_USD = 1000;

/** "$12.50", "$1,250"; `cents: true` always shows the cents ("$100,000.00"). */
export function formatUsd(usd: number, cents = false): string {
  return `$${usd.toLocaleString('en-US', { minimumFractionDigits: cents || !Number.isInteger(usd) ? 2 : 0, maximumFractionDigits: 2 })}`;
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
