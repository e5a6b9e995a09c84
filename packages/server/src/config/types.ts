/**
 * The normalized configuration every other module reads. Names are camelCase with the unit last;
 * every money amount is already exact: credits as bigint micro-credits (1 credit = 1,000,000n),
 * dollars as bigint cents. The file format (snake_case, decimals) lives in `config-schema.ts`.
 */

export const MODEL_TYPES = ['image', 'video', 'audio', 'language', 'operation'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

export const PROVIDER_FORMATS = ['openai', 'anthropic', 'fal'] as const;
export type ProviderFormat = (typeof PROVIDER_FORMATS)[number];

/** What a work input's value is to the price: see `WorkInput`. */
export const WORK_INPUT_ROLES = ['units', 'outputs', 'limit'] as const;
export type WorkInputRole = (typeof WORK_INPUT_ROLES)[number];

/** How a work input's value is read: a whole number, seconds (`8`, `"8"`, `"8s"`), or text length. */
export const WORK_MEASURES = ['count', 'seconds', 'characters'] as const;
export type WorkMeasure = (typeof WORK_MEASURES)[number];

/**
 * One field of a media model's input that sets how much work a job is, e.g. a video model's
 * `duration` or an image model's `num_images`. The price of a job comes from these fields of what is
 * actually submitted, never from a number the client states separately.
 * - `units`: the value is the `quantity` of the model's `per_unit` price (seconds of video);
 * - `outputs`: the value (a count) multiplies the whole price (four images cost four calls);
 * - `limit`: the value is only bounded (a per-clip price covers clips up to `max` seconds).
 */
export interface WorkInput {
  field: string;
  role: WorkInputRole;
  measure: WorkMeasure;
  /**
   * Written into the submitted input when the client leaves the field out, as the provider expects
   * it (`"8s"`, `1`), so the provider is asked for exactly what was priced. Null: the field is
   * required (units, outputs) or left to the provider (limit).
   */
  defaultValue: string | number | null;
  /** Bounds in millionths of the measure (8 seconds = 8_000_000n); inclusive; null = unbounded. */
  minMicroUnits: bigint | null;
  maxMicroUnits: bigint | null;
}

export const PLAN_INTERVALS = ['month'] as const;
export type PlanInterval = (typeof PLAN_INTERVALS)[number];

/**
 * A model's price. Kinds combine: a call may cost `perCall` plus `perUnit × quantity` plus tokens.
 * Per-million prices are micro-credits per million tokens, so a price of 0.3 credits per million
 * tokens is 300_000n and stays exact. `null` means "this kind is not charged"; it differs from 0n
 * for the cached-input rate, which falls back to the input rate when null.
 */
export interface Price {
  perCallMicros: bigint | null;
  perUnitMicros: bigint | null;
  /** What one unit of `perUnitMicros` is: 'image', 'second', 'character', … (set iff perUnitMicros is). */
  unit: string | null;
  inputPerMillionMicros: bigint | null;
  outputPerMillionMicros: bigint | null;
  cachedInputPerMillionMicros: bigint | null;
}

/**
 * One provider that can serve a model, in the order they are tried (`provider: [a, b]` in the file).
 * Each is priced on its own: the hold covers the dearest of a model's candidates, the capture uses
 * the price of the one that answered.
 */
export interface ProviderCandidate {
  /** Key into `TollgateConfig.providers`. */
  provider: string;
  /** The model name this provider expects. */
  upstreamModel: string;
  price: Price;
}

export interface ModelConfig {
  id: string;
  name: string;
  type: ModelType;
  /** Finer grouping for UIs ('image_editing', 'speech', 'music', …); free text. */
  category: string | null;
  /** Key into `TollgateConfig.providers`: the first of `candidates`. */
  provider: string;
  /** The model name the provider expects; defaults to `id`. The first candidate's. */
  upstreamModel: string;
  /** Every provider that may serve it, in order (fallbacks); the first is `provider`. */
  candidates: ProviderCandidate[];
  /**
   * The model's id on OpenRouter (`anthropic/claude-opus-4.5`), so that a customer's own OpenRouter
   * key can serve it; null: derived from the provider's namespace and `upstreamModel`.
   */
  openrouterModel: string | null;
  contextWindow: number | null;
  maxTokens: number | null;
  /** Purposes this model is the default for ('image', 'video', 'tts', 'text', …); unique across models. */
  defaultFor: string[];
  price: Price;
  /** For media (fal-style) models: the input fields that set the amount of work; empty otherwise. */
  workInputs: WorkInput[];
}

export interface ProviderConfig {
  name: string;
  /** The upstream origin; a local placeholder when `configured` is false. */
  baseUrl: string;
  /** Name of the environment variable holding the platform's API key (never the key itself). */
  apiKeyEnv: string;
  /** Every variable that may hold it, tried in order (`apiKeyEnv` first): `GEMINI_API_KEY`, `GOOGLE_API_KEY`. */
  apiKeyEnvs: string[];
  format: ProviderFormat;
  /** False when neither the file nor the environment gave a base URL. */
  configured: boolean;
}

/**
 * A route: client model ids matching `match` (a glob: `*` is any run of characters, `|` separates
 * alternatives) are served by `candidates`. A route decides who serves an id the catalog does not
 * list; it never lowers the price of one it does (see `pricing/model-routing.ts`).
 */
export interface RouteConfig {
  match: string;
  /** Providers in order (fallbacks); each candidate's price is the route's, or the family default. */
  providers: string[];
  /** The price of ids this route serves; null: the provider family's default (its dearest model). */
  price: Price | null;
}

export interface PurchaseBonusTier {
  /** The tier applies to purchases of at least this many cents. */
  fromCents: bigint;
  /** Extra credits as parts per million of the purchased credits (10% = 100_000n). */
  ratePpm: bigint;
}

/**
 * A currency buyers may pay in. USD is always one (from `credits.usd_per_credit` and `purchases`);
 * the file's `currencies` section adds others, each with its own price of a credit, minimum, bonus
 * tiers and pack prices, in that currency's own minor units.
 */
export interface PaymentCurrency {
  /** ISO 4217 in lowercase, as Stripe spells it: `usd`, `eur`. */
  code: string;
  /** Digits of the minor unit: 2 (cents), 0 (yen), 3 (dinar), as Stripe counts amounts. */
  minorDigits: number;
  /** What one credit costs, in millionths of the major unit (EUR 0.0095 → 9_500n). */
  pricePerCreditMicro: bigint;
  minimumMinorUnits: bigint;
  /** Sorted by `fromCents` (minor units of this currency), ascending. */
  bonusTiers: PurchaseBonusTier[];
  /** Pack code → price in minor units; a pack not listed is not sold in this currency. */
  packPricesMinorUnits: Record<string, bigint>;
}

/**
 * What a plan or a pack unlocks (Autumn's features): a switch (`4k_export: true`), a numeric limit the
 * app enforces on its own counts (`max_projects: 10`), or a metered feature with an allowance per
 * plan period that `track` draws from (`video_exports: {monthly: 100}`). Quantities are whole units,
 * not credits.
 */
export type Feature =
  | { kind: 'boolean'; enabled: boolean }
  | { kind: 'limit'; limit: number }
  | { kind: 'metered'; monthlyAllowance: number };

export type FeatureKind = Feature['kind'];

export interface CreditPack {
  code: string;
  name: string;
  creditsMicros: bigint;
  priceCents: bigint;
  /** Unlocked for good once the pack is bought (switches and limits only: allowances need a period). */
  features: Record<string, Feature>;
}

export interface Plan {
  code: string;
  name: string;
  priceCents: bigint;
  interval: PlanInterval;
  /** Usage allowance granted each period, spent before credits. */
  allowanceMicros: bigint;
  /** The most unspent allowance that carries into the next period at renewal (0: none). */
  rolloverMaxMicros: bigint;
  /** What the plan unlocks while it is live; see `Feature`. */
  features: Record<string, Feature>;
}

export interface TollgateConfig {
  credits: {
    /** What a buyer pays for one credit, as exact decimal text ('0.01'), for display. */
    priceUsd: string;
    /** The same price in millionths of a dollar (0.01 → 10_000n), for exact conversions. */
    priceMicroUsd: bigint;
  };
  signupBonusMicros: bigint;
  /**
   * Signup bonuses an app may grant per UTC day to customers the public widget opened (they earn it by
   * verifying an email or paying); customers an app creates with its secret key are not counted.
   */
  signupBonusDailyCapMicros: bigint;
  /** The file's `test_mode`: true turns the test-mode payment provider on anywhere, false off; null: by address. */
  testMode: boolean | null;
  purchases: {
    minimumCents: bigint;
    /** Sorted by `fromCents`, ascending; the highest tier reached applies. */
    bonusTiers: PurchaseBonusTier[];
    packs: CreditPack[];
  };
  /** Currencies a purchase may be paid in, by code; always has `usd`. Plans are billed in USD. */
  currencies: Record<string, PaymentCurrency>;
  plans: Plan[];
  holds: { timeoutSeconds: number };
  rateLimits: { requestsPerMinute: number };
  /** The default low-balance threshold (`alerts.low_balance`), below an app's and a customer's own. */
  alerts: { lowBalanceMicros: bigint | null };
  /** What a model missing from the catalog costs. */
  defaultPrice: Price;
  /** Provider that serves model ids whose namespace names no provider (seed 001: any fal model). */
  defaultProvider: string;
  providers: Record<string, ProviderConfig>;
  models: ModelConfig[];
  /** Client model ids served as another (`claude-opus-5-5` → `anthropic/claude-opus-4-5`). */
  aliases: Record<string, string>;
  /** Checked in order after exact ids and aliases; the file's come before the built-in ones. */
  routes: RouteConfig[];
  /** Bounds on trying a model's next provider after a failure before the first byte. */
  fallbacks: { maxAttempts: number; maxSeconds: number };
  /** The file the config came from, or null for the built-in default. */
  sourcePath: string | null;
}
