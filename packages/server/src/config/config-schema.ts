/**
 * The config file format (snake_case, names fixed by the contract) and its one-pass translation
 * into `TollgateConfig`. Money is read from exact decimal text through `shared/money.ts`: numbers
 * from a file arrive as their source text (`parse-config-text.ts`); numbers passed in code are read
 * through their shortest decimal text, as money.ts does.
 */
import { z } from 'zod';
import { createModelRouter, familyDefaultPrice } from '../pricing/model-routing.ts';
import { readWorkMeasure } from '../pricing/work-inputs.ts';
import { TollgateError } from '../shared/errors.ts';
import {
  decimalToScaled,
  formatMicros,
  parseCredits,
  parseMoneyToMinorUnits,
  parseUsdToCents,
} from '../shared/money.ts';
import { creditsMicrosForCents, minorUnitDigits } from './credit-rate.ts';
import {
  type Feature,
  MODEL_TYPES,
  type ModelConfig,
  type PaymentCurrency,
  PLAN_INTERVALS,
  PROVIDER_FORMATS,
  type Price,
  type ProviderCandidate,
  type ProviderConfig,
  type PurchaseBonusTier,
  type RouteConfig,
  type TollgateConfig,
  WORK_INPUT_ROLES,
  WORK_MEASURES,
  type WorkInput,
} from './types.ts';

/** Where an unconfigured provider points: a closed local port, so a call fails fast and visibly. */
export const UNCONFIGURED_BASE_URL = 'http://127.0.0.1:0';

const MAX_PERCENT_PPM = 10_000_000n; // a 1000% bonus is surely a typo beyond that
const WHOLE_NUMBER_MESSAGE = 'must be a positive whole number';
const CODE_PATTERN = /^[A-Za-z0-9_.-]+$/;

type Issue = { message: string; path?: PropertyKey[] };

/**
 * A decimal field parsed by a money.ts parser. The parser's TollgateError becomes a zod issue, so
 * it is reported with the field's full path like any other.
 */
function exactDecimal<T>(parse: (value: number | string) => T, check?: (parsed: T) => string | null) {
  return z.union([z.number(), z.string()]).transform((value, context) => {
    if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
      context.addIssue({ code: 'custom', message: 'is too large to be exact; write it as a string' });
      return z.NEVER;
    }
    let parsed: T;
    try {
      parsed = parse(value);
    } catch (error) {
      if (!(error instanceof TollgateError)) throw error;
      // money.ts prefixes the field name it was given; the path already names the field.
      context.addIssue({ code: 'custom', message: error.message.trim() });
      return z.NEVER;
    }
    const problem = check?.(parsed);
    if (problem) {
      context.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    return parsed;
  });
}

const nonNegative = (amount: bigint) => (amount < 0n ? 'must not be negative' : null);
const positive = (amount: bigint) => (amount <= 0n ? 'must be greater than zero' : null);

const creditAmount = exactDecimal((value) => parseCredits(value, ''), nonNegative);
const positiveCreditAmount = exactDecimal((value) => parseCredits(value, ''), positive);
const usdCents = exactDecimal((value) => parseUsdToCents(value, ''), nonNegative);
const positiveUsdCents = exactDecimal((value) => parseUsdToCents(value, ''), positive);
/** Dollars per credit, to a millionth of a dollar. */
const usdPerCredit = exactDecimal((value) => decimalToScaled(String(value).trim(), 6, ''), positive);
/** A percentage with up to 4 decimals, as parts per million (10 → 100_000n). */
const percentPpm = exactDecimal(
  (value) => decimalToScaled(String(value).trim(), 4, ''),
  (ppm) => (ppm < 0n || ppm > MAX_PERCENT_PPM ? 'must be between 0 and 1000' : null),
);
/** A whole number that is not money, from `minimum` to the largest safe integer, as a JS number. */
const safeWholeNumber = (minimum: bigint, message: string) =>
  exactDecimal(
    (value) => {
      try {
        return decimalToScaled(String(value).trim(), 0, '');
      } catch {
        throw new TollgateError('invalid_request', message);
      }
    },
    (whole) => (whole < minimum || whole > BigInt(Number.MAX_SAFE_INTEGER) ? message : null),
  ).transform(Number);
