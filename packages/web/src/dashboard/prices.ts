/**
 * What a piece of work costs before it runs, in one place for every page that shows a price (the
 * price list, its cost preview, "Try a generation"): a model's price in words, the credits for a
 * quantity, a count and tokens, and the "≈ $" beside them. The server's hold is the final word; this
 * is the estimate shown before the click.
 */
import type { Api } from './api.ts';
import type { PublicModel } from './context.ts';
import { formatApproxUsd, formatCredits } from './dom.ts';

/** `GET /v1/credits/prices`: the app's models as this user pays for them (the app's share included). */
export interface PriceList {
  usd_per_credit: number;
  data: PublicModel[];
}

export function loadPrices(api: Api): Promise<PriceList> {
  return api.get<PriceList>('/v1/credits/prices');
}

export interface Work {
  /** Seconds, images, characters… for a model priced per unit (default 1). */
  quantity?: number;
  /** How many of it (default 1). */
  count?: number;
  inputTokens?: number;
  outputTokens?: number;
}

/** Credits for `work` on a model, rounded up to the micro-credit as the server rounds a quote. */
export function estimateCredits(pricing: PublicModel['pricing'], work: Work = {}): number {
  const one =
    (pricing.per_call ?? 0) +
    (pricing.per_unit ?? 0) * (pricing.per_unit === undefined ? 0 : (work.quantity ?? 1)) +
    ((pricing.input_per_million ?? 0) * (work.inputTokens ?? 0)) / 1_000_000 +
    ((pricing.output_per_million ?? 0) * (work.outputTokens ?? 0)) / 1_000_000;
  // Rounded to the micro-credit first so that float noise (0.1 × 3) does not round a whole amount up.
  return Math.ceil(Math.round(one * (work.count ?? 1) * 1e8) / 100) / 1e6;
}

/** "2 credits (≈ $0.02)" */
export function creditsWithUsd(credits: number, usdPerCredit: number | null): string {
  const text = `${formatCredits(credits)} credits`;
  return usdPerCredit === null ? text : `${text} (${formatApproxUsd(credits, usdPerCredit)})`;
}

/** The parts of a price, each with its ≈ $: per call, per second (or unit), per 1M tokens in and out. */
export function priceParts(
  pricing: PublicModel['pricing'],
  usdPerCredit: number | null,
): { label: string; credits: number; usd: string | null }[] {
  const parts: { label: string; credits: number }[] = [];
  if (pricing.per_call !== undefined) parts.push({ label: 'per call', credits: pricing.per_call });
  if (pricing.per_unit !== undefined)
    parts.push({ label: `per ${pricing.unit ?? 'unit'}`, credits: pricing.per_unit });
  if (pricing.input_per_million !== undefined)
    parts.push({ label: 'per 1M input tokens', credits: pricing.input_per_million });
  if (pricing.output_per_million !== undefined)
    parts.push({ label: 'per 1M output tokens', credits: pricing.output_per_million });
  return parts.map((part) => ({
    ...part,
    usd: usdPerCredit === null ? null : formatApproxUsd(part.credits, usdPerCredit),
  }));
}

/** Words for the quantity a per-unit model takes: "Duration (seconds)", "Quantity (images)". */
export function quantityLabel(unit: string | undefined): string {
  return unit === 'second' ? 'Duration (seconds)' : `Quantity (${unit ?? 'unit'}s)`;
}
