export { type Catalog, type CatalogConfig, type CatalogModel, createCatalog } from './catalog.ts';
export {
  type CreditCost,
  DIRECTORS_CUT_MODEL_ID,
  formatCredits,
  getDefaultImageModel,
  getDefaultImageModelCredits,
  getDefaultVideoModel,
  getDefaultVideoModelCredits,
  getDirectorsCutCredits,
  getModelCredits,
  getShotImageCredits,
  getShotVideoCredits,
} from './credit-helpers.ts';
export {
  checkRatePpm,
  MAX_RATE_PPM,
  MICRO_UNITS_PER_UNIT,
  PARTS_PER_MILLION,
  parseQuantity,
  parseRate,
  parseTokenCount,
  parseUsage,
  type Usage,
  type UsageInput,
} from './price-inputs.ts';
export { type PublicModel, type PublicModelPricing, publicModel, publicPricing } from './public-model.ts';
export { creditsForPurchase, type PurchaseCredits, paymentCurrency } from './purchase-credits.ts';
export {
  creditsPerRequest,
  DEFAULT_ESTIMATE_USAGE,
  maxOutputTokensAffordable,
  type OutputTokenBudget,
  type PricedModel,
  type Quote,
  type QuoteInput,
  quote,
} from './quote.ts';