/** A positive whole number that is not money (seconds, tokens, requests). */
const positiveWholeNumber = safeWholeNumber(1n, WHOLE_NUMBER_MESSAGE);

/** A whole number of credits, zero allowed (exact: read from its text, no fractions). */
const nonNegativeWholeNumber = exactDecimal(
  (value) => {
    try {
      return decimalToScaled(String(value).trim(), 0, '');
    } catch {
      throw new TollgateError('invalid_request', 'must be a whole number of credits');
    }
  },
  (whole) => (whole < 0n ? 'must not be negative' : whole > 1_000_000_000_000n ? 'is too large' : null),
);

const code = z.string().regex(CODE_PATTERN, 'must contain only letters, digits, "_", "-" and "."');

/** A feature's limit or allowance: a whole number of units (projects, exports), zero allowed. */
const featureQuantity = safeWholeNumber(0n, 'must be a whole number of units');

/** `4k_export`, `max_projects`: what apps pass to `check` and `track`. */
export const FEATURE_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/**
 * `true|false` (a switch), a number (a limit), or a metered allowance per plan period:
 * `{metered: true, allowance: N, period: month}` (the contract's spelling; `{monthly: N}` is short for it).
 */
const featureSchema = z
  .union([
    z.boolean(),
    z.strictObject({ monthly: featureQuantity }),
    z.strictObject({
      metered: z.literal(true),
      allowance: featureQuantity,
      /** The plan's period; plans renew monthly or by their interval, so only `month` is accepted. */
      period: z.literal('month').default('month'),
    }),
    featureQuantity,
  ])
  .transform((raw): Feature => {
    if (typeof raw === 'boolean') return { kind: 'boolean', enabled: raw };
    if (typeof raw === 'number') return { kind: 'limit', limit: raw };
    return { kind: 'metered', monthlyAllowance: 'monthly' in raw ? raw.monthly : raw.allowance };
  });

const featuresSchema = z
  .record(
    z.string().regex(FEATURE_NAME_PATTERN, 'a feature name is lowercase letters, digits, "_", "-" or "."'),
    featureSchema,
  )
  .default({});

export const priceSchema = z
  .strictObject({
    per_call: creditAmount.optional(),
    per_unit: creditAmount.optional(),
    unit: z.string().trim().min(1).optional(),
    input_per_million: creditAmount.optional(),
    output_per_million: creditAmount.optional(),
    cached_input_per_million: creditAmount.optional(),
  })
  .transform((raw, context): Price => {
    if (raw.per_unit !== undefined && raw.unit === undefined) {
      context.addIssue({ code: 'custom', message: 'is required with per_unit', path: ['unit'] });
    }
    if (raw.unit !== undefined && raw.per_unit === undefined) {
      context.addIssue({ code: 'custom', message: 'is only allowed with per_unit', path: ['unit'] });
    }
    const kinds = [raw.per_call, raw.per_unit, raw.input_per_million, raw.output_per_million];
    if (kinds.every((kind) => kind === undefined) && raw.cached_input_per_million === undefined) {
      context.addIssue({
        code: 'custom',
        message: 'needs at least one of per_call, per_unit, input_per_million, output_per_million',
      });
    }
    return {
      perCallMicros: raw.per_call ?? null,
      perUnitMicros: raw.per_unit ?? null,
      unit: raw.unit ?? null,
      inputPerMillionMicros: raw.input_per_million ?? null,
      outputPerMillionMicros: raw.output_per_million ?? null,
      cachedInputPerMillionMicros: raw.cached_input_per_million ?? null,
    };
  });

/** A bound of a work input, in its measure (seconds to 6 decimals, counts, characters). */
const workBound = exactDecimal((value) => decimalToScaled(String(value).trim(), 6, ''), nonNegative);

const workInputSchema = z.strictObject({
  role: z.enum(WORK_INPUT_ROLES),
  /** Implied `count` for `outputs`; required otherwise. */
  measure: z.enum(WORK_MEASURES).optional(),
  /** Written into the submitted input when the client leaves the field out, as the provider expects it. */
  default: z.union([z.number(), z.string().min(1)]).optional(),
  min: workBound.optional(),
  max: workBound.optional(),
});

