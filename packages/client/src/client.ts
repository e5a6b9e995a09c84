import { type Credits, formatCredits } from './amounts.ts';
import { AutoTopups } from './auto-topup.ts';
import {
  defaultModelCredits,
  directorsCutCredits,
  modelCredits,
  modelOrDefaultCredits,
  type WorkEstimate,
} from './costs.ts';
import { Members } from './members.ts';
import {
  Apps,
  Billing,
  Charges,
  Checkout,
  Customers,
  Entitlements,
  fetchAudit,
  Generations,
  GiftCodes,
  Holds,
  Models,
  ProviderKeys,
  Purchases,
  Subscriptions,
  Usage,
  UserCredits,
} from './resources.ts';
import { defaultSleep, type RequestOptions, type SleepFunction, Transport } from './transport.ts';
import type { AuditReport, Model } from './types.ts';
import { SpendLimits, UserKeys } from './user-keys.ts';
import { BalanceAlertSettings, Events, WebhookEndpoints } from './webhooks.ts';
import {
  type HoldWork,
  runWithHold,
  type WithHoldOptions,
  type WithHoldResult,
  type WithHoldValue,
} from './with-hold.ts';

/** Options of `new Tollgate(…)`. */
export interface TollgateOptions {
  /** Where Tollgate serves, e.g. `http://localhost:8787` (without `/v1`). */
  baseUrl: string;
  /** The app's secret key (`tg_sk_…`) or the operator's admin key, sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** An end user's key (`tg_uk_…`), sent as `X-User-Key` to the user endpoints. */
  userKey?: string;
  /** A `fetch` to use instead of the global one (tests, proxies, instrumentation). */
  fetch?: typeof fetch;
  /** Retries after a 429, a 5xx (not 501) or a network failure. Default 2. */
  maxRetries?: number;
  /** Time limit of each attempt, in milliseconds. Default 60 000. */
  timeoutMs?: number;
  /** `User-Agent` to send (default `tollgate-client/<version>` outside browsers). */
  userAgent?: string;
  /** How to wait between retries; inject one in tests so they do not wait. */
  sleep?: SleepFunction;
}

const DEFAULT_MAX_RETRIES = 2;
const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * The Tollgate API client. It needs nothing but `fetch`, so it runs on Node 20+, Deno, Bun and
 * edge runtimes. Money-moving calls carry an `Idempotency-Key`, reused by their own retries;
 * failures are thrown as typed `TollgateError`s.
 *
 * @example
 * ```ts
 * import { Tollgate } from '@tollgate/client';
 *
 * const tollgate = new Tollgate({ baseUrl: 'http://localhost:8787', apiKey: process.env.TOLLGATE_SECRET_KEY });
 * const customer = await tollgate.customers.create({ external_id: 'user_42' });
 * const { result } = await tollgate.withHold(customer.id, 'fal-ai/flux/schnell', async () => generateImage());
 * ```
 */
export class Tollgate {
  /** Apps (admin key). */
  readonly apps: Apps;
  /** Customers, grants, user keys, transactions (secret key). */
  readonly customers: Customers;
  /** Reserve, capture, void and extend holds (secret key). */
  readonly holds: Holds;
  /** One-shot charges (secret key). */
  readonly charges: Charges;
  /** Credit purchase sessions (secret key). */
  readonly checkout: Checkout;
  /** Gift codes: create (secret key), redeem (user key). */
  readonly giftCodes: GiftCodes;
  /** Bring-your-own provider keys (secret key). */
  readonly providerKeys: ProviderKeys;
  /** Plans, packs, wallet (secret key). */
  readonly billing: Billing;
  /** Subscriptions of a customer (secret key). */
  readonly subscriptions: Subscriptions;
  /** A user's balance, history and price estimates (user key). */
  readonly credits: UserCredits;
  /** The model catalog (no key). */
  readonly models: Models;
  /** Media generation jobs (user key). */
  readonly generations: Generations;
  /** A customer's purchases (secret key). */
  readonly purchases: Purchases;
  /** What plans and packs unlock: entitlements, `check`, `track` (secret key). */
  readonly entitlements: Entitlements;
  /** Usage sums, the streamed export, one call's cost (user key: own; secret key: its customers'). */
  readonly usage: Usage;
  /** Webhook endpoints of the app (secret key). */
  readonly webhookEndpoints: WebhookEndpoints;
  /** The app's events, deliveries and replays (secret key). */
  readonly events: Events;
  /** Low-balance thresholds of the app and its customers (secret key). */
  readonly balanceAlerts: BalanceAlertSettings;
  /** Auto top-up of a customer's credits with their saved card. */
  readonly autoTopups: AutoTopups;
  /** A customer's named user keys with their spend limits (secret key). */
  readonly userKeys: UserKeys;
  /** A customer's own spend limit (secret key). */
  readonly spendLimits: SpendLimits;
  /** An organisation's members, their keys and limits (secret key). */
  readonly members: Members;

