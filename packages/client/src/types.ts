/**
 * Request and response shapes of the native Tollgate API, with the wire's snake_case field names.
 * Amounts in responses are JSON numbers of credits (at most 6 decimals); read them exactly with
 * `toMicros(value)`. Amounts in requests accept `AmountInput` (number, decimal text or `Credits`).
 */
import type { AmountInput } from './amounts.ts';

/** A credit amount as it arrives: a JSON number of credits. Use `toMicros` for the exact value. */
export type CreditAmount = number;

/** An ISO-8601 timestamp string. */
export type Timestamp = string;

/** Token counts of a language-model call. */
export interface TokenUsage {
  input_tokens?: number;
  output_tokens?: number;
  cached_input_tokens?: number;
}

/** The amount of work a hold, capture or charge is for. */
export interface WorkMeasure {
  /** Units of a `per_unit` price (images, seconds, …). Defaults to 1 on the server. */
  quantity?: number | string;
  /** Token counts, for per-million-token prices. */
  usage?: TokenUsage;
  /** An explicit credit amount instead of pricing by model. */
  amount?: AmountInput;
}

/** A page of a list. */
export interface Page<T> {
  data: T[];
  has_more: boolean;
}

/** Pagination of list endpoints. */
export interface ListParams {
  limit?: number;
  offset?: number;
}

// ── Apps ────────────────────────────────────────────────────────────────────

export interface AppCreateParams {
  name: string;
  /** Share of each charge paid to the app, e.g. `0.1` for 10 %. */
  referral_rate?: number;
  /** The ceiling on the rate the app may set for itself (default: `referral_rate`). */
  referral_rate_max?: number;
  /** Model ids the app's users may call; all when omitted. */
  allowed_models?: string[];
  /** Branding on the customers' dashboard: an https logo, a `#rrggbb` accent, the app's https address. */
  logo_url?: string | null;
  accent_color?: string | null;
  website_url?: string | null;
}

export interface App {
  id: string;
  name: string;
  /** `tg_pk_…`, safe for browsers. */
  publishable_key: string;
  /** `tg_sk_…`, shown only now; keep it on the server. */
  secret_key: string;
  referral_rate: number;
  /** The highest rate the app may set for itself (`apps.setReferralRate`). */
  referral_rate_max: number;
  logo_url?: string | null;
  accent_color?: string | null;
  website_url?: string | null;
}

/** `GET /v1/credits/app`: the user's app as the dashboard shows it. */
export interface AppBranding {
  object: 'app_branding';
  name: string;
  logo_url: string | null;
  accent_color: string | null;
  website_url: string | null;
}

/** An app's referral rate, the operator's ceiling, and every change, newest first. */
export interface ReferralRate {
  object: 'referral_rate';
  app: string;
  referral_rate: number;
  referral_rate_max: number;
  history: {
    changed_by: 'operator' | 'app';
    from: number | null;
    to: number;
    max: number;
    created_at: Timestamp;
  }[];
}

// ── Customers ───────────────────────────────────────────────────────────────

export interface CustomerCreateParams {
  /** The app's own id for this user. */
  external_id: string;
  email?: string;
  /** `organization`: members with their own keys spend its balance (`tollgate.members`). Default individual. */
  type?: 'individual' | 'organization';
}

export interface CustomerCreated {
  id: string;
  external_id: string;
  balance: CreditAmount;
  /** `tg_uk_…`, present when the customer was just created. */
  user_key?: string;
}

export interface Grant {
  id: string;
  source: string;
  amount: CreditAmount;
  remaining: CreditAmount;
  expires_at: Timestamp | null;
  created_at?: Timestamp;
  /** Reserved by open holds (part of `remaining`). */
  reserved?: CreditAmount;
  /** `remaining − reserved` while active; 0 when voided or scheduled. */
  available?: CreditAmount;
  /** `active`, `scheduled` (a future `effective_at`) or `voided`. */
  status?: 'active' | 'scheduled' | 'voided';
  /** `paid` (purchases, plan allowances) or `promotional`. */
  category?: 'paid' | 'promotional';
  /** Lower is spent first (default 50). */
  priority?: number;
  scope?: GrantScope | null;
  effective_at?: Timestamp | null;
  voided_at?: Timestamp | null;
}