const WORK_FIELD_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** The work inputs of one model, checked together (paths relative to the model). */
function toWorkInputs(
  raw: Record<string, z.output<typeof workInputSchema>> | undefined,
  price: Price,
  report: (issue: Issue) => void,
): WorkInput[] {
  const inputs: WorkInput[] = [];
  let units = 0;
  for (const [field, entry] of Object.entries(raw ?? {})) {
    const path = (key?: string): PropertyKey[] => ['work_inputs', field, ...(key ? [key] : [])];
    if (!WORK_FIELD_PATTERN.test(field)) report({ message: 'must be an input field name', path: path() });
    const measure = entry.measure ?? (entry.role === 'outputs' ? 'count' : undefined);
    if (measure === undefined) {
      report({ message: 'is required (count, seconds or characters)', path: path('measure') });
      continue;
    }
    if (entry.role === 'outputs' && measure !== 'count') {
      report({ message: 'must be count for role outputs (it multiplies the price)', path: path('measure') });
    }
    if (entry.role === 'units') {
      units += 1;
      if (units > 1)
        report({ message: 'only one input may carry the units of the price', path: path('role') });
      if (price.perUnitMicros === null) {
        report({
          message: 'units needs a per_unit price (use limit to only bound the value)',
          path: path('role'),
        });
      }
    }
    if (entry.role !== 'limit' && entry.default === undefined) {
      report({
        message: `is required for role ${entry.role}: it is what a job without the field is priced at`,
        path: path('default'),
      });
    }
    if (entry.role === 'limit' && entry.max === undefined) {
      report({ message: 'is required for role limit', path: path('max') });
    }
    for (const key of ['min', 'max'] as const) {
      const bound = entry[key];
      if (bound !== undefined && measure !== 'seconds' && bound % 1_000_000n !== 0n) {
        report({ message: 'must be a whole number', path: path(key) });
      }
    }
    if (entry.role !== 'limit' && entry.min !== undefined && entry.min <= 0n) {
      report({ message: 'must be greater than zero', path: path('min') });
    }
    if (entry.min !== undefined && entry.max !== undefined && entry.min > entry.max) {
      report({ message: 'must not be above max', path: path('min') });
    }
    const work: WorkInput = {
      field,
      role: entry.role,
      measure,
      defaultValue: entry.default ?? null,
      minMicroUnits: entry.min ?? null,
      maxMicroUnits: entry.max ?? null,
    };
    if (work.defaultValue !== null) {
      try {
        const amount = readWorkMeasure(measure, work.defaultValue, 'default');
        const below = work.minMicroUnits !== null && amount < work.minMicroUnits;
        const above = work.maxMicroUnits !== null && amount > work.maxMicroUnits;
        if (below || above || (work.role !== 'limit' && amount <= 0n)) {
          report({ message: 'must lie within min and max (and above zero)', path: path('default') });
        }
      } catch (error) {
        if (!(error instanceof TollgateError)) throw error;
        report({ message: error.message.replace(/^default /, ''), path: path('default') });
      }
    }
    inputs.push(work);
  }
  return inputs;
}

/** A provider of a model's list: its name, or the name with its own model name and price. */
const candidateSchema = z.union([
  z.string().min(1),
  z.strictObject({
    name: z.string().min(1),
    upstream_model: z.string().trim().min(1).optional(),
    price: priceSchema.optional(),
  }),
]);

/** `provider: openai` or `provider: [anthropic, {name: openrouter, upstream_model: …}]`, tried in order. */
const providerListSchema = z.union([z.string().min(1), z.array(candidateSchema).min(1).max(8)]);