  private readonly transport: Transport;
  private catalog: Promise<readonly Model[]> | undefined;

  /**
   * @example
   * ```ts
   * const app = new Tollgate({ baseUrl: 'https://credits.example.com', apiKey: 'tg_sk_…', maxRetries: 3 });
   * const user = new Tollgate({ baseUrl: 'https://credits.example.com', userKey: 'tg_uk_…' });
   * ```
   */
  constructor(options: TollgateOptions) {
    if (typeof options?.baseUrl !== 'string' || options.baseUrl === '') {
      throw new TypeError('Tollgate: baseUrl is required, e.g. "http://localhost:8787"');
    }
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    if (!Number.isInteger(maxRetries) || maxRetries < 0) {
      throw new RangeError('Tollgate: maxRetries must be a whole number ≥ 0');
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new RangeError('Tollgate: timeoutMs must be greater than 0');

    this.transport = new Transport({
      baseUrl: options.baseUrl,
      apiKey: options.apiKey,
      userKey: options.userKey,
      fetch: options.fetch,
      maxRetries,
      timeoutMs,
      userAgent: options.userAgent,
      sleep: options.sleep ?? defaultSleep,
    });
    this.apps = new Apps(this.transport);
    this.customers = new Customers(this.transport);
    this.userKeys = new UserKeys(this.transport);
    this.spendLimits = new SpendLimits(this.transport);
    this.members = new Members(this.transport);
    this.holds = new Holds(this.transport);
    this.charges = new Charges(this.transport);
    this.checkout = new Checkout(this.transport);
    this.giftCodes = new GiftCodes(this.transport);
    this.providerKeys = new ProviderKeys(this.transport);
    this.billing = new Billing(this.transport);
    this.subscriptions = new Subscriptions(this.transport);
    this.credits = new UserCredits(this.transport);
    this.models = new Models(this.transport, (list) => {
      this.catalog = Promise.resolve(list.data);
    });
    this.generations = new Generations(this.transport);
    this.purchases = new Purchases(this.transport);
    this.entitlements = new Entitlements(this.transport);
    this.usage = new Usage(this.transport);
    this.webhookEndpoints = new WebhookEndpoints(this.transport);
    this.events = new Events(this.transport);
    this.balanceAlerts = new BalanceAlertSettings(this.transport);
    this.autoTopups = new AutoTopups(this.transport);
  }

  /**
   * Runs metered work inside a hold: reserves credits, runs `work(hold, key)`, then captures on
   * success or voids on failure (rethrowing the failure), so failed work is never charged.
   *
   * **Run the work with `key.apiKey`.** When the customer stored their own provider key the hold is
   * `byok`: it moves no credits, and `withHold` reads the customer's key (once) and hands it over as
   * `key.apiKey` — work run on your own key then would be free to them and paid by you. When credits
   * pay, `key.funding` is `credits` and `key.apiKey` is the `providerKey` option (null without it:
   * use your own key).
   *
   * The capture charges the held amount, unless `work` re-states the actual work by returning a
   * plain object with only `quantity`, `usage`, `amount` and `result` keys; `result` is then what
   * `withHold` returns as `result`. Anything else `work` returns is passed through as `result`.
   *
   * @throws {InsufficientCreditsError} from placing the hold; `work` is not run.
   * @throws {InvalidStateError | PermissionDeniedError} when a byok hold's key cannot be read (removed,
   *   or BYOK forbidden since); the hold is voided and `work` is not run.
   * @example
   * ```ts
   * const { result } = await tollgate.withHold(
   *   'user_42',
   *   'fal-ai/flux/schnell',
   *   (hold, key) => callFal('fal-ai/flux/schnell', { prompt }, { apiKey: key.apiKey! }), // your fal call
   *   { providerKey: process.env.FAL_KEY }, // used when credits pay; the customer's own key otherwise
   * );
   * ```
   * @example
   * ```ts
   * const { result, capture } = await tollgate.withHold(
   *   'user_42',
   *   'openai/gpt-4o',
   *   async () => {
   *     const completion = await openai.chat.completions.create({ model: 'gpt-4o', messages });
   *     return {
   *       result: completion,
   *       usage: { input_tokens: completion.usage!.prompt_tokens, output_tokens: completion.usage!.completion_tokens },
   *     };
   *   },
   *   { usage: { input_tokens: 4000, output_tokens: 2000 }, run_id: 'session_9', max_run_cost: 100 },
   * );
   * ```
   */
  withHold<T>(
    customer: string,
    model: string,
    work: HoldWork<T>,
    options?: WithHoldOptions,
  ): Promise<WithHoldResult<WithHoldValue<T>>> {
    return runWithHold(this.holds, customer, model, work, options);
  }

  /**
   * The ledger audit (admin key): `GET /v1/admin/audit`.
   *
   * @example
   * ```ts
   * const report = await admin.audit();
   * ```
   */
  audit(options?: RequestOptions): Promise<AuditReport> {
    return fetchAudit(this.transport, options);
  }

  /**
   * Credits one call of `modelId` costs (or of `work`: a quantity of units and token counts),
   * from the server's catalog, before any referral share. `undefined` for a model not in the
   * catalog. The catalog is fetched once per client and cached; `models.list()` refreshes it.
   *
   * @example
   * ```ts
   * await tollgate.getModelCredits('fal-ai/flux/schnell'); // e.g. 0.3
   * await tollgate.getModelCredits('fal-ai/veo3.1', { quantity: 8 }); // 8 seconds of video
   * await tollgate.getModelCredits('openai/gpt-4o', { usage: { input_tokens: 1000, output_tokens: 500 } });
   * ```
   */
  async getModelCredits(modelId: string, work?: WorkEstimate): Promise<number | undefined> {
    return modelCredits(await this.loadCatalog(), modelId, work);
  }

  /**
   * Credits of the catalog's default image model (the model whose `default_for` names `image`,
   * else the first image model).
   *
   * @example
   * ```ts
   * const perImage = await tollgate.getDefaultImageModelCredits(); // e.g. 4
   * ```
   */
  async getDefaultImageModelCredits(): Promise<number | undefined> {
    return defaultModelCredits(await this.loadCatalog(), 'image');
  }

  /**
   * Credits of the catalog's default video model.
   *
   * @example
   * ```ts
   * const perClip = await tollgate.getDefaultVideoModelCredits(); // e.g. 20
   * ```
   */
  async getDefaultVideoModelCredits(): Promise<number | undefined> {
    return defaultModelCredits(await this.loadCatalog(), 'video');
  }

  /**
   * Credits for a shot's image with the project's chosen model, falling back to the default
   * image model when none is chosen or the catalog does not know it.
   *
   * @example
   * ```ts
   * const cost = await tollgate.getShotImageCredits(project.imageModel);
   * ```
   */
  async getShotImageCredits(modelId?: string): Promise<number | undefined> {
    return modelOrDefaultCredits(await this.loadCatalog(), 'image', modelId);
  }

  /**
   * Credits for a shot's video with the project's chosen model, falling back to the default
   * video model.
   *
   * @example
   * ```ts
   * const cost = await tollgate.getShotVideoCredits('fal-ai/kling-video/o3/standard/text-to-video');
   * ```
   */
  async getShotVideoCredits(modelId?: string): Promise<number | undefined> {
    return modelOrDefaultCredits(await this.loadCatalog(), 'video', modelId);
  }

  /**
   * Credits for a Director's Cut: the price of `fal-ai/ffmpeg-api/compose`, or 12 when the
   * catalog does not list it.
   *
   * @example
   * ```ts
   * const cost = await tollgate.getDirectorsCutCredits(); // 12 with the default catalog
   * ```
   */
  async getDirectorsCutCredits(): Promise<number> {
    return directorsCutCredits(await this.loadCatalog());
  }

  /**
   * Formats credits for people: `"1 credit"`, `"4,850.5 credits"`. A `bigint` is micro-credits.
   *
   * @example
   * ```ts
   * tollgate.formatCredits(await tollgate.getDirectorsCutCredits()); // "12 credits"
   * ```
   */
  formatCredits(value: number | string | bigint | Credits): string {
    return formatCredits(value);
  }

  private loadCatalog(): Promise<readonly Model[]> {
    if (this.catalog === undefined) {
      const loading = this.models.list().then((list) => list.data);
      this.catalog = loading;
      // A failed fetch is not cached: the next helper call tries again.
      loading.catch(() => {
        if (this.catalog === loading) this.catalog = undefined;
      });
    }
    return this.catalog;
  }
}
