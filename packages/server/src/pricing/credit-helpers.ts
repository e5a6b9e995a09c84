/**
 * Cost look-ups with parity to WZRD Studio's `src/lib/constants/credits.ts` (seed 002): what one
 * call of a model costs, the defaults for shots, and Director's Cut. Each returns the exact micros
 * and the same amount as decimal text of credits, for display.
 */
import { formatMicros, MICROS_PER_CREDIT } from '../shared/money.ts';
import type { Catalog, CatalogModel } from './catalog.ts';
import { quote } from './quote.ts';

export interface CreditCost {
  micros: bigint;
  /** Exact decimal text of credits: 300_000n → '0.3'. */
  credits: string;
}

export const DIRECTORS_CUT_MODEL_ID = 'fal-ai/ffmpeg-api/compose';
/** Seed 002: "DIRECTORS_CUT_CREDITS … with a hard fallback of 12". */
const DIRECTORS_CUT_FALLBACK_MICROS = 12n * MICROS_PER_CREDIT;

function cost(micros: bigint): CreditCost {
  return { micros, credits: formatMicros(micros) };
}

/** One call at quantity 1 and no tokens, before any referral share: a media model's price tag. */
function callCost(model: CatalogModel): CreditCost {
  return cost(quote(model).providerCostMicros);
}

/** What one call of `modelId` costs; an unknown id costs the default price. */
export function getModelCredits(catalog: Catalog, modelId: string): CreditCost {
  return callCost(catalog.require(modelId));
}

/** The default image model: the one marked `default_for: image`, else the first image model. */
export function getDefaultImageModel(catalog: Catalog): CatalogModel | undefined {
  return catalog.defaultFor('image') ?? catalog.firstOfType('image');
}

export function getDefaultVideoModel(catalog: Catalog): CatalogModel | undefined {
  return catalog.defaultFor('video') ?? catalog.firstOfType('video');
}

function costOrDefaultPrice(catalog: Catalog, model: CatalogModel | undefined): CreditCost {
  return model ? callCost(model) : cost(quote({ price: catalog.defaultPrice }).providerCostMicros);
}

export function getDefaultImageModelCredits(catalog: Catalog): CreditCost {
  return costOrDefaultPrice(catalog, getDefaultImageModel(catalog));
}

export function getDefaultVideoModelCredits(catalog: Catalog): CreditCost {
  return costOrDefaultPrice(catalog, getDefaultVideoModel(catalog));
}

/** A shot's first frame: the chosen model's price, or the default image model's when none is chosen. */
export function getShotImageCredits(catalog: Catalog, modelId?: string | null): CreditCost {
  return modelId ? getModelCredits(catalog, modelId) : getDefaultImageModelCredits(catalog);
}

/** A shot's clip: the chosen model's price, or the default video model's when none is chosen. */
export function getShotVideoCredits(catalog: Catalog, modelId?: string | null): CreditCost {
  return modelId ? getModelCredits(catalog, modelId) : getDefaultVideoModelCredits(catalog);
}

export function getDirectorsCutCredits(catalog: Catalog): CreditCost {
  const model = catalog.find(DIRECTORS_CUT_MODEL_ID);
  return model ? callCost(model) : cost(DIRECTORS_CUT_FALLBACK_MICROS);
}

/** Micro-credits for people: 1_234_500_000n → '1,234.5 credits', 1_000_000n → '1 credit'. */
export function formatCredits(micros: bigint): string {
  const text = formatMicros(micros);
  const negative = text.startsWith('-');
  const [whole, fraction] = (negative ? text.slice(1) : text).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const amount = `${negative ? '-' : ''}${grouped}${fraction ? `.${fraction}` : ''}`;
  const absolute = negative ? -micros : micros;
  return `${amount} ${absolute === MICROS_PER_CREDIT ? 'credit' : 'credits'}`;
}
