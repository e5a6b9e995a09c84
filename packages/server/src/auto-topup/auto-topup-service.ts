/**
 * Auto top-up: when a customer's available balance falls below their threshold, one off-session
 * payment of their amount starts with their saved card, and its credits are granted when the payment
 * succeeds (Stripe's `payment_intent.succeeded`, or the simulated card in test mode) through the
 * purchase fulfilment that grants exactly once. README.md in this folder has the invariants.
 */
import type Stripe from 'stripe';
import type { CustomerRecord } from '../customers/customers-service.ts';
import type { AccountState } from '../ledger/engine.ts';
import type { Ledger, LedgerTransaction } from '../ledger/ledger.ts';
import type { TestModeCheckout } from '../payments/checkout-provider.ts';
import { centsToUsd } from '../payments/compute.ts';
import type { PurchaseRow, PurchasesService } from '../payments/purchases-service.ts';
import type { ReturnUrls } from '../payments/return-urls.ts';
import type { Clock } from '../shared/clock.ts';
import { TollgateError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { microsToCredits } from '../shared/money.ts';
import type { Database, QueryFunction } from '../store/database.ts';
import { emitEvent } from '../webhooks/events.ts';
import { afterFailure, decideStart, MAXIMUM_FAILURES, monthStart } from './compute.ts';

/** The simulated saved cards of test mode: one that pays, one that is declined. */
export const TEST_CARDS = {
  succeeds: 'pm_test_tollgate_card',
  declines: 'pm_test_tollgate_declined',
} as const;

/** How old an unconfirmed payment start must be before the background pass asks Stripe again. */
const RESUME_AFTER_MILLISECONDS = 60_000;
/**
 * Stripe keeps an idempotency key for 24 hours: past this, asking again could make a second payment, so
 * an attempt still unanswered is failed instead (a payment Stripe did make is still granted when its
 * webhook comes: fulfilment grants a purchase whatever became of the attempt).
 */
const RESUME_UNTIL_MILLISECONDS = 23 * 60 * 60_000;
/**
 * A payment Stripe made whose webhook has not come after this long is asked for by id: Stripe retries
 * webhooks for days, and until one lands the customer would have no top-up at all.
 */
const RECONCILE_AFTER_MILLISECONDS = 10 * 60_000;

/** Metadata naming the attempt on a PaymentIntent and the customer on a setup Checkout Session. */
const ATTEMPT_METADATA = 'tollgate_auto_topup_attempt';
const SETUP_METADATA = 'tollgate_auto_topup_customer';

export interface AutoTopupRow {
  customer_id: string;
  app_id: string | null;
  threshold_micros: bigint;
  amount_cents: bigint;
  monthly_cap_cents: bigint;
  provider: 'stripe' | 'test';
  stripe_customer_id: string | null;
  payment_method_id: string | null;
  enabled: boolean;
  failures: number;
  disabled_reason: string | null;
  in_flight_attempt_id: string | null;
  crossings: bigint;
  retry_after: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface AttemptRow {
  id: string;
  customer_id: string;
  crossing: bigint;
  purchase_id: string;
  amount_cents: bigint;
  credits_micros: bigint;
  status: 'pending' | 'succeeded' | 'failed';
  payment_intent_id: string | null;
  failure_message: string | null;
  created_at: Date;
  finished_at: Date | null;
}

export interface AutoTopupSettings {
  thresholdMicros: bigint;
  amountCents: bigint;
  monthlyCapCents: bigint;
}

export interface AutoTopupDependencies {
  db: Database;
  ledger: Ledger;
  purchases: PurchasesService;
  clock: Clock;
  /** Stripe's client when Stripe is configured; null in test mode. */
  stripe: Stripe | null;
  /** The test-mode provider (its mode says whether test mode may sell here); null with Stripe. */
  testMode: TestModeCheckout | null;
  publicUrl: () => string;
  returnUrls: ReturnUrls;
  onError: (error: unknown) => void;
}

export class AutoTopupService {
  /** Thresholds of the enabled settings this server knows, so a committed batch is checked without a query. */
  private readonly watched = new Map<string, bigint>();
  private readonly checking = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: AutoTopupDependencies) {
    deps.ledger.onCommitted((accounts) => this.onCommitted(accounts));
  }

  private get provider(): 'stripe' | 'test' {
    return this.deps.stripe ? 'stripe' : 'test';
  }

  // ------------------------------------------------------------------------------------- settings

  async get(customerId: string): Promise<AutoTopupRow | null> {
    const [row] = await this.deps.db.query<AutoTopupRow>('select * from auto_topups where customer_id = $1', [
      customerId,
    ]);
    return row ?? null;
  }

  /**
   * Sets (or replaces) the settings and enables them again, failures forgotten. In test mode a customer
   * without a saved card gets the simulated one that pays.
   */
  async put(customer: CustomerRecord, settings: AutoTopupSettings): Promise<AutoTopupRow> {
    // The amount must buy credits as any purchase must (minimum, maximum): priced now, refused now.
    this.deps.purchases.price({ amount_usd: centsToUsd(settings.amountCents) });
    if (settings.monthlyCapCents < settings.amountCents) {
      throw new TollgateError('invalid_request', 'monthly_cap_usd must be at least amount_usd', {
        param: 'monthly_cap_usd',
      });
    }
    if (this.provider === 'test') this.deps.testMode?.assertCanSell();
    const now = this.deps.clock.now().toISOString();
    const testCard = this.provider === 'test' ? TEST_CARDS.succeeds : null;
    const [row] = await this.deps.db.query<AutoTopupRow>(
      `insert into auto_topups (customer_id, app_id, threshold_micros, amount_cents, monthly_cap_cents, provider,
         payment_method_id, created_at, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $8)
       on conflict (customer_id) do update set threshold_micros = excluded.threshold_micros,
         amount_cents = excluded.amount_cents, monthly_cap_cents = excluded.monthly_cap_cents,
         enabled = true, failures = 0, disabled_reason = null, retry_after = null, updated_at = excluded.updated_at,
         payment_method_id = case when auto_topups.provider = excluded.provider
           then coalesce(auto_topups.payment_method_id, excluded.payment_method_id) else excluded.payment_method_id end,
         stripe_customer_id = case when auto_topups.provider = excluded.provider
           then auto_topups.stripe_customer_id end,
         provider = excluded.provider
       returning *`,
      [
        customer.id,
        customer.appId,
        settings.thresholdMicros.toString(),
        settings.amountCents.toString(),
        settings.monthlyCapCents.toString(),
        this.provider,
        testCard,
        now,
      ],
    );
    this.watch(row!);
    // Already below the new threshold: the next movement would notice, but so does this.
    this.nudge(customer.id);
    return row!;
  }

  async remove(customerId: string): Promise<boolean> {
    const rows = await this.deps.db.query(
      'delete from auto_topups where customer_id = $1 returning customer_id',
      [customerId],
    );
    this.watched.delete(customerId);
    return rows.length > 0;
  }

  /**
   * Saving a card. Stripe: a setup-mode Checkout Session whose completion (`checkout.session.completed`)
   * stores the payment method. Test mode: the simulated card, saved at once (`declines` for one that is
   * refused, to try the failure path).
   */
  async startSetup(
    customer: CustomerRecord,
    input: { success_url?: string; cancel_url?: string; test_card?: 'succeeds' | 'declines' },
  ): Promise<{ url: string | null; saved: boolean }> {
    const settings = await this.get(customer.id);
    if (!settings) {
      throw new TollgateError('invalid_state', 'Set the auto top-up (PUT …/auto-topup) before saving a card');
    }
    // No open redirect: the pages Stripe returns to are this server's or the app's return origins.
    await this.deps.returnUrls.assertAllowed(customer.appId, {
      success_url: input.success_url,
      cancel_url: input.cancel_url,
    });
    const stripe = this.deps.stripe;
    if (!stripe) {
      this.deps.testMode?.assertCanSell();
      await this.deps.db.query(
        'update auto_topups set payment_method_id = $2, updated_at = $3 where customer_id = $1',
        [customer.id, TEST_CARDS[input.test_card ?? 'succeeds'], this.deps.clock.now().toISOString()],
      );
      return { url: null, saved: true };
    }
    if (input.test_card !== undefined) {
      throw new TollgateError('invalid_request', 'test_card is for test mode only', { param: 'test_card' });
    }
    const stripeCustomer =
      settings.stripe_customer_id ??
      (
        await stripe.customers.create(
          { email: customer.email ?? undefined, metadata: { tollgate_customer_id: customer.id } },
          { idempotencyKey: `auto-topup-customer:${customer.id}` },
        )
      ).id;
    if (!settings.stripe_customer_id) {
      await this.deps.db.query('update auto_topups set stripe_customer_id = $2 where customer_id = $1', [
        customer.id,
        stripeCustomer,
      ]);
    }
    const metadata = { [SETUP_METADATA]: customer.id };
    const session = await stripe.checkout.sessions.create({
      mode: 'setup',
      currency: 'usd',
      customer: stripeCustomer,
      metadata,
      setup_intent_data: { metadata },
      success_url: input.success_url ?? `${this.deps.publicUrl()}/dashboard/?auto_topup=saved`,
      cancel_url: input.cancel_url ?? `${this.deps.publicUrl()}/dashboard/?auto_topup=cancelled`,
    });
    return { url: session.url ?? null, saved: false };
  }

  /** `checkout.session.completed` of a setup session: the card it saved becomes the customer's. */
  async onSetupCompleted(session: Stripe.Checkout.Session): Promise<string> {
    const customerId = session.metadata?.[SETUP_METADATA];
    if (!customerId) return 'ignored: not an auto top-up setup';
    const stripe = this.deps.stripe;
    if (!stripe) return 'ignored: Stripe is not configured';
    const setupIntentId =
      typeof session.setup_intent === 'string' ? session.setup_intent : session.setup_intent?.id;
    if (!setupIntentId) return 'ignored: no setup intent';
    const setupIntent = await stripe.setupIntents.retrieve(setupIntentId);
    const paymentMethod =
      typeof setupIntent.payment_method === 'string'
        ? setupIntent.payment_method
        : (setupIntent.payment_method?.id ?? null);
    if (!paymentMethod) return 'ignored: no payment method';
    const stripeCustomer = typeof session.customer === 'string' ? session.customer : session.customer?.id;
    const [row] = await this.deps.db.query<AutoTopupRow>(
      `update auto_topups set payment_method_id = $2, stripe_customer_id = coalesce($3, stripe_customer_id),
         updated_at = $4 where customer_id = $1 and provider = 'stripe' returning *`,
      [customerId, paymentMethod, stripeCustomer ?? null, this.deps.clock.now().toISOString()],
    );
    if (!row) return 'ignored: no auto top-up for the customer';
    this.watch(row);
    this.nudge(customerId);
    return 'payment method saved';
  }

  async spentThisMonthCents(
    customerId: string,
    query: QueryFunction = this.deps.db.query.bind(this.deps.db),
  ) {
    const [row] = await query<{ spent: string | null }>(
      `select sum(amount_cents)::text as spent from auto_topup_attempts
       where customer_id = $1 and created_at >= $2 and status <> 'failed'`,
      [customerId, monthStart(this.deps.clock.now()).toISOString()],
    );
    return BigInt(row?.spent ?? '0');
  }

  async attempts(customerId: string, limit = 20): Promise<AttemptRow[]> {
    return this.deps.db.query<AttemptRow>(
      'select * from auto_topup_attempts where customer_id = $1 order by crossing desc limit $2',
      [customerId, limit],
    );
  }

  // -------------------------------------------------------------------------------------- trigger

  /**
   * Every committed ledger batch: a watched customer whose available balance is now below the threshold
   * gets a check (one at a time per customer on this server; the claim in the database covers the rest).
   */
  private onCommitted(accounts: readonly AccountState[]): void {
    for (const account of accounts) {
      const threshold = this.watched.get(account.id);
      if (threshold !== undefined && account.balance - account.held < threshold) this.nudge(account.id);
    }
  }

  /** Checks a customer soon, once: a check already running for them is enough. */
  nudge(customerId: string): void {
    if (this.checking.has(customerId)) return;
    const check = this.check(customerId)
      .catch((error) => this.deps.onError(error))
      .finally(() => this.checking.delete(customerId));
    this.checking.set(customerId, check);
  }

  /** Waits for the checks this server is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.checking.size > 0) await Promise.allSettled([...this.checking.values()]);
  }

  /**
   * Reloads the enabled settings into the watch list (another server may have changed them) and checks
   * every customer below their threshold: the background pass, for balances lowered elsewhere.
   */
  async scan(): Promise<void> {
    const rows = await this.deps.db.query<AutoTopupRow & { available_micros: bigint }>(
      `select a.*, c.balance_micros - c.held_micros as available_micros
       from auto_topups a join customers c on c.id = a.customer_id where a.enabled`,
      [],
    );
    await this.resume();
    await this.reconcile();
    this.watched.clear();
    for (const row of rows) {
      this.watch(row);
      if (row.in_flight_attempt_id === null && BigInt(row.available_micros) < BigInt(row.threshold_micros))
        this.nudge(row.customer_id);
    }
  }

  /**
   * Attempts claimed at least `RESUME_AFTER_MILLISECONDS` ago whose payment was never confirmed started
   * (the server stopped between the claim and Stripe's answer, or Stripe did not answer): asked again
   * with the same idempotency key, so Stripe answers with the payment it made, or makes it once — until
   * `RESUME_UNTIL_MILLISECONDS`, after which the attempt fails instead.
   */
  async resume(): Promise<number> {
    const before = new Date(this.deps.clock.now().getTime() - RESUME_AFTER_MILLISECONDS).toISOString();
    const rows = await this.deps.db.query<AttemptRow & { settings: AutoTopupRow }>(
      `select t.*, to_jsonb(a) as settings from auto_topup_attempts t
         join auto_topups a on a.customer_id = t.customer_id and a.in_flight_attempt_id = t.id
       where t.status = 'pending' and t.payment_intent_id is null and t.created_at < $1`,
      [before],
    );
    const expired = this.deps.clock.now().getTime() - RESUME_UNTIL_MILLISECONDS;
    for (const row of rows) {
      const { settings, ...attempt } = row;
      const outcome =
        new Date(attempt.created_at).getTime() < expired
          ? this.onPaymentFailed(
              attempt.id,
              'Stripe did not answer for 23 hours; not asked again, so that no second payment can be made',
            )
          : this.pay(attempt, settings);
      await outcome.catch((error) => this.deps.onError(error));
    }
    return rows.length;
  }

  /**
   * Attempts whose PaymentIntent exists but whose outcome never arrived (a webhook endpoint down, an
   * event lost): Stripe is asked for the PaymentIntent and its final state is applied through the same
   * paths the webhook takes, so a webhook that comes later finds the attempt settled and changes nothing.
   * A payment still processing is left for the next pass. Answers how many attempts it settled.
   */
  async reconcile(): Promise<number> {
    const stripe = this.deps.stripe;
    if (!stripe) return 0;
    const before = new Date(this.deps.clock.now().getTime() - RECONCILE_AFTER_MILLISECONDS).toISOString();
    const rows = await this.deps.db.query<AttemptRow>(
      `select t.* from auto_topup_attempts t
         join auto_topups a on a.customer_id = t.customer_id and a.in_flight_attempt_id = t.id
       where t.status = 'pending' and t.payment_intent_id is not null and t.created_at < $1`,
      [before],
    );
    let settled = 0;
    for (const attempt of rows) {
      try {
        const paymentIntent = await stripe.paymentIntents.retrieve(attempt.payment_intent_id!);
        // Only the PaymentIntent this attempt made (its metadata names it) may settle it.
        if (paymentIntent.metadata?.[ATTEMPT_METADATA] !== attempt.id) continue;
        const final =
          paymentIntent.status === 'succeeded'
            ? 'succeeded'
            : paymentIntent.status === 'canceled' || paymentIntent.status === 'requires_payment_method'
              ? 'failed'
              : null;
        if (!final) continue;
        await this.settle(attempt.id, paymentIntent, final, null);
        settled += 1;
      } catch (error) {
        this.deps.onError(error);
      }
    }
    return settled;
  }

  private watch(row: AutoTopupRow): void {
    if (row.enabled && row.payment_method_id) this.watched.set(row.customer_id, BigInt(row.threshold_micros));
    else this.watched.delete(row.customer_id);
  }

  /**
   * Claims the crossing and starts the payment. The claim is one transaction under the setting's row
   * lock: enabled, nothing in flight, below the threshold, within the month's cap → an attempt (unique
   * per crossing), its pending purchase, and `in_flight_attempt_id` set. Whoever loses the race finds
   * the attempt in flight and does nothing.
   */
  async check(customerId: string): Promise<AttemptRow | null> {
    const claimed = await this.deps.db.transaction(async (query) => {
      const [row] = await query<AutoTopupRow & { available_micros: bigint }>(
        `select a.*, c.balance_micros - c.held_micros as available_micros
         from auto_topups a join customers c on c.id = a.customer_id
         where a.customer_id = $1 and a.enabled and a.in_flight_attempt_id is null
           and a.payment_method_id is not null
         for update of a`,
        [customerId],
      );
      if (!row) return null;
      const amountCents = BigInt(row.amount_cents);
      const decision = decideStart({
        availableMicros: BigInt(row.available_micros),
        thresholdMicros: BigInt(row.threshold_micros),
        amountCents,
        monthlyCapCents: BigInt(row.monthly_cap_cents),
        spentThisMonthCents: await this.spentThisMonthCents(customerId, query),
        retryAfter: row.retry_after ? new Date(row.retry_after) : null,
        now: this.deps.clock.now(),
      });
      if (decision !== 'start') return null;
      const priced = this.deps.purchases.price({ amount_usd: centsToUsd(amountCents) });
      const now = this.deps.clock.now().toISOString();
      const crossing = BigInt(row.crossings) + 1n;
      const attemptId = newId('atu', 12);
      const purchaseId = newId('pur', 12);
      await query(
        `insert into purchases (id, customer_id, app_id, kind, provider, amount_cents, credits_micros,
           bonus_micros, status, created_at, currency)
         values ($1, $2, $3, 'credits', $4, $5, $6, $7, 'pending', $8, 'usd')`,
        [
          purchaseId,
          customerId,
          row.app_id,
          row.provider,
          amountCents.toString(),
          priced.creditsMicros.toString(),
          priced.bonusMicros.toString(),
          now,
        ],
      );
      const [attempt] = await query<AttemptRow>(
        `insert into auto_topup_attempts (id, customer_id, crossing, purchase_id, amount_cents, credits_micros,
           status, created_at)
         values ($1, $2, $3, $4, $5, $6, 'pending', $7) returning *`,
        [
          attemptId,
          customerId,
          crossing.toString(),
          purchaseId,
          amountCents.toString(),
          priced.creditsMicros.toString(),
          now,
        ],
      );
      await query(
        'update auto_topups set in_flight_attempt_id = $2, crossings = $3, updated_at = $4 where customer_id = $1',
        [customerId, attemptId, crossing.toString(), now],
      );
      return { attempt: attempt!, settings: row };
    });
    if (!claimed) return null;
    await this.pay(claimed.attempt, claimed.settings);
    return claimed.attempt;
  }

  /** Starts the claimed attempt's payment off-session with the saved card. */
  private async pay(attempt: AttemptRow, settings: AutoTopupRow): Promise<void> {
    const stripe = this.deps.stripe;
    if (!stripe || settings.provider !== 'stripe') {
      // The simulated card completes the payment through the path a webhook takes.
      if (settings.payment_method_id === TEST_CARDS.declines) {
        await this.onPaymentFailed(attempt.id, 'Your card was declined (simulated test card).');
      } else {
        await this.onPaymentSucceeded(attempt.id, null, Number(attempt.amount_cents));
      }
      return;
    }
    try {
      const paymentIntent = await stripe.paymentIntents.create(
        {
          amount: Number(attempt.amount_cents),
          currency: 'usd',
          customer: settings.stripe_customer_id ?? undefined,
          payment_method: settings.payment_method_id!,
          off_session: true,
          confirm: true,
          description: `Auto top-up: ${microsToCredits(BigInt(attempt.credits_micros))} credits`,
          metadata: {
            [ATTEMPT_METADATA]: attempt.id,
            tollgate_purchase_id: attempt.purchase_id,
            tollgate_customer_id: attempt.customer_id,
          },
        },
        // One attempt, one payment, whatever the retries.
        { idempotencyKey: `auto-topup:${attempt.id}` },
      );
      await this.recordPaymentIntent(attempt, paymentIntent.id);
    } catch (error) {
      const { raw, statusCode } = error as {
        raw?: { payment_intent?: { id?: string } };
        statusCode?: number;
      };
      // No answer, or a server error after the SDK's retries: the payment may have happened. The attempt
      // stays in flight and the background pass asks again under the same idempotency key (`resume`),
      // never a new attempt that could pay twice.
      if (statusCode === undefined || statusCode >= 500 || statusCode === 409 || statusCode === 429)
        throw error;
      // A declined off-session payment answers with an error (and Stripe sends payment_failed too):
      // whichever arrives first fails the attempt, the other finds it failed.
      if (raw?.payment_intent?.id) await this.recordPaymentIntent(attempt, raw.payment_intent.id);
      await this.onPaymentFailed(attempt.id, (error as Error).message);
    }
  }

  private async recordPaymentIntent(attempt: AttemptRow, paymentIntentId: string): Promise<void> {
    await this.deps.db.query(
      'update auto_topup_attempts set payment_intent_id = $3 where id = $1 and customer_id = $2',
      [attempt.id, attempt.customer_id, paymentIntentId],
    );
    await this.deps.db.query(
      'update purchases set payment_intent_id = coalesce(payment_intent_id, $3) where id = $1 and customer_id = $2',
      [attempt.purchase_id, attempt.customer_id, paymentIntentId],
    );
  }

  private async attemptById(attemptId: string): Promise<AttemptRow | null> {
    const [row] = await this.deps.db.query<AttemptRow>('select * from auto_topup_attempts where id = $1', [
      attemptId,
    ]);
    return row ?? null;
  }

  // -------------------------------------------------------------------------------------- outcome

  /** `payment_intent.succeeded` of an auto top-up: as a webhook (`event`) or from test mode's simulated card. */
  async onPaymentSucceeded(
    attemptId: string,
    event: { id: string; type: string; paymentIntent: string } | null,
    amountCents: number,
  ): Promise<string> {
    const attempt = await this.attemptById(attemptId);
    if (!attempt) return 'ignored: unknown auto top-up';
    if (BigInt(amountCents) !== BigInt(attempt.amount_cents)) return 'ignored: amount mismatch';
    const purchase = await this.deps.purchases.byId(attempt.purchase_id);
    if (!purchase) return 'ignored: unknown purchase';
    const result = await this.deps.purchases.complete(
      purchase,
      event ? { id: event.id, type: event.type, paymentIntent: event.paymentIntent } : undefined,
      (transaction, row, grantId) => this.recordSuccess(transaction, attempt, row, grantId),
    );
    if (!result.replayed) this.nudge(attempt.customer_id);
    return result.replayed ? 'already fulfilled' : 'fulfilled';
  }

  /** In the fulfilment's transaction: the attempt succeeded, nothing in flight, failures forgotten, the event. */
  private async recordSuccess(
    transaction: LedgerTransaction,
    attempt: AttemptRow,
    purchase: PurchaseRow,
    grantId: string,
  ): Promise<void> {
    const now = this.deps.clock.now();
    await transaction.query(
      `update auto_topup_attempts set status = 'succeeded', finished_at = $3, failure_message = null
       where id = $1 and customer_id = $2`,
      [attempt.id, attempt.customer_id, now.toISOString()],
    );
    await transaction.query(
      `update auto_topups set in_flight_attempt_id = null, failures = 0, retry_after = null, updated_at = $3
       where customer_id = $1 and in_flight_attempt_id = $2`,
      [attempt.customer_id, attempt.id, now.toISOString()],
    );
    await emitEvent(
      transaction,
      [
        {
          customerId: attempt.customer_id,
          type: 'auto_topup.succeeded',
          data: {
            attempt: attempt.id,
            purchase: purchase.id,
            grant: grantId,
            amount_usd: centsToUsd(BigInt(attempt.amount_cents)),
            credits: microsToCredits(BigInt(purchase.credits_micros)),
          },
        },
      ],
      now,
    );
  }

  /**
   * A failed payment (`payment_intent.payment_failed`, a decline answered at once, the declining test
   * card): once per attempt, the purchase fails, one more failure is counted (the setting disables itself
   * at the limit) and `auto_topup.failed` is emitted, all in one transaction.
   */
  async onPaymentFailed(attemptId: string, message: string): Promise<string> {
    const attempt = await this.attemptById(attemptId);
    if (!attempt) return 'ignored: unknown auto top-up';
    const now = this.deps.clock.now();
    const outcome = await this.deps.db.transaction(async (query) => {
      const [failed] = await query<AttemptRow>(
        `update auto_topup_attempts set status = 'failed', finished_at = $3, failure_message = $4
         where id = $1 and customer_id = $2 and status = 'pending' returning *`,
        [attempt.id, attempt.customer_id, now.toISOString(), message.slice(0, 500)],
      );
      if (!failed) return null;
      await query(
        `update purchases set status = 'failed', failed_at = $3 where id = $1 and customer_id = $2 and status = 'pending'`,
        [attempt.purchase_id, attempt.customer_id, now.toISOString()],
      );
      const [settings] = await query<AutoTopupRow>(
        'select * from auto_topups where customer_id = $1 and in_flight_attempt_id = $2 for update',
        [attempt.customer_id, attempt.id],
      );
      const next = afterFailure(settings?.failures ?? 0, now);
      if (settings) {
        await query(
          `update auto_topups set in_flight_attempt_id = null, failures = $2, retry_after = $3,
             enabled = $4, disabled_reason = $5, updated_at = $6
           where customer_id = $1`,
          [
            attempt.customer_id,
            next.failures,
            next.retryAfter.toISOString(),
            !next.disabled,
            next.disabled ? 'payment_failed' : null,
            now.toISOString(),
          ],
        );
      }
      await emitEvent(
        { query },
        [
          {
            customerId: attempt.customer_id,
            type: 'auto_topup.failed',
            data: {
              attempt: attempt.id,
              purchase: attempt.purchase_id,
              amount_usd: centsToUsd(BigInt(attempt.amount_cents)),
              reason: 'payment_failed',
              message: message.slice(0, 500),
              failures: next.failures,
              disabled: next.disabled,
            },
          },
        ],
        now,
      );
      return next;
    });
    if (!outcome) return 'already failed: nothing changed';
    if (outcome.disabled) this.watched.delete(attempt.customer_id);
    return outcome.disabled ? `failed; disabled after ${MAXIMUM_FAILURES} failures` : 'failed';
  }

  /** The Stripe events of an auto top-up's PaymentIntent; other PaymentIntents are not ours to handle here. */
  async onPaymentIntent(paymentIntent: Stripe.PaymentIntent, event: Stripe.Event): Promise<string> {
    const attemptId = paymentIntent.metadata?.[ATTEMPT_METADATA];
    if (!attemptId) return `ignored: ${event.type}`;
    return this.settle(
      attemptId,
      paymentIntent,
      event.type === 'payment_intent.succeeded' ? 'succeeded' : 'failed',
      { id: event.id, type: event.type, paymentIntent: paymentIntent.id },
    );
  }

  /**
   * An attempt's PaymentIntent reached its end, told by its webhook (`event`) or found by `reconcile`:
   * the same fulfilment or failure either way, so whichever comes second changes nothing.
   */
  private settle(
    attemptId: string,
    paymentIntent: Stripe.PaymentIntent,
    outcome: 'succeeded' | 'failed',
    event: { id: string; type: string; paymentIntent: string } | null,
  ): Promise<string> {
    if (outcome === 'succeeded') {
      return this.onPaymentSucceeded(attemptId, event, paymentIntent.amount_received || paymentIntent.amount);
    }
    return this.onPaymentFailed(
      attemptId,
      paymentIntent.last_payment_error?.message ?? `The payment was not completed (${paymentIntent.status})`,
    );
  }
}

export function autoTopupWire(row: AutoTopupRow, spentThisMonthCents: bigint) {
  return {
    object: 'auto_topup',
    customer: row.customer_id,
    enabled: row.enabled,
    threshold: microsToCredits(BigInt(row.threshold_micros)),
    amount_usd: centsToUsd(BigInt(row.amount_cents)),
    monthly_cap_usd: centsToUsd(BigInt(row.monthly_cap_cents)),
    spent_this_month_usd: centsToUsd(spentThisMonthCents),
    provider: row.provider,
    payment_method: row.payment_method_id,
    failures: row.failures,
    disabled_reason: row.disabled_reason,
    in_flight_attempt: row.in_flight_attempt_id,
    retry_after: row.retry_after ? new Date(row.retry_after).toISOString() : null,
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

export function attemptWire(row: AttemptRow) {
  return {
    id: row.id,
    object: 'auto_topup.attempt',
    status: row.status,
    amount_usd: centsToUsd(BigInt(row.amount_cents)),
    credits: microsToCredits(BigInt(row.credits_micros)),
    purchase: row.purchase_id,
    payment_intent: row.payment_intent_id,
    failure_message: row.failure_message,
    created_at: new Date(row.created_at).toISOString(),
    finished_at: row.finished_at ? new Date(row.finished_at).toISOString() : null,
  };
}