/** What a grant may pay for: model types (`chat`, `image`, …) and/or model ids. */
export interface GrantScope {
  types?: string[];
  models?: string[];
}

export interface GrantList {
  object: 'list';
  customer: string;
  balance: CreditAmount;
  pending: CreditAmount;
  available: CreditAmount;
  /** Credits of grants not in force yet. */
  scheduled: CreditAmount;
  /** Live grants in spend order, then scheduled ones. */
  data: Grant[];
  has_more: boolean;
}

export interface GrantVoided {
  id: string;
  object: 'grant';
  customer: string;
  status: 'voided';
  /** What this void wrote off now. */
  voided: CreditAmount;
  /** Still reserved by open holds (written off as they release it). */
  reserved: CreditAmount;
  balance: CreditAmount | null;
  transaction_id: string | null;
}

export interface Customer {
  id: string;
  external_id: string;
  type?: 'individual' | 'organization';
  email?: string | null;
  balance: CreditAmount;
  /** Credits reserved by open holds. */
  pending: CreditAmount;
  /** `balance - pending`: what new work may use. */
  available: CreditAmount;
  /** The balance by where the credits came from (`purchase`, `promo`, `gift`, …). */
  breakdown?: Record<string, CreditAmount>;
  grants: Grant[];
  subscription: Subscription | null;
}

export interface GrantCreateParams {
  amount: AmountInput;
  /** Where the credits come from, e.g. `promo`, `purchase`, `manual`. */
  source?: string;
  /** Instead of a source: `paid` (→ purchase) or `promotional` (→ promo). */
  category?: 'paid' | 'promotional';
  /** 0–100, lower spent first (default 50; a plan allowance always goes first). */
  priority?: number;
  /** Not spendable (nor in the balance) before then: credited by the server's sweep once due. */
  effective_at?: Timestamp | Date;
  expires_at?: Timestamp | Date;
  /** Pays only for these model types and/or model ids. */
  scope?: GrantScope;
  reason?: string;
}

export interface UserKey {
  /** `tg_uk_…`, shown only now. */
  user_key: string;
}

export interface Transaction {
  id: string;
  /** `usage`, `purchase`, `gift_code`, `allowance`, `refund`…; `pending` for a reserved hold. */
  type: string;
  amount: CreditAmount;
  /** Absent on a pending line (nothing is taken yet). */
  balance_after?: CreditAmount;
  model?: string;
  /** `posted`, or `pending` for what a running generation reserves. */
  status?: 'posted' | 'pending';
  /** The line in words: "Credit purchase · $12.50 paid", "openai/gpt-4o · 1,200 tokens in, 300 out". */
  summary?: string;
  /** On a purchase: the id of its receipt (`customers.receipt`). */
  receipt?: string | null;
  created_at: Timestamp;
  [field: string]: unknown;
}

export interface TransactionListParams extends ListParams {
  /** Lists the holds still reserved (status `pending`) before the first page's lines. */
  include_pending?: boolean;
}

/** `GET /v1/credits/prices`: the app's models as this user pays for them. */
export interface PriceList {
  object: 'list';
  usd_per_credit: number;
  data: {
    id: string;
    name: string;
    type: string;
    pricing: {
      per_call?: CreditAmount;
      per_unit?: CreditAmount;
      unit?: string;
      input_per_million?: CreditAmount;
      output_per_million?: CreditAmount;
      cached_input_per_million?: CreditAmount;
    };
  }[];
}

/** A purchase's receipt. */
export interface Receipt {
  id: string;
  object: 'receipt';
  customer: string;
  app: { id: string; name: string } | null;
  status: string;
  amount_paid_cents: number;
  refunded_cents: number;
  currency: string;
  credits: CreditAmount;
  bonus_credits: CreditAmount;
  pack: string | null;
  paid_at: Timestamp | null;
  created_at: Timestamp;
}