export const modelSchema = z
  .strictObject({
    id: z.string().regex(/^\S+$/, 'must be non-empty and contain no spaces'),
    name: z.string().trim().min(1).optional(),
    type: z.enum(MODEL_TYPES),
    category: z.string().trim().min(1).optional(),
    provider: providerListSchema,
    upstream_model: z.string().trim().min(1).optional(),
    /** The model's id on OpenRouter, for customers whose own OpenRouter key serves it. */
    openrouter_model: z.string().trim().min(1).optional(),
    context_window: positiveWholeNumber.optional(),
    max_tokens: positiveWholeNumber.optional(),
    default_for: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
    price: priceSchema,
    /** Media models: the input fields that set the amount of work (see `WorkInput`). */
    work_inputs: z.record(z.string(), workInputSchema).optional(),
  })
  .transform((raw, context): ModelConfig => {
    const upstreamModel = raw.upstream_model ?? raw.id;
    const candidates: ProviderCandidate[] = [raw.provider].flat().map((entry, index) =>
      typeof entry === 'string'
        ? { provider: entry, upstreamModel, price: raw.price }
        : {
            provider: entry.name,
            // The first entry is the model's own provider: its name and price are the model's.
            upstreamModel: entry.upstream_model ?? upstreamModel,
            price: index === 0 ? raw.price : (entry.price ?? raw.price),
          },
    );
    const first = candidates[0]!;
    return {
      id: raw.id,
      name: raw.name ?? raw.id,
      type: raw.type,
      category: raw.category ?? null,
      provider: first.provider,
      upstreamModel: first.upstreamModel,
      candidates,
      openrouterModel: raw.openrouter_model ?? null,
      contextWindow: raw.context_window ?? null,
      maxTokens: raw.max_tokens ?? null,
      defaultFor: raw.default_for === undefined ? [] : [raw.default_for].flat(),
      price: raw.price,
      workInputs: toWorkInputs(raw.work_inputs, raw.price, (issue) =>
        context.addIssue({ code: 'custom', ...issue }),
      ),
    };
  });

/** `claude-*`, `gpt-*|o1*`: letters, digits and `._:/-`, with `*` for any run of characters. */
const ROUTE_MATCH_PATTERN = /^[A-Za-z0-9._:/*-]+(\|[A-Za-z0-9._:/*-]+)*$/;

const routeSchema = z.strictObject({
  match: z.string().regex(ROUTE_MATCH_PATTERN, 'must be a glob of model ids ("claude-*", "gpt-*|o1*")'),
  provider: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(8)]),
  price: priceSchema.optional(),
});

const providerSchema = z.strictObject({
  base_url: z.string().trim().min(1).optional(),
  /** Environment variable read for the base URL when `base_url` is absent. */
  base_url_env: z.string().min(1).optional(),
  /** One variable, or several tried in order (`[GEMINI_API_KEY, GOOGLE_API_KEY]`). */
  api_key_env: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  format: z.enum(PROVIDER_FORMATS),
});

const packSchema = z.strictObject({
  code,
  name: z.string().trim().min(1).optional(),
  credits: positiveCreditAmount,
  price_usd: positiveUsdCents,
  features: featuresSchema,
});

/**
 * Money in a currency whose minor-unit digits are known only with its code: kept as decimal text
 * here, turned into minor units by `toCurrencies`.
 */
const moneyText = z.union([z.number(), z.string()]).transform((value) => String(value).trim());

const currencySchema = z.strictObject({
  /** What a buyer pays for one credit, in this currency (to a millionth of its major unit). */
  per_credit: usdPerCredit,
  minimum: moneyText.optional(),
  bonus: z.array(z.strictObject({ from: moneyText, percent: percentPpm })).optional(),
  /** Pack code → its price in this currency; packs not listed are not sold in it. */
  packs: z.record(z.string(), moneyText).optional(),
});

const planSchema = z.strictObject({
  code,
  name: z.string().trim().min(1).optional(),
  price_usd: usdCents,
  interval: z.enum(PLAN_INTERVALS).default('month'),
  /** Credits per period; defaults to what `price_usd` buys at `usd_per_credit`. */
  allowance: creditAmount.optional(),
  /**
   * Unspent allowance carried into the next period at renewal, up to `max` credits (an `allowance`
   * grant that expires with the next period). Absent: use it or lose it.
   */
  rollover: z.strictObject({ max: creditAmount }).optional(),
  features: featuresSchema,
});

