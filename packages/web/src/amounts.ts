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

/** "20", "12.5", "$1,000.00" → dollars; anything else (or more than cents) → null. */
export function parseUsdInput(text: string): number | null {
  const cleaned = text.replace(/[\s$,]/g, '');
  if (!/^\d{1,9}(\.\d{1,2})?$/.test(cleaned)) return null;
  return Math.round(Number(cleaned) * 100) / 100;
}

export function formatUsd(usd: number): string {
  return `$${usd.toLocaleString('en-US', { minimumFractionDigits: Number.isInteger(usd) ? 0 : 2, maximumFractionDigits: 2 })}`;
}

export function formatCredits(credits: number): string {
  return credits.toLocaleString('en-US', { maximumFractionDigits: 2 });
}