// ── Holds and charges ───────────────────────────────────────────────────────

export interface HoldCreateParams extends WorkMeasure {
  /** `cus_…` or the app's `external_id`. */
  customer: string;
  model: string;
  /** Groups holds of one agent run or CLI session, for `max_run_cost`. */
  run_id?: string;
  /** Cap on what all holds of `run_id` may spend; beyond it → `RunLimitExceededError`. */
  max_run_cost?: AmountInput;
  /** The customer's user key the work is for: its spend limit applies (`SpendLimitExceededError`). */
  user_key_id?: string;
  metadata?: Record<string, unknown>;
}

export interface Hold {
  id: string;
  status: 'held';
  amount: CreditAmount;
  expires_at: Timestamp;
  /** `byok` when the customer's own provider key pays and no credits are held. */
  funding: 'credits' | 'byok';
}

/** The customer's own provider key of a byok hold (`GET /v1/holds/{id}/provider-key`, readable once). */
export interface HoldProviderKey {
  hold: string;
  /** The provider the key is for (`fal`, `openai`, …). */
  provider: string;
  /** The key itself: run the held work with it. */
  key: string;
}

export type HoldCaptureParams = WorkMeasure;

export interface HoldCapture {
  id: string;
  status: 'captured';
  amount: CreditAmount;
  transaction_id: string;
}

export interface HoldVoid {
  id: string;
  status: 'voided';
}

export interface HoldExtendParams {
  /** New lifetime of the hold, counted from now. */
  timeout_seconds: number;
}

export interface ChargeCreateParams extends WorkMeasure {
  customer: string;
  model: string;
  /** Groups the charges of one agent run or CLI session, for `max_run_cost`. */
  run_id?: string;
  /** Cap on what `run_id` may spend in all; beyond it → `RunLimitExceededError`. */
  max_run_cost?: AmountInput;
  /** The customer's user key the work is for: its spend limit applies (`SpendLimitExceededError`). */
  user_key_id?: string;
  metadata?: Record<string, unknown>;
}

/** A charge is a hold captured at once. */
export type Charge = HoldCapture;

// ── Checkout, gift codes, provider keys ─────────────────────────────────────

export interface CheckoutSessionCreateParams {
  customer: string;
  /** Money to pay in `currency` (USD when absent); or name a `pack`. */
  amount?: number | string;
  /** The same as `amount`, for USD. */
  amount_usd?: number | string;
  /** A currency the server is configured to sell in (`eur`); default `usd`. */
  currency?: string;
  /** A credit pack code from the billing catalog, e.g. `pack_100`. */
  pack?: string;
  success_url?: string;
  cancel_url?: string;
}

export interface CheckoutSession {
  id: string;
  /** Where to send the buyer. */
  url: string;
  /** `test` with the built-in test-mode provider, `live` with Stripe. */
  mode?: 'test' | 'live';
  /** The pending purchase: amount paid, credits (bonus included) and bonus. */
  purchase?: Purchase;
}

/** A checkout session's progress: `pending` until paid, then `completed` (or `failed` when cancelled). */
export interface CheckoutSessionStatus {
  id: string;
  status: 'pending' | 'completed' | 'failed' | (string & {});
  purchase: Purchase;
}

export interface GiftCodeCreateParams {
  amount: AmountInput;
  count?: number;
  max_redemptions?: number;
  expires_at?: Timestamp | Date;
}

export interface GiftCodeBatch {
  codes: string[];
}

export interface GiftCodeRedeemParams {
  code: string;
}

export interface GiftCodeRedemption {
  code?: string;
  amount: CreditAmount;
  balance?: CreditAmount;
  [field: string]: unknown;
}

export interface ProviderKeySetParams {
  /** The provider's secret key; stored encrypted, shown masked afterwards. */
  key: string;
}