const rawConfigSchema = z.strictObject({
  credits: z.strictObject({ usd_per_credit: usdPerCredit }),
  signup_bonus: creditAmount,
  /** Whole credits: the day's earned bonuses of one app stop at this total. */
  signup_bonus_daily_cap: nonNegativeWholeNumber,
  test_mode: z.boolean().optional(),
  purchases: z.strictObject({
    minimum_usd: usdCents,
    bonus: z.array(z.strictObject({ from_usd: usdCents, percent: percentPpm })),
    packs: z.array(packSchema),
  }),
  /** Currencies besides USD: `eur: { per_credit: 0.0095, minimum: 5, bonus: […], packs: {…} }`. */
  currencies: z.record(z.string(), currencySchema).optional(),
  plans: z.array(planSchema),
  holds: z.strictObject({ timeout_seconds: positiveWholeNumber }),
  rate_limits: z.strictObject({ requests_per_minute: positiveWholeNumber }),
  /** `low_balance`: credits; below it a customer's balance emits `balance.low` unless its app or it sets another. */
  alerts: z.strictObject({ low_balance: creditAmount.optional() }).optional(),
  default_price: priceSchema,
  default_provider: z.string().min(1),
  providers: z.record(
    z.string().regex(/^[a-z0-9_-]+$/, 'must be lowercase letters, digits, "_" or "-"'),
    providerSchema,
  ),
  models: z.array(modelSchema),
  aliases: z.record(z.string().regex(/^\S+$/, 'must contain no spaces'), z.string().regex(/^\S+$/)),
  routes: z.array(routeSchema),
  fallbacks: z.strictObject({
    max_attempts: positiveWholeNumber.refine((count) => count <= 10, 'must be at most 10'),
    max_seconds: positiveWholeNumber,
  }),
  /** Read by mergeWithDefaults: the built-in models stay, the file's add to them or replace by id. */
  include_default_models: z.boolean().optional(),
});

/** The keys an object of the config file may have at `path` (for "did you mean"); [] when unknown. */
export function knownConfigKeys(path: readonly PropertyKey[]): string[] {
  // biome-ignore lint/suspicious/noExplicitAny: walking zod's definitions
  let schema: any = rawConfigSchema;
  const unwrap = () => {
    for (;;) {
      const def = schema?._zod?.def;
      if (!def) return;
      if (def.type === 'pipe') schema = def.in;
      else if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable')
        schema = def.innerType;
      else return;
    }
  };
  for (const segment of path) {
    unwrap();
    const def = schema?._zod?.def;
    if (!def) return [];
    if (def.type === 'object') schema = def.shape[segment as string];
    else if (def.type === 'array') schema = def.element;
    else if (def.type === 'record') schema = def.valueType;
    else return [];
  }
  unwrap();
  const def = schema?._zod?.def;
  return def?.type === 'object' ? Object.keys(def.shape) : [];
}

export type RawConfig = z.input<typeof rawConfigSchema>;
export type RawModel = z.input<typeof modelSchema>;
export type RawProvider = z.input<typeof providerSchema>;

