/**
 * One class per group of endpoints. Each method validates its amounts where they enter (an amount
 * with more than 6 decimals fails before anything is sent) and names the key it is called with,
 * and whether it moves money (then it carries an `Idempotency-Key`).
 */
import { optionalCredits, optionalDecimal } from './json.ts';
import type { RequestOptions, Transport } from './transport.ts';
import type {
  App,
  AppBranding,
  AppCreateParams,
  AuditReport,
  Balance,
  BillingCatalog,
  BillingCatalogParams,
  Charge,
  ChargeCreateParams,
  CheckoutSession,
  CheckoutSessionCreateParams,
  CheckoutSessionStatus,
  Customer,
  CustomerCreated,
  CustomerCreateParams,
  CustomerEntitlements,
  FeatureCheck,
  FeatureParams,
  FeatureTrack,
  Generation,
  GenerationCreateParams,
  GiftCodeBatch,
  GiftCodeCreateParams,
  GiftCodeRedeemParams,
  GiftCodeRedemption,
  Grant,
  GrantCreateParams,
  GrantList,
  GrantVoided,
  Hold,
  HoldCapture,
  HoldCaptureParams,
  HoldCreateParams,
  HoldExtendParams,
  HoldProviderKey,
  HoldVoid,
  ListParams,
  ModelList,
  Page,
  PartnerEarnings,
  Payout,
  PayoutCreateParams,
  PriceList,
  PricingEstimate,
  PricingParams,
  ProviderKey,
  ProviderKeySetParams,
  Purchase,
  Receipt,
  ReferralRate,
  SubscriptionChangeParams,
  SubscriptionResult,
  SubscriptionStartParams,
  Transaction,
  TransactionListParams,
  UsageCall,
  UsageExportParams,
  UsageSummary,
  UsageSummaryParams,
  UserKey,
  WorkMeasure,
} from './types.ts';

/** A path segment: customer ids may be the app's own `external_id`, which can hold any character. */
const segment = encodeURIComponent;

function workBody(work: WorkMeasure) {
  return {
    quantity: optionalDecimal(work.quantity, 'quantity'),
    usage: work.usage,
    amount: optionalCredits(work.amount),
  };
}

/**
 * Apps (admin key): each app gets a publishable key for browsers and a secret key for its backend.
 *
 * @example
 * ```ts
 * const admin = new Tollgate({ baseUrl: 'http://localhost:8787', apiKey: process.env.TOLLGATE_ADMIN_KEY });
 * const app = await admin.apps.create({ name: 'Storyboard', referral_rate: 0.1 });
 * ```
 */
export class Apps {
  constructor(private readonly transport: Transport) {}

  /**
   * Creates an app. `POST /v1/apps` with the admin key. Not retried except on 429 (it is not
   * idempotent).
   *
   * @example
   * ```ts
   * const { publishable_key, secret_key } = await admin.apps.create({ name: 'Storyboard' });
   * ```
   */
  async create(params: AppCreateParams, options?: RequestOptions): Promise<App> {
    return this.transport.request(
      { method: 'POST', path: '/v1/apps', body: params, auth: 'secret', retry: 'unsafe' },
      options,
    );
  }

  /** The app's referral rate, the ceiling the operator set and the history of changes (app secret key). */
  async referralRate(options?: RequestOptions): Promise<ReferralRate> {
    return this.transport.request(
      { method: 'GET', path: '/v1/partner/referral-rate', auth: 'secret', retry: 'safe' },
      options,
    );
  }