export interface ProviderKey {
  provider: string;
  /** The key, masked. */
  masked_key: string;
  created_at?: Timestamp;
  updated_at?: Timestamp;
}

// ── Billing and subscriptions ───────────────────────────────────────────────

export interface Plan {
  code: string;
  name: string;
  price_usd: number;
  interval: string;
  /** Credits included per period, spent before other credits. */
  allowance: CreditAmount;
  /** What the plan unlocks: `true`/`false` (a switch), a limit, `{monthly: N}` (a metered allowance). */
  features?: Record<string, FeatureValue>;
  [field: string]: unknown;
}

export type FeatureValue = boolean | number | { monthly: number };

/** One feature as the customer has it now: from their plan and the packs they bought. */
export interface Entitlement {
  feature: string;
  kind: 'boolean' | 'limit' | 'metered';
  enabled: boolean;
  limit: number | null;
  allowance: number | null;
  used: number | null;
  remaining: number | null;
  resets_at: Timestamp | null;
  /** `plan:<code>`, `pack:<code>`. */
  sources: string[];
}

export interface CustomerEntitlements {
  object: 'entitlements';
  customer: string;
  plan: string | null;
  period_start: Timestamp | null;
  period_end: Timestamp | null;
  features: Entitlement[];
}

export interface FeatureParams {
  /** `cus_…` or the app's external id. */
  customer: string;
  feature: string;
  /** A limit: the total the customer would reach; metered: how much more. Default 1. */
  quantity?: number;
}

export interface FeatureCheck {
  object: 'check';
  customer: string;
  feature: string;
  allowed: boolean;
  remaining: number | null;
  reason: 'not_included' | 'limit_exceeded' | 'allowance_exhausted' | null;
  entitlement: Entitlement;
}

export interface FeatureTrack {
  id: string;
  object: 'track';
  customer: string;
  feature: string;
  quantity: number;
  used: number;
  remaining: number;
  allowance: number;
  period_start: Timestamp;
  resets_at: Timestamp | null;
}

export interface CreditPack {
  code: string;
  credits: CreditAmount;
  price_usd: number;
  [field: string]: unknown;
}

export interface Subscription {
  plan: string;
  status: string;
  current_period_end?: Timestamp;
  cancel_at_period_end?: boolean;
  [field: string]: unknown;
}

export interface BillingCatalog {
  subscription: Subscription | null;
  wallet: { balance: CreditAmount; [field: string]: unknown };
  plans: Plan[];
  credit_packs: CreditPack[];
}

export interface BillingCatalogParams {
  customer?: string;
}

export interface SubscriptionStartParams {
  plan: string;
  success_url?: string;
  cancel_url?: string;
}

export interface SubscriptionChangeParams {
  plan: string;
}

/** A subscription answer; `url` is set when the buyer must finish a checkout first. */
export type SubscriptionResult = Partial<Subscription> & { url?: string; [field: string]: unknown };

export interface Purchase {
  id: string;
  status: string;
  /** Paid, in `currency`. */
  amount: number;
  currency: string;
  /** `amount` for USD purchases; null for purchases in other currencies. */
  amount_usd: number | null;
  credits: CreditAmount;
  bonus_credits: CreditAmount;
  created_at: Timestamp;
}

// ── User endpoints ──────────────────────────────────────────────────────────

export interface Balance {
  balance: CreditAmount;
  currency: 'credits';
  /** Credits reserved by open holds. */
  pending?: CreditAmount;
  /** `balance` minus `pending`: what new work can spend. */
  available?: CreditAmount;
  /** The user's own customer id (`cus_…`), for endpoints that name a customer. */
  customer?: string;
}

export interface PricingParams {
  publishable_key: string;
  models?: string[];
  input_tokens?: number;
  output_tokens?: number;
}

export interface PricingEstimate {
  token_assumption: { input: number; output: number };
  models: Array<{ id: string; name: string; credits_per_request: CreditAmount }>;
}