/** The schema of a complete (defaults already merged) config; `env` supplies provider base URLs. */
export function createConfigSchema(env: Record<string, string | undefined>, sourcePath: string | null) {
  return rawConfigSchema.transform((raw, context): TollgateConfig => {
    const report = (issue: Issue) => context.addIssue({ code: 'custom', ...issue });
    const providers = resolveProviders(raw.providers, env, report);
    checkModels(raw.models, providers, report);
    const routes = toRoutes(raw.routes, providers, raw.models, report);
    checkAliases(raw.aliases, raw.models, routes, providers, report);
    if (!providers[raw.default_provider]) {
      report({
        message: `names no configured provider ("${raw.default_provider}")`,
        path: ['default_provider'],
      });
    }
    checkUnique(
      raw.purchases.packs.map((pack) => pack.code),
      ['purchases', 'packs'],
      'code',
      report,
    );
    checkUnique(
      raw.plans.map((plan) => plan.code),
      ['plans'],
      'code',
      report,
    );
    checkFeatures(raw.plans, raw.purchases.packs, report);
    const priceMicroUsd = raw.credits.usd_per_credit;
    const purchases = {
      minimumCents: raw.purchases.minimum_usd,
      bonusTiers: sortTiers(
        raw.purchases.bonus.map((tier) => ({ fromCents: tier.from_usd, ratePpm: tier.percent })),
      ),
      packs: raw.purchases.packs.map((pack) => ({
        code: pack.code,
        name: pack.name ?? `${formatMicros(pack.credits)} credits`,
        creditsMicros: pack.credits,
        priceCents: pack.price_usd,
        features: pack.features,
      })),
    };
    const currencies = toCurrencies(raw.currencies ?? {}, priceMicroUsd, purchases, report);
    return {
      // Millionths of a dollar print like micro-credits: 10_000n → '0.01'.
      credits: { priceUsd: formatMicros(priceMicroUsd), priceMicroUsd },
      signupBonusMicros: raw.signup_bonus,
      signupBonusDailyCapMicros: raw.signup_bonus_daily_cap * 1_000_000n,
      testMode: raw.test_mode ?? null,
      purchases,
      currencies,
      plans: raw.plans.map((plan) => ({
        code: plan.code,
        name: plan.name ?? plan.code,
        priceCents: plan.price_usd,
        interval: plan.interval,
        allowanceMicros: plan.allowance ?? creditsMicrosForCents(plan.price_usd, priceMicroUsd),
        rolloverMaxMicros: plan.rollover?.max ?? 0n,
        features: plan.features,
      })),
      holds: { timeoutSeconds: raw.holds.timeout_seconds },
      rateLimits: { requestsPerMinute: raw.rate_limits.requests_per_minute },
      alerts: { lowBalanceMicros: raw.alerts?.low_balance ?? null },
      defaultPrice: raw.default_price,
      defaultProvider: raw.default_provider,
      providers,
      models: raw.models,
      aliases: raw.aliases,
      routes,
      fallbacks: { maxAttempts: raw.fallbacks.max_attempts, maxSeconds: raw.fallbacks.max_seconds },
      sourcePath,
    };
  });
}

function sortTiers(tiers: PurchaseBonusTier[]): PurchaseBonusTier[] {
  return tiers.sort((left, right) =>
    left.fromCents < right.fromCents ? -1 : left.fromCents > right.fromCents ? 1 : 0,
  );
}

/**
 * USD from `credits` and `purchases`, then the file's other currencies. A currency's minimum
 * defaults to USD's figure, its bonus tiers to none (amounts in another currency are not USD's).
 */
function toCurrencies(
  raw: Record<string, z.output<typeof currencySchema>>,
  usdPricePerCreditMicro: bigint,
  purchases: TollgateConfig['purchases'],
  report: (issue: Issue) => void,
): Record<string, PaymentCurrency> {
  const currencies: Record<string, PaymentCurrency> = {
    usd: {
      code: 'usd',
      minorDigits: 2,
      pricePerCreditMicro: usdPricePerCreditMicro,
      minimumMinorUnits: purchases.minimumCents,
      bonusTiers: purchases.bonusTiers,
      packPricesMinorUnits: Object.fromEntries(purchases.packs.map((pack) => [pack.code, pack.priceCents])),
    },
  };
  const packCodes = new Set(purchases.packs.map((pack) => pack.code));
  for (const [code, currency] of Object.entries(raw)) {
    const path = ['currencies', code];
    if (code === 'usd') {
      report({ message: 'USD is set by credits.usd_per_credit and purchases', path });
      continue;
    }
    if (!/^[a-z]{3}$/.test(code)) {
      report({ message: 'must be a lowercase ISO 4217 code such as "eur"', path });
      continue;
    }
    const minorDigits = minorUnitDigits(code);
    const money = (text: string, at: PropertyKey[], mustBePositive: boolean): bigint | null => {
      try {
        const amount = parseMoneyToMinorUnits(text, minorDigits, '');
        if (amount < 0n || (mustBePositive && amount === 0n)) {
          report({
            message: mustBePositive ? 'must be greater than zero' : 'must not be negative',
            path: at,
          });
          return null;
        }
        return amount;
      } catch (error) {
        if (!(error instanceof TollgateError)) throw error;
        report({ message: error.message.trim(), path: at });
        return null;
      }
    };
    const minimum =
      currency.minimum === undefined
        ? // USD's minimum in this currency's minor units: the same figure, not a converted one.
          (purchases.minimumCents * 10n ** BigInt(minorDigits)) / 100n
        : money(currency.minimum, [...path, 'minimum'], false);
    const bonusTiers: PurchaseBonusTier[] = [];
    (currency.bonus ?? []).forEach((tier, index) => {
      const from = money(tier.from, [...path, 'bonus', index, 'from'], false);
      if (from !== null) bonusTiers.push({ fromCents: from, ratePpm: tier.percent });
    });
    const packPrices: Record<string, bigint> = {};
    for (const [packCode, price] of Object.entries(currency.packs ?? {})) {
      if (!packCodes.has(packCode)) {
        report({
          message: `names no pack in purchases.packs ("${packCode}")`,
          path: [...path, 'packs', packCode],
        });
        continue;
      }
      const amount = money(price, [...path, 'packs', packCode], true);
      if (amount !== null) packPrices[packCode] = amount;
    }
    currencies[code] = {
      code,
      minorDigits,
      pricePerCreditMicro: currency.per_credit,
      minimumMinorUnits: minimum ?? 0n,
      bonusTiers: sortTiers(bonusTiers),
      packPricesMinorUnits: packPrices,
    };
  }
  return currencies;
}

