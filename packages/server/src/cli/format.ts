/** How the CLI writes credits, prices, money and dates for people (JSON output keeps the wire values). */
import { formatCredits, type ModelPricing } from '@tollgate/client';

/** `"4,850.5 credits"`. */
export function credits(value: number | string): string {
  return formatCredits(value);
}

/** A signed amount for history tables: `"+2,500"`, `"-0.3"`. */
export function signedCredits(value: number): string {
  const text = formatCredits(Math.abs(value)).replace(/ credits?$/, '');
  return `${value < 0 ? '-' : '+'}${text}`;
}

/** A bare number of credits with digit grouping: `"2,500"`. */
export function creditNumber(value: number | string): string {
  return formatCredits(value).replace(/ credits?$/, '');
}

/** `$25.00`, `€12.50`, `¥300`: an amount paid, in its currency (`usd`, `eur`). */
export function money(value: number, currency: string): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() }).format(
    value,
  );
}

/** `2025-03-01 14:05` in UTC, short enough for a table. */
export function shortDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toISOString().slice(0, 16).replace('T', ' ');
}

/** A model's price in one line: `"0.3 / call"`, `"10 / second"`, `"250 in · 1,000 out / 1M tokens"`. */
export function priceText(pricing: ModelPricing): string {
  const parts: string[] = [];
  if (pricing.per_call !== undefined) parts.push(`${creditNumber(pricing.per_call)} / call`);
  if (pricing.per_unit !== undefined)
    parts.push(`${creditNumber(pricing.per_unit)} / ${pricing.unit ?? 'unit'}`);
  const tokens: string[] = [];
  if (pricing.input_per_million !== undefined) tokens.push(`${creditNumber(pricing.input_per_million)} in`);
  if (pricing.cached_input_per_million !== undefined) {
    tokens.push(`${creditNumber(pricing.cached_input_per_million)} cached`);
  }
  if (pricing.output_per_million !== undefined)
    tokens.push(`${creditNumber(pricing.output_per_million)} out`);
  if (tokens.length) parts.push(`${tokens.join(' · ')} / 1M tokens`);
  return parts.join(' + ') || 'free';
}