export interface ModelPricing {
  per_call?: CreditAmount;
  per_unit?: CreditAmount;
  /** What one `per_unit` counts: `image`, `second`, … */
  unit?: string;
  input_per_million?: CreditAmount;
  output_per_million?: CreditAmount;
  cached_input_per_million?: CreditAmount;
}

export interface Model {
  id: string;
  name: string;
  /** `language`, `image`, `video`, `audio`, … */
  type: string;
  context_window?: number;
  max_tokens?: number;
  pricing: ModelPricing;
  /** The kinds of work this model is the catalog default for, e.g. `image`. */
  default_for?: string | string[];
}

export interface ModelList {
  data: Model[];
}

export interface GenerationCreateParams {
  model: string;
  /**
   * The provider's input for the job (prompt, image size, duration, …). The price is read from it:
   * the fields the catalog names as the amount of work (`duration`, `num_images`), within the
   * catalog's bounds (a value outside them is an `InvalidRequestError` naming `input.<field>`).
   */
  input: Record<string, unknown>;
}

export interface Generation {
  id: string;
  model: string;
  /** e.g. `queued`, `running`, `succeeded`, `failed`; charged only when it succeeds. */
  status: string;
  output?: unknown;
  error?: unknown;
  created_at?: Timestamp;
  [field: string]: unknown;
}

/** The ledger audit: whether the books balance, with the server's findings. */
export interface AuditReport {
  object: 'audit';
  /** True when no check found a problem. */
  ok: boolean;
  checked_at: Timestamp;
  customers: number;
  transactions: number;
  /** Sum over all accounts in micro-credits, as exact decimal text (zero when the books balance). */
  total_micros: string;
  system_accounts: Record<string, string>;
  problems: Array<{ check: string; count: number; sample: unknown[] }>;
  [field: string]: unknown;
}

/** Filters of the usage summary and export. */
export interface UsageFilters {
  /** A day (`2031-05-01`, UTC) or an instant; inclusive. */
  from?: string;
  /** A day or an instant; exclusive. */
  to?: string;
  model?: string;
  type?: 'image' | 'video' | 'audio' | 'language' | 'operation';
  /** With the app's key: one of its customers instead of all. */
  customer?: string;
}

export interface UsageSummaryParams extends UsageFilters {
  /** One group, or several comma-separated (`member,model`). */
  group_by?: 'day' | 'model' | 'key' | 'customer' | 'member' | (string & {});
}

export interface UsageSummaryRow {
  day?: string | null;
  model?: string | null;
  key?: string | null;
  customer?: string | null;
  /** The organisation member (`mem_…`). */
  member?: string | null;
  requests: number;
  cost: CreditAmount;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
}

export interface UsageSummary {
  object: 'list';
  group_by: string;
  data: UsageSummaryRow[];
}

export interface UsageExportParams extends UsageFilters {
  format?: 'csv' | 'json';
}

/** One call: its hold, what it cost and the tokens billed. */
export interface UsageCall {
  id: string;
  object: 'call';
  hold_id: string;
  customer: string;
  status: string;
  model: string | null;
  cost: CreditAmount;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_input_tokens: number | null;
  key_id: string | null;
  created_at: Timestamp;
  [field: string]: unknown;
}

/** An app's referral earnings: per UTC month, the payouts recorded, and what is owed now. */
export interface PartnerEarnings {
  object: 'partner_earnings';
  app: string;
  /** `ref:<app>`, the ledger account the shares are paid into. */
  account: string;
  earned: CreditAmount;
  paid: CreditAmount;
  owed: CreditAmount;
  periods: { period: string; earned: CreditAmount; paid: CreditAmount }[];
  payouts: Payout[];
}

export interface Payout {
  id: string;
  object: 'payout';
  app: string;
  amount: CreditAmount;
  reference: string | null;
  note: string | null;
  created_at: Timestamp;
  /** What is still owed after this payout (in the answer of recording it). */
  owed_after?: CreditAmount;
}

export interface PayoutCreateParams {
  /** Credits: a number, exact decimal text or `Credits`. */
  amount: AmountInput;
  reference?: string;
  note?: string;
}