/** Base URL: the file's, else the environment's, else the unconfigured placeholder. */
function resolveProviders(
  raw: Record<string, z.output<typeof providerSchema>>,
  env: Record<string, string | undefined>,
  report: (issue: Issue) => void,
): Record<string, ProviderConfig> {
  const providers: Record<string, ProviderConfig> = {};
  for (const [name, provider] of Object.entries(raw)) {
    const envPrefix = name.toUpperCase().replace(/-/g, '_');
    const baseUrlEnv = provider.base_url_env ?? `${envPrefix}_BASE_URL`;
    const fromEnv = env[baseUrlEnv]?.trim() || undefined;
    const baseUrl = provider.base_url ?? fromEnv;
    if (baseUrl !== undefined && !isHttpUrl(baseUrl)) {
      const origin = provider.base_url === undefined ? ` (from ${baseUrlEnv})` : '';
      report({ message: `must be an http(s) URL${origin}`, path: ['providers', name, 'base_url'] });
    }
    const apiKeyEnvs =
      provider.api_key_env === undefined ? [`${envPrefix}_API_KEY`] : [provider.api_key_env].flat();
    providers[name] = {
      name,
      baseUrl: (baseUrl ?? UNCONFIGURED_BASE_URL).replace(/\/+$/, ''),
      apiKeyEnv: apiKeyEnvs[0]!,
      apiKeyEnvs,
      format: provider.format,
      configured: baseUrl !== undefined,
    };
  }
  return providers;
}

/**
 * A feature means one thing everywhere: the same kind in every plan and pack that names it (a
 * switch in one plan and a limit in another could not be merged). Packs are bought once, so they
 * carry switches and limits only: a monthly allowance needs the period a plan has.
 */
function checkFeatures(
  plans: { features: Record<string, Feature> }[],
  packs: { features: Record<string, Feature> }[],
  report: (issue: Issue) => void,
): void {
  const kinds = new Map<string, Feature['kind']>();
  const owners: [string, number, Record<string, Feature>][] = [
    ...plans.map(
      (plan, index) => ['plans', index, plan.features] as [string, number, Record<string, Feature>],
    ),
    ...packs.map(
      (pack, index) => ['packs', index, pack.features] as [string, number, Record<string, Feature>],
    ),
  ];
  for (const [owner, index, features] of owners) {
    const path = owner === 'plans' ? ['plans', index, 'features'] : ['purchases', 'packs', index, 'features'];
    for (const [name, feature] of Object.entries(features)) {
      const known = kinds.get(name);
      if (known && known !== feature.kind) {
        report({
          message: `"${name}" is a ${known} feature elsewhere, here a ${feature.kind}`,
          path: [...path, name],
        });
      }
      kinds.set(name, known ?? feature.kind);
      if (owner === 'packs' && feature.kind === 'metered') {
        report({
          message:
            'a pack is bought once: it may carry switches and limits, monthly allowances belong to plans',
          path: [...path, name],
        });
      }
    }
  }
}