  /**
   * Sets the app's own referral rate (`0.15` = 15 %), at most the operator's ceiling (over it: 400
   * `invalid_request` with `referral_rate_max`). Work priced from now on uses it. Setting a value is
   * idempotent, so it is retried.
   */
  async setReferralRate(referralRate: number, options?: RequestOptions): Promise<ReferralRate> {
    return this.transport.request(
      {
        method: 'PUT',
        path: '/v1/partner/referral-rate',
        body: { referral_rate: referralRate },
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }

  /** The app's referral earnings per month, its payouts, and what is owed (admin, or the app's own key). */
  async earnings(appId: string, options?: RequestOptions): Promise<PartnerEarnings> {
    return this.transport.request(
      { method: 'GET', path: `/v1/apps/${segment(appId)}/earnings`, auth: 'secret', retry: 'safe' },
      options,
    );
  }

  /**
   * Records a payout of the app's earnings, paid outside Tollgate (admin key); refused past what is
   * owed. Carries an `Idempotency-Key`, so a retry records it once.
   */
  async recordPayout(appId: string, params: PayoutCreateParams, options?: RequestOptions): Promise<Payout> {
    return this.transport.request(
      {
        method: 'POST',
        path: `/v1/apps/${segment(appId)}/payouts`,
        body: { ...params, amount: optionalCredits(params.amount) },
        auth: 'secret',
        retry: 'idempotency-key',
      },
      options,
    );
  }
}

/**
 * Customers of an app (secret key). Wherever a customer is named, Tollgate's `cus_…` id or the
 * app's own `external_id` works.
 *
 * @example
 * ```ts
 * const customer = await tollgate.customers.create({ external_id: 'user_42', email: 'ada@example.com' });
 * ```
 */
export class Customers {
  constructor(private readonly transport: Transport) {}

  /**
   * Creates a customer, or returns the existing one with this `external_id` (so retrying is safe).
   * A new customer receives the configured signup bonus once.
   *
   * @example
   * ```ts
   * const { id, balance, user_key } = await tollgate.customers.create({ external_id: 'user_42' });
   * ```
   */
  async create(params: CustomerCreateParams, options?: RequestOptions): Promise<CustomerCreated> {
    return this.transport.request(
      { method: 'POST', path: '/v1/customers', body: params, auth: 'secret', retry: 'safe' },
      options,
    );
  }

  /**
   * Fetches a customer with balance, pending holds, available credits, grants and subscription.
   *
   * @example
   * ```ts
   * const { available } = await tollgate.customers.retrieve('user_42');
   * ```
   */
  async retrieve(customer: string, options?: RequestOptions): Promise<Customer> {
    return this.transport.request(
      { method: 'GET', path: `/v1/customers/${segment(customer)}`, auth: 'secret', retry: 'safe' },
      options,
    );
  }

  /**
   * Grants credits (promotions, refunds, manual top-ups). Money-moving: sent with an
   * `Idempotency-Key`.
   *
   * @example
   * ```ts
   * await tollgate.customers.grant('user_42', { amount: '25.5', source: 'promo', reason: 'launch week' });
   * ```
   */
  async grant(customer: string, params: GrantCreateParams, options?: RequestOptions): Promise<Grant> {
    return this.transport.request(
      {
        method: 'POST',
        path: `/v1/customers/${segment(customer)}/grants`,
        body: { ...params, amount: optionalCredits(params.amount) },
        auth: 'secret',
        retry: 'idempotency-key',
      },
      options,
    );
  }

  /**
   * The customer's live grants in spend order (remaining, reserved, available), then scheduled ones.
   *
   * @example
   * ```ts
   * const { data } = await tollgate.customers.listGrants('user_42');
   * ```
   */
  async listGrants(customer: string, options?: RequestOptions): Promise<GrantList> {
    return this.transport.request(
      { method: 'GET', path: `/v1/customers/${segment(customer)}/grants`, auth: 'secret', retry: 'safe' },
      options,
    );
  }

  /**
   * Voids a grant: its unreserved remainder is written off, what open holds reserve stays theirs (a
   * scheduled grant is cancelled). Idempotent.
   *
   * @example
   * ```ts
   * await tollgate.customers.voidGrant('gr_…', { reason: 'campaign ended' });
   * ```
   */
  async voidGrant(
    grant: string,
    params: { reason?: string } = {},
    options?: RequestOptions,
  ): Promise<GrantVoided> {
    return this.transport.request(
      {
        method: 'POST',
        path: `/v1/grants/${segment(grant)}/void`,
        body: params,
        auth: 'secret',
        retry: 'idempotency-key',
      },
      options,
    );
  }

  /**
   * Issues a new user key (`tg_uk_…`) for the customer, shown only in this answer.
   *
   * @example
   * ```ts
   * const { user_key } = await tollgate.customers.createUserKey('user_42');
   * ```
   */
  async createUserKey(customer: string, options?: RequestOptions): Promise<UserKey> {
    return this.transport.request(
      {
        method: 'POST',
        path: `/v1/customers/${segment(customer)}/user-keys`,
        auth: 'secret',
        retry: 'unsafe',
      },
      options,
    );
  }

  /**
   * Lists the customer's ledger transactions (the statement), newest first, each with a `summary`
   * in words; `include_pending` puts the holds still reserved first.
   *
   * @example
   * ```ts
   * const page = await tollgate.customers.transactions('user_42', { limit: 20 });
   * for (const entry of page.data) console.log(entry.type, entry.amount, entry.balance_after);
   * ```
   */
  async transactions(
    customer: string,
    params: TransactionListParams = {},
    options?: RequestOptions,
  ): Promise<Page<Transaction>> {
    return this.transport.request(
      {
        method: 'GET',
        path: `/v1/customers/${segment(customer)}/transactions`,
        query: {
          limit: params.limit,
          offset: params.offset,
          include_pending: params.include_pending === undefined ? undefined : String(params.include_pending),
        },
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }

  /**
   * The whole statement as CSV (pending lines first, then every line newest first), streamed.
   *
   * @example
   * ```ts
   * for await (const chunk of await tollgate.customers.statementCsv('user_42')) file.write(chunk);
   * ```
   */
  async statementCsv(customer: string, options?: RequestOptions): Promise<ReadableStream<Uint8Array>> {
    return this.transport.stream(
      {
        method: 'GET',
        path: `/v1/customers/${segment(customer)}/transactions`,
        query: { format: 'csv' },
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }

  /** A purchase's receipt, by the `receipt` id of its statement line. */
  async receipt(customer: string, receipt: string, options?: RequestOptions): Promise<Receipt> {
    return this.transport.request(
      {
        method: 'GET',
        path: `/v1/customers/${segment(customer)}/receipts/${segment(receipt)}`,
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }
}

/**
 * Holds reserve credits before metered work and are captured (charged) or voided after it.
 * See `Tollgate.withHold` for the whole cycle in one call.
 *
 * @example
 * ```ts
 * const hold = await tollgate.holds.create({ customer: 'user_42', model: 'fal-ai/veo3.1', quantity: 8 });
 * await tollgate.holds.capture(hold.id, { quantity: 6 });
 * ```
 */
export class Holds {
  constructor(private readonly transport: Transport) {}

  /**
   * Reserves credits for work on `model`. Money-moving: sent with an `Idempotency-Key`.
   *
   * @throws {InsufficientCreditsError} when the customer's available balance is short.
   * @example
   * ```ts
   * const hold = await tollgate.holds.create({
   *   customer: 'user_42',
   *   model: 'openai/gpt-4o',
   *   usage: { input_tokens: 2000, output_tokens: 1000 },
   *   run_id: 'run_7',
   *   max_run_cost: 50,
   * });
   * ```
   */
  async create(params: HoldCreateParams, options?: RequestOptions): Promise<Hold> {
    return this.transport.request(
      {
        method: 'POST',
        path: '/v1/holds',
        body: { ...params, ...workBody(params), max_run_cost: optionalCredits(params.max_run_cost) },
        auth: 'secret',
        retry: 'idempotency-key',
      },
      options,
    );
  }

  /**
   * Charges a hold, optionally re-stating the actual work; without it, the held amount.
   *
   * @example
   * ```ts
   * const capture = await tollgate.holds.capture(hold.id, { usage: { input_tokens: 1840, output_tokens: 620 } });
   * ```
   */
  async capture(
    holdId: string,
    params: HoldCaptureParams = {},
    options?: RequestOptions,
  ): Promise<HoldCapture> {
    return this.transport.request(
      {
        method: 'POST',
        path: `/v1/holds/${segment(holdId)}/capture`,
        body: workBody(params),
        auth: 'secret',
        retry: 'idempotency-key',
      },
      options,
    );
  }

  /**
   * Releases a hold without charging (the work failed or was cancelled).
   *
   * @example
   * ```ts
   * await tollgate.holds.void(hold.id);
   * ```
   */
  async void(holdId: string, options?: RequestOptions): Promise<HoldVoid> {
    return this.transport.request(
      { method: 'POST', path: `/v1/holds/${segment(holdId)}/void`, auth: 'secret', retry: 'idempotency-key' },
      options,
    );
  }

  /**
   * The customer's own provider key of a `byok` hold, to run the held work with (app secret key).
   * Readable once per hold: a second read, a hold funded by credits, or a key removed meanwhile is
   * an `InvalidStateError`; an app that forbids BYOK gets a `PermissionDeniedError`. Not retried
   * (a retry after a lost answer would find the key already read). `withHold` calls it for you.
   *
   * @example
   * ```ts
   * if (hold.funding === 'byok') {
   *   const { key } = await tollgate.holds.providerKey(hold.id);
   *   await callFal(model, input, { apiKey: key }); // your own call to the provider
   * }
   * ```
   */
  async providerKey(holdId: string, options?: RequestOptions): Promise<HoldProviderKey> {
    return this.transport.request(
      { method: 'GET', path: `/v1/holds/${segment(holdId)}/provider-key`, auth: 'secret', retry: 'unsafe' },
      options,
    );
  }

  /**
   * Gives a hold a new lifetime, for long-running jobs; answers the hold with its new `expires_at`.
   *
   * @example
   * ```ts
   * const extended = await tollgate.holds.extend(hold.id, { timeout_seconds: 1800 });
   * ```
   */
  async extend(holdId: string, params: HoldExtendParams, options?: RequestOptions): Promise<Hold> {
    return this.transport.request(
      {
        method: 'POST',
        path: `/v1/holds/${segment(holdId)}/extend`,
        body: params,
        auth: 'secret',
        retry: 'idempotency-key',
      },
      options,
    );
  }
}

/**
 * One-shot charges: a hold and its capture in one request.
 *
 * @example
 * ```ts
 * await tollgate.charges.create({ customer: 'user_42', model: 'fal-ai/flux/schnell' });
 * ```
 */
export class Charges {
  constructor(private readonly transport: Transport) {}

  /**
   * Charges for finished work. Money-moving: sent with an `Idempotency-Key`.
   *
   * @throws {InsufficientCreditsError} when the customer's available balance is short.
   * @example
   * ```ts
   * const charge = await tollgate.charges.create({ customer: 'user_42', model: 'fal-ai/flux/dev', quantity: 4 });
   * ```
   */
  async create(params: ChargeCreateParams, options?: RequestOptions): Promise<Charge> {
    return this.transport.request(
      {
        method: 'POST',
        path: '/v1/charges',
        body: { ...params, ...workBody(params), max_run_cost: optionalCredits(params.max_run_cost) },
        auth: 'secret',
        retry: 'idempotency-key',
      },
      options,
    );
  }
}

/**
 * Checkout sessions for buying credits (Stripe, or the built-in test-mode page).
 *
 * @example
 * ```ts
 * const { url } = await tollgate.checkout.createSession({ customer: 'user_42', amount_usd: 25 });
 * ```
 */
export class Checkout {
  constructor(private readonly transport: Transport) {}

  /**
   * Starts a purchase of `amount_usd` worth of credits, or of a credit `pack`; send the buyer to
   * `url`. Sent with an `Idempotency-Key`.
   *
   * @example
   * ```ts
   * const session = await tollgate.checkout.createSession({
   *   customer: 'user_42',
   *   pack: 'pack_100',
   *   success_url: 'https://app.example.com/billing?ok=1',
   * });
   * ```
   */
  async createSession(
    params: CheckoutSessionCreateParams,
    options?: RequestOptions,
  ): Promise<CheckoutSession> {
    return this.transport.request(
      {
        method: 'POST',
        path: '/v1/checkout/sessions',
        body: {
          ...params,
          amount: optionalDecimal(params.amount, 'amount'),
          amount_usd: optionalDecimal(params.amount_usd, 'amount_usd'),
        },
        auth: 'secret',
        retry: 'idempotency-key',
      },
      options,
    );
  }

  /**
   * A session's status and purchase; poll it until `completed` (or `failed`) after sending the
   * buyer to `url`.
   *
   * @example
   * ```ts
   * const { status, purchase } = await tollgate.checkout.retrieveSession(session.id);
   * if (status === 'completed') console.log(`+${purchase.credits} credits`);
   * ```
   */
  async retrieveSession(sessionId: string, options?: RequestOptions): Promise<CheckoutSessionStatus> {
    return this.transport.request(
      { method: 'GET', path: `/v1/checkout/sessions/${segment(sessionId)}`, auth: 'secret', retry: 'safe' },
      options,
    );
  }
}

/**
 * Gift codes: created by the app (secret key), redeemed by a user (user key).
 *
 * @example
 * ```ts
 * const { codes } = await tollgate.giftCodes.create({ amount: 100, count: 10 });
 * ```
 */
export class GiftCodes {
  constructor(private readonly transport: Transport) {}

  /**
   * Creates `count` codes worth `amount` credits each. Sent with an `Idempotency-Key`.
   *
   * @example
   * ```ts
   * const { codes } = await tollgate.giftCodes.create({ amount: '50', count: 3, expires_at: new Date('2026-12-31') });
   * ```
   */
  async create(params: GiftCodeCreateParams, options?: RequestOptions): Promise<GiftCodeBatch> {
    return this.transport.request(
      {
        method: 'POST',
        path: '/v1/gift-codes',
        body: { ...params, amount: optionalCredits(params.amount) },
        auth: 'secret',
        retry: 'idempotency-key',
      },
      options,
    );
  }

  /**
   * Redeems a code for the user whose key the client (or `options.userKey`) carries.
   *
   * @throws {AlreadyRedeemedError} when the code has been used up.
   * @example
   * ```ts
   * await tollgate.giftCodes.redeem({ code: 'GIFT-7H2K-91QZ' }, { userKey: 'tg_uk_…' });
   * ```
   */
  async redeem(params: GiftCodeRedeemParams, options?: RequestOptions): Promise<GiftCodeRedemption> {
    return this.transport.request(
      { method: 'POST', path: '/v1/gift-codes/redeem', body: params, auth: 'user', retry: 'idempotency-key' },
      options,
    );
  }
}

/**
 * A customer's own provider keys (bring-your-own-key): work on that provider is then paid by the
 * key, not by credits. Keys are stored encrypted and shown masked.
 *
 * @example
 * ```ts
 * await tollgate.providerKeys.set('user_42', 'fal', { key: process.env.FAL_KEY! });
 * ```
 */
export class ProviderKeys {
  constructor(private readonly transport: Transport) {}

  /**
   * Stores (or replaces) the customer's key for `provider`.
   *
   * @example
   * ```ts
   * const stored = await tollgate.providerKeys.set('user_42', 'openrouter', { key: 'sk-or-…' });
   * console.log(stored.masked_key);
   * ```
   */
  async set(
    customer: string,
    provider: string,
    params: ProviderKeySetParams,
    options?: RequestOptions,
  ): Promise<ProviderKey> {
    return this.transport.request(
      {
        method: 'PUT',
        path: providerKeyPath(customer, provider),
        body: params,
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }

  /**
   * Shows the customer's key for `provider`, masked.
   *
   * @throws {NotFoundError} when none is stored.
   * @example
   * ```ts
   * const key = await tollgate.providerKeys.get('user_42', 'fal');
   * ```
   */
  async get(customer: string, provider: string, options?: RequestOptions): Promise<ProviderKey> {
    return this.transport.request(
      { method: 'GET', path: providerKeyPath(customer, provider), auth: 'secret', retry: 'safe' },
      options,
    );
  }

  /**
   * Every provider key the customer stored, masked.
   *
   * @example
   * ```ts
   * const { data } = await tollgate.providerKeys.list('user_42');
   * for (const key of data) console.log(key.provider, key.masked_key);
   * ```
   */
  async list(customer: string, options?: RequestOptions): Promise<{ data: ProviderKey[] }> {
    return this.transport.request(
      {
        method: 'GET',
        path: `/v1/customers/${segment(customer)}/provider-keys`,
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }

  /**
   * Deletes the customer's key for `provider`; work on it is paid by credits again.
   *
   * @example
   * ```ts
   * await tollgate.providerKeys.remove('user_42', 'fal');
   * ```
   */
  async remove(customer: string, provider: string, options?: RequestOptions): Promise<void> {
    await this.transport.request(
      { method: 'DELETE', path: providerKeyPath(customer, provider), auth: 'secret', retry: 'safe' },
      options,
    );
  }
}

function providerKeyPath(customer: string, provider: string): string {
  return `/v1/customers/${segment(customer)}/provider-keys/${segment(provider)}`;
}

/**
 * The billing catalog: plans, credit packs, and a customer's subscription and wallet.
 *
 * @example
 * ```ts
 * const { plans, credit_packs } = await tollgate.billing.catalog();
 * ```
 */
export class Billing {
  constructor(private readonly transport: Transport) {}

  /**
   * `{subscription, wallet, plans, credit_packs}`; pass `customer` for their subscription and wallet.
   *
   * @example
   * ```ts
   * const { subscription, wallet } = await tollgate.billing.catalog({ customer: 'user_42' });
   * ```
   */
  async catalog(params: BillingCatalogParams = {}, options?: RequestOptions): Promise<BillingCatalog> {
    return this.transport.request(
      {
        method: 'GET',
        path: '/v1/billing/catalog',
        query: { customer: params.customer },
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }
}

/**
 * A customer's subscription: start, change plan (upgrades prorated), cancel at period end.
 *
 * @example
 * ```ts
 * const started = await tollgate.subscriptions.start('user_42', { plan: 'pro' });
 * if (started.url) redirect(started.url);
 * ```
 */
export class Subscriptions {
  constructor(private readonly transport: Transport) {}

  /**
   * Starts a subscription to `plan`; when payment is needed, the answer carries a checkout `url`.
   * Sent with an `Idempotency-Key`.
   *
   * @example
   * ```ts
   * await tollgate.subscriptions.start('user_42', { plan: 'pro', success_url: 'https://app.example.com/ok' });
   * ```
   */
  async start(
    customer: string,
    params: SubscriptionStartParams,
    options?: RequestOptions,
  ): Promise<SubscriptionResult> {
    return this.transport.request(
      {
        method: 'POST',
        path: subscriptionPath(customer),
        body: params,
        auth: 'secret',
        retry: 'idempotency-key',
      },
      options,
    );
  }

  /**
   * Changes plan: upgrades take effect now (prorated), downgrades at period end.
   *
   * @example
   * ```ts
   * await tollgate.subscriptions.change('user_42', { plan: 'studio' });
   * ```
   */
  async change(
    customer: string,
    params: SubscriptionChangeParams,
    options?: RequestOptions,
  ): Promise<SubscriptionResult> {
    return this.transport.request(
      {
        method: 'PATCH',
        path: subscriptionPath(customer),
        body: params,
        auth: 'secret',
        retry: 'idempotency-key',
      },
      options,
    );
  }

  /**
   * Cancels at the end of the current period.
   *
   * @example
   * ```ts
   * const subscription = await tollgate.subscriptions.cancel('user_42');
   * console.log(subscription.cancel_at_period_end); // true
   * ```
   */
  async cancel(customer: string, options?: RequestOptions): Promise<SubscriptionResult> {
    return this.transport.request(
      { method: 'DELETE', path: subscriptionPath(customer), auth: 'secret', retry: 'idempotency-key' },
      options,
    );
  }
}

function subscriptionPath(customer: string): string {
  return `/v1/customers/${segment(customer)}/subscription`;
}

/**
 * A user's credits (user key): balance, history, and per-request estimates.
 *
 * @example
 * ```ts
 * const user = new Tollgate({ baseUrl: 'http://localhost:8787', userKey: 'tg_uk_…' });
 * const { balance } = await user.credits.balance();
 * ```
 */
export class UserCredits {
  constructor(private readonly transport: Transport) {}

  /**
   * `{balance, currency: "credits"}` for the user key.
   *
   * @example
   * ```ts
   * const { balance } = await user.credits.balance();
   * console.log(formatCredits(balance));
   * ```
   */
  async balance(options?: RequestOptions): Promise<Balance> {
    return this.transport.request(
      { method: 'GET', path: '/v1/credits/balance', auth: 'user', retry: 'safe' },
      options,
    );
  }

  /** The user's app as its dashboard shows it: name, logo, accent colour, address to go back to. */
  async app(options?: RequestOptions): Promise<AppBranding> {
    return this.transport.request(
      { method: 'GET', path: '/v1/credits/app', auth: 'user', retry: 'safe' },
      options,
    );
  }

  /**
   * What each of the app's models costs this user (the app's share included): credits per call,
   * per unit, per 1M tokens, and `usd_per_credit` to show the ≈ $ beside them.
   *
   * @example
   * ```ts
   * const { data } = await user.credits.prices({ type: 'video' });
   * ```
   */
  async prices(params: { type?: string } = {}, options?: RequestOptions): Promise<PriceList> {
    return this.transport.request(
      {
        method: 'GET',
        path: '/v1/credits/prices',
        query: { type: params.type },
        auth: 'user',
        retry: 'safe',
      },
      options,
    );
  }

  /**
   * The user's transactions and usage, newest first.
   *
   * @example
   * ```ts
   * const { data } = await user.credits.history({ limit: 10 });
   * ```
   */
  async history(params: ListParams = {}, options?: RequestOptions): Promise<Page<Transaction>> {
    return this.transport.request(
      {
        method: 'GET',
        path: '/v1/credits/history',
        query: { limit: params.limit, offset: params.offset },
        auth: 'user',
        retry: 'safe',
      },
      options,
    );
  }

  /**
   * Estimated credits per request for the app's models (referral share included), for an
   * assumed number of tokens. Needs only the publishable key.
   *
   * @example
   * ```ts
   * const { models } = await tollgate.credits.pricing({ publishable_key: 'tg_pk_…', input_tokens: 1000, output_tokens: 500 });
   * ```
   */
  async pricing(params: PricingParams, options?: RequestOptions): Promise<PricingEstimate> {
    return this.transport.request(
      { method: 'POST', path: '/v1/credits/pricing', body: params, auth: 'none', retry: 'safe' },
      options,
    );
  }
}

/**
 * The model catalog (no key needed).
 *
 * @example
 * ```ts
 * const { data } = await tollgate.models.list();
 * ```
 */
export class Models {
  constructor(
    private readonly transport: Transport,
    private readonly onList: (list: ModelList) => void,
  ) {}

  /**
   * Every model with its type and pricing. Also refreshes the catalog the cost helpers use.
   *
   * @example
   * ```ts
   * const images = (await tollgate.models.list()).data.filter((model) => model.type === 'image');
   * ```
   */
  async list(options?: RequestOptions): Promise<ModelList> {
    const list = await this.transport.request<ModelList>(
      { method: 'GET', path: '/v1/models', auth: 'none', retry: 'safe' },
      options,
    );
    this.onList(list);
    return list;
  }
}

/**
 * Media generation jobs (user key), charged only when they succeed.
 *
 * @example
 * ```ts
 * const job = await user.generations.create({ model: 'fal-ai/flux/schnell', input: { prompt: 'a lighthouse at dusk' } });
 * ```
 */
export class Generations {
  constructor(private readonly transport: Transport) {}

  /**
   * Starts a job, held at the price of its input (8 seconds of `fal-ai/veo3.1` cost 8 seconds) and
   * charged when it completes for what the provider delivered, never more than was held. Sent with
   * an `Idempotency-Key`, so a retried request never starts it twice.
   *
   * @example
   * ```ts
   * const job = await user.generations.create({ model: 'fal-ai/veo3.1', input: { prompt: 'waves', duration: '8s' } });
   * ```
   */
  async create(params: GenerationCreateParams, options?: RequestOptions): Promise<Generation> {
    return this.transport.request(
      { method: 'POST', path: '/v1/generations', body: params, auth: 'user', retry: 'idempotency-key' },
      options,
    );
  }

  /**
   * Fetches a job's status and, once done, its output.
   *
   * @example
   * ```ts
   * const latest = await user.generations.retrieve(job.id);
   * if (latest.status === 'succeeded') show(latest.output);
   * ```
   */
  async retrieve(generationId: string, options?: RequestOptions): Promise<Generation> {
    return this.transport.request(
      { method: 'GET', path: `/v1/generations/${segment(generationId)}`, auth: 'user', retry: 'safe' },
      options,
    );
  }
}

/**
 * A customer's credit purchases.
 *
 * @example
 * ```ts
 * const { data } = await tollgate.purchases.list('user_42');
 * ```
 */
export class Purchases {
  constructor(private readonly transport: Transport) {}

  /**
   * `{data: [{id, status, amount_usd, credits, bonus_credits, created_at}]}`.
   *
   * @example
   * ```ts
   * for (const purchase of (await tollgate.purchases.list('user_42')).data) {
   *   const creditedMicros = toMicros(purchase.credits) + toMicros(purchase.bonus_credits);
   *   console.log(purchase.amount_usd, fromMicros(creditedMicros));
   * }
   * ```
   */
  async list(customer: string, options?: RequestOptions): Promise<{ data: Purchase[] }> {
    return this.transport.request(
      { method: 'GET', path: `/v1/customers/${segment(customer)}/purchases`, auth: 'secret', retry: 'safe' },
      options,
    );
  }
}

/**
 * What a customer's plan and packs unlock (switches, limits, metered allowances), Autumn-style.
 *
 * @example
 * ```ts
 * const { allowed, reason } = await tollgate.entitlements.check({ customer: 'user_42', feature: '4k_export' });
 * await tollgate.entitlements.track({ customer: 'user_42', feature: 'video_exports' }, { idempotencyKey: exportId });
 * ```
 */
export class Entitlements {
  constructor(private readonly transport: Transport) {}

  /** Every feature the config declares, as this customer has it now. */
  async retrieve(customer: string, options?: RequestOptions): Promise<CustomerEntitlements> {
    return this.transport.request(
      {
        method: 'GET',
        path: `/v1/customers/${segment(customer)}/entitlements`,
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }

  /** `{allowed, remaining, reason}`: may the customer use `quantity` of the feature now? Records nothing. */
  async check(params: FeatureParams, options?: RequestOptions): Promise<FeatureCheck> {
    return this.transport.request(
      { method: 'POST', path: '/v1/check', body: params, auth: 'secret', retry: 'safe' },
      options,
    );
  }

  /**
   * Records use of a metered feature; past the allowance it throws (402 `feature_limit_exceeded`).
   * Sent with an `Idempotency-Key` (yours via `options.idempotencyKey`), so a retry counts once.
   */
  async track(params: FeatureParams, options?: RequestOptions): Promise<FeatureTrack> {
    return this.transport.request(
      { method: 'POST', path: '/v1/track', body: params, auth: 'secret', retry: 'idempotency-key' },
      options,
    );
  }
}

/**
 * Usage: sums by day, model, key or customer; a streamed CSV or JSON export; one call by its hold id.
 * With a user key, the user's own; with an app's key, its customers' (`customer` picks one).
 *
 * @example
 * ```ts
 * const { data } = await tollgate.usage.summary({ group_by: 'model', from: '2031-05-01' });
 * for await (const chunk of await tollgate.usage.export({ format: 'csv' })) file.write(chunk);
 * ```
 */
export class Usage {
  constructor(private readonly transport: Transport) {}

  async summary(params: UsageSummaryParams = {}, options?: RequestOptions): Promise<UsageSummary> {
    return this.transport.request(
      { method: 'GET', path: '/v1/usage', query: { ...params }, auth: 'user', retry: 'safe' },
      options,
    );
  }

  /** The export's bytes as they arrive (constant memory however many rows): pipe them to a file. */
  async export(
    params: UsageExportParams = {},
    options?: RequestOptions,
  ): Promise<ReadableStream<Uint8Array>> {
    return this.transport.stream(
      { method: 'GET', path: '/v1/usage/export', query: { ...params }, auth: 'user', retry: 'safe' },
      options,
    );
  }

  /** One call's cost and tokens: a gateway call by its `x-tollgate-hold`, or a generation id. */
  async call(id: string, options?: RequestOptions): Promise<UsageCall> {
    return this.transport.request(
      { method: 'GET', path: `/v1/calls/${segment(id)}`, auth: 'user', retry: 'safe' },
      options,
    );
  }
}

/** `GET /v1/admin/audit` with the admin key. */
export function fetchAudit(transport: Transport, options?: RequestOptions): Promise<AuditReport> {
  return transport.request(
    { method: 'GET', path: '/v1/admin/audit', auth: 'secret', retry: 'safe' },
    options,
  );
}