function checkModels(
  models: ModelConfig[],
  providers: Record<string, ProviderConfig>,
  report: (issue: Issue) => void,
): void {
  checkUnique(
    models.map((model) => model.id),
    ['models'],
    'id',
    report,
  );
  const defaultOwners = new Map<string, string>();
  models.forEach((model, index) => {
    for (const candidate of model.candidates) {
      if (!providers[candidate.provider]) {
        report({
          message: `names no configured provider ("${candidate.provider}")`,
          path: ['models', index, 'provider'],
        });
      }
    }
    // A media job is polled where it was submitted: it cannot move to another provider.
    if (model.candidates.length > 1 && providers[model.provider]?.format === 'fal') {
      report({ message: 'a media model has exactly one provider', path: ['models', index, 'provider'] });
    }
    // A media job is priced from its input: a per-unit price needs the input field that carries the units.
    const mediaModel = providers[model.provider]?.format === 'fal';
    if (
      mediaModel &&
      model.price.perUnitMicros !== null &&
      !model.workInputs.some((work) => work.role === 'units')
    ) {
      report({
        message: `needs an input with role units: the field of the job's input that counts the ${model.price.unit}s`,
        path: ['models', index, 'work_inputs'],
      });
    }
    for (const purpose of model.defaultFor) {
      const owner = defaultOwners.get(purpose);
      if (owner) {
        report({
          message: `"${purpose}" is already the default of ${owner}`,
          path: ['models', index, 'default_for'],
        });
      }
      defaultOwners.set(purpose, model.id);
    }
  });
}

function toRoutes(
  raw: z.output<typeof routeSchema>[],
  providers: Record<string, ProviderConfig>,
  models: ModelConfig[],
  report: (issue: Issue) => void,
): RouteConfig[] {
  return raw.map((route, index) => {
    const names = [route.provider].flat();
    for (const name of names) {
      const provider = providers[name];
      if (route.price === undefined && provider && familyDefaultPrice(models, name) === null) {
        report({
          message: `needs a price: no catalog model of "${name}" has token prices to default to`,
          path: ['routes', index, 'price'],
        });
      }
      if (!provider) {
        report({ message: `names no configured provider ("${name}")`, path: ['routes', index, 'provider'] });
      } else if (provider.format === 'fal') {
        report({
          message: `routes chat models: "${name}" is a media provider`,
          path: ['routes', index, 'provider'],
        });
      }
    }
    return { match: route.match, providers: names, price: route.price ?? null };
  });
}

/**
 * An alias names a catalog id, or an id a route serves; an alias that is itself a catalog id would
 * never be used (exact ids come first), so it is refused rather than silently ignored.
 */
function checkAliases(
  aliases: Record<string, string>,
  models: ModelConfig[],
  routes: RouteConfig[],
  providers: Record<string, ProviderConfig>,
  report: (issue: Issue) => void,
): void {
  const ids = new Set(models.map((model) => model.id));
  // The targets are resolved exactly as the gateway will (without aliases: they do not chain).
  const router = createModelRouter({ models, aliases: {}, routes, providers });
  for (const [alias, target] of Object.entries(aliases)) {
    if (ids.has(alias)) {
      report({ message: 'is a catalog id: an alias never replaces one', path: ['aliases', alias] });
    }
    if (router.resolve(target) === null) {
      report({
        message: `names "${target}", which is neither a catalog id nor served by a route`,
        path: ['aliases', alias],
      });
    }
  }
}

function checkUnique(values: string[], path: PropertyKey[], field: string, report: (issue: Issue) => void) {
  const seen = new Set<string>();
  values.forEach((value, index) => {
    if (seen.has(value)) report({ message: `duplicates "${value}"`, path: [...path, index, field] });
    seen.add(value);
  });
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
