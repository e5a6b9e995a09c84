/**
 * Plans with a monthly allowance (seed 003). Each period grants an `allowance` grant that expires at the
 * period's end and is spent before any purchased credit. Renewal grants the next period's allowance
 * exactly once (ledger idempotency key per subscription and period start). Upgrades apply at once with a
 * prorated extra allowance; downgrades and cancellations apply at the period end. Credits bought
 * separately are untouched by any of this.
 *
 * With Stripe, Stripe takes the money (Checkout in subscription mode, invoices for upgrades and
 * renewals) and tells us by webhook. In test mode a plan is never free either: a start or an upgrade is
 * a `subscription_charges` row paid on the test checkout page, and only the payment activates the plan
 * or the upgrade (in one ledger transaction with its allowance); each test-mode renewal records its
 * charge too.
 */
import type Stripe from 'stripe';
import type { Plan, TollgateConfig } from '../config/types.ts';
import type { CustomerRecord } from '../customers/customers-service.ts';
import { type Ledger, type LedgerTransaction, unwrap } from '../ledger/ledger.ts';
import { DEFAULT_PRIORITY } from '../ledger/spend-order.ts';
import type { CheckoutProvider } from '../payments/checkout-provider.ts';
import { addIntervals, centsToUsd, proratedAllowance, proratedChargeCents } from '../payments/compute.ts';
import type { ReturnUrls } from '../payments/return-urls.ts';
import type { Clock } from '../shared/clock.ts';
import { TollgateError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { microsToCredits } from '../shared/money.ts';
import type { Database, QueryFunction } from '../store/database.ts';
import { type EventType, emitEvent } from '../webhooks/events.ts';

interface SubscriptionRow {
  id: string;
  customer_id: string;
  plan_code: string;
  status: 'incomplete' | 'active' | 'past_due' | 'canceled';
  provider: 'stripe' | 'test';
  provider_subscription_id: string | null;
  current_period_start: Date | null;
  current_period_end: Date | null;
  pending_plan_code: string | null;
  cancel_at_period_end: boolean;
}

export interface SubscriptionChargeRow {
  id: string;
  subscription_id: string;
  customer_id: string;
  kind: 'start' | 'upgrade' | 'renewal';
  plan_code: string;
  from_plan_code: string | null;
  amount_cents: bigint;
  allowance_micros: bigint;
  period_start: Date | null;
  period_end: Date | null;
  status: 'pending' | 'paid' | 'cancelled' | 'failed';
  provider_session_id: string | null;
  success_url: string | null;
  cancel_url: string | null;
  created_at: Date;
  paid_at: Date | null;
}

type ReturnUrlInput = { success_url?: string; cancel_url?: string };

export class SubscriptionsService {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly config: TollgateConfig,
    private readonly checkout: CheckoutProvider,
    private readonly clock: Clock,
    private readonly publicUrl: () => string,
    private readonly stripe: Stripe | null,
    private readonly returnUrls: ReturnUrls,
  ) {}

  plan(code: string): Plan {
    const plan = this.config.plans.find((candidate) => candidate.code === code);
    if (!plan) throw new TollgateError('invalid_request', `Unknown plan: ${code}`, { param: 'plan' });
    return plan;
  }

  private async live(customerId: string): Promise<SubscriptionRow | null> {
    const rows = await this.db.query<SubscriptionRow>(
      `select * from subscriptions where customer_id = $1 and status in ('active', 'past_due') limit 1`,
      [customerId],
    );
    return rows[0] ?? null;
  }

  /** The customer's subscription for the wire (`null` without one). */
  async view(customerId: string) {
    const row = await this.live(customerId);
    if (!row) return null;
    const plan = this.config.plans.find((candidate) => candidate.code === row.plan_code);
    const [allowance] = await this.db.query<{ remaining: bigint | null }>(
      `select sum(remaining_micros) as remaining from grants
       where customer_id = $1 and source = 'allowance' and (expires_at is null or expires_at > $2::timestamptz)`,
      [customerId, this.clock.now().toISOString()],
    );
    return {
      id: row.id,
      object: 'subscription',
      plan: row.plan_code,
      plan_name: plan?.name ?? row.plan_code,
      status: row.status,
      price_usd: plan ? centsToUsd(plan.priceCents) : null,
      allowance: plan ? microsToCredits(plan.allowanceMicros) : null,
      allowance_remaining: microsToCredits(BigInt(allowance?.remaining ?? 0n)),
      current_period_start: row.current_period_start
        ? new Date(row.current_period_start).toISOString()
        : null,
      current_period_end: row.current_period_end ? new Date(row.current_period_end).toISOString() : null,
      cancel_at_period_end: row.cancel_at_period_end,
      pending_plan: row.pending_plan_code,
      provider: row.provider,
    };
  }

  async start(customer: CustomerRecord, planCode: string, urls: ReturnUrlInput) {
    const plan = this.plan(planCode);
    this.checkout.assertCanSell();
    await this.returnUrls.assertAllowed(customer.appId, {
      success_url: urls.success_url,
      cancel_url: urls.cancel_url,
    });
    if (await this.live(customer.id)) {
      throw new TollgateError(
        'invalid_state',
        'The customer already has a subscription; change its plan instead',
      );
    }
    const id = newId('sub', 12);
    const now = this.clock.now();
    const base = this.publicUrl();
    const successUrl = urls.success_url ?? `${base}/dashboard/?subscription=success`;
    const cancelUrl = urls.cancel_url ?? `${base}/dashboard/?subscription=cancelled`;
    await this.db.query(
      `insert into subscriptions (id, customer_id, plan_code, status, provider, created_at, updated_at)
       values ($1, $2, $3, 'incomplete', $4, $5, $5)`,
      [id, customer.id, plan.code, this.checkout.name, now.toISOString()],
    );
    if (this.checkout.name === 'test') {
      // The plan starts when the test page is paid (payTestCharge), not before.
      const checkout = await this.openTestCharge(customer, {
        subscriptionId: id,
        kind: 'start',
        plan,
        fromPlanCode: null,
        amountCents: plan.priceCents,
        allowanceMicros: plan.allowanceMicros,
        periodStart: null,
        periodEnd: null,
        productName: `${plan.name} plan`,
        successUrl,
        cancelUrl,
      });
      return { subscription: null, checkout };
    }
    const session = await this.checkout.createSession({
      reference: id,
      customerId: customer.id,
      mode: 'subscription',
      amountCents: plan.priceCents,
      currency: 'usd',
      productName: `${plan.name} plan`,
      successUrl,
      cancelUrl,
      email: customer.email,
      metadata: { tollgate_subscription_id: id, tollgate_customer_id: customer.id, tollgate_plan: plan.code },
    });
    await this.db.query('update subscriptions set provider_session_id = $2 where id = $1', [id, session.id]);
    return {
      subscription: null,
      checkout: { id: session.id, url: session.url, client_secret: session.clientSecret },
    };
  }

  /** Upgrade now (prorated extra allowance); downgrade at the period end. */
  async change(customer: CustomerRecord, planCode: string, urls: ReturnUrlInput = {}) {
    const row = await this.live(customer.id);
    if (!row || !row.current_period_start || !row.current_period_end) {
      throw new TollgateError('invalid_state', 'The customer has no active subscription');
    }
    const current = this.plan(row.plan_code);
    const next = this.plan(planCode);
    const now = this.clock.now();
    const periodStart = new Date(row.current_period_start);
    const periodEnd = new Date(row.current_period_end);
    if (row.cancel_at_period_end) {
      throw new TollgateError(
        'invalid_state',
        'The plan is cancelled at the end of its period; resume it before changing plans',
      );
    }
    if (next.code === current.code) {
      if (row.pending_plan_code) await this.setStripePrice(row, current, 'none'); // a pending downgrade undone
      await this.db.query(
        'update subscriptions set pending_plan_code = null, updated_at = $2 where id = $1',
        [row.id, now.toISOString()],
      );
      return { subscription: await this.view(customer.id), change: 'none' };
    }
    if (next.allowanceMicros > current.allowanceMicros || next.priceCents > current.priceCents) {
      const extra = proratedAllowance({
        oldAllowanceMicros: current.allowanceMicros,
        newAllowanceMicros: next.allowanceMicros,
        periodStart,
        periodEnd,
        now,
      });
      const chargeCents = proratedChargeCents({
        oldPriceCents: current.priceCents,
        newPriceCents: next.priceCents,
        periodStart,
        periodEnd,
        now,
      });
      if (row.provider === 'test' && chargeCents > 0n) {
        // Test mode charges the prorated difference on the test page; the upgrade applies when it is paid.
        this.checkout.assertCanSell();
        await this.returnUrls.assertAllowed(customer.appId, {
          success_url: urls.success_url,
          cancel_url: urls.cancel_url,
        });
        const base = this.publicUrl();
        const checkout = await this.openTestCharge(customer, {
          subscriptionId: row.id,
          kind: 'upgrade',
          plan: next,
          fromPlanCode: current.code,
          amountCents: chargeCents,
          allowanceMicros: extra,
          periodStart,
          periodEnd,
          productName: `Upgrade to the ${next.name} plan (prorated)`,
          successUrl: urls.success_url ?? `${base}/dashboard/?subscription=success`,
          cancelUrl: urls.cancel_url ?? `${base}/dashboard/?subscription=cancelled`,
        });
        return {
          subscription: await this.view(customer.id),
          change: 'upgrade',
          status: 'awaiting_payment',
          prorated_allowance: microsToCredits(extra),
          prorated_charge_usd: Number(chargeCents) / 100,
          checkout,
        };
      }
      // A pending downgrade already lowered Stripe's price: restore it so that Stripe prorates from the current plan.
      if (row.pending_plan_code) await this.setStripePrice(row, current, 'none');
      await this.setStripePrice(row, next, 'always_invoice');
      await this.changed(
        'update subscriptions set plan_code = $2, pending_plan_code = null, updated_at = $3 where id = $1',
        [row.id, next.code, now.toISOString()],
        'subscription.updated',
      );
      if (extra > 0n) {
        await this.grantAllowance(
          row.id,
          customer.id,
          extra,
          now,
          periodEnd,
          `upgrade:${periodStart.toISOString()}:${next.code}`,
        );
      }
      return {
        subscription: await this.view(customer.id),
        change: 'upgrade',
        prorated_allowance: microsToCredits(extra),
        prorated_charge_usd: row.provider === 'test' ? Number(chargeCents) / 100 : null,
      };
    }
    // Stripe bills the lower price from the next invoice on; the period already paid is not prorated.
    await this.setStripePrice(row, next, 'none');
    await this.changed(
      'update subscriptions set pending_plan_code = $2, updated_at = $3 where id = $1',
      [row.id, next.code, now.toISOString()],
      'subscription.updated',
    );
    return {
      subscription: await this.view(customer.id),
      change: 'downgrade',
      effective_at: periodEnd.toISOString(),
    };
  }

  /** Points a Stripe subscription at `plan`'s price (no-op in test mode). */
  private async setStripePrice(
    row: SubscriptionRow,
    plan: Plan,
    prorationBehavior: 'always_invoice' | 'none',
  ) {
    if (row.provider !== 'stripe' || !this.stripe || !row.provider_subscription_id) return;
    const subscription = await this.stripe.subscriptions.retrieve(row.provider_subscription_id);
    const item = subscription.items.data[0];
    await this.stripe.subscriptions.update(row.provider_subscription_id, {
      proration_behavior: prorationBehavior,
      items: [
        {
          id: item?.id,
          price_data: {
            currency: 'usd',
            product:
              typeof item?.price.product === 'string' ? item.price.product : (item?.price.product?.id ?? ''),
            unit_amount: Number(plan.priceCents),
            recurring: { interval: 'month' },
          },
        },
      ],
      metadata: { tollgate_plan: plan.code },
    });
  }

  async cancel(customer: CustomerRecord) {
    const row = await this.live(customer.id);
    if (!row) throw new TollgateError('invalid_state', 'The customer has no active subscription');
    // Cancelling ends the plan, so a pending downgrade no longer happens (one story: "ends on …").
    if (row.pending_plan_code) await this.setStripePrice(row, this.plan(row.plan_code), 'none');
    if (row.provider === 'stripe' && this.stripe && row.provider_subscription_id) {
      await this.stripe.subscriptions.update(row.provider_subscription_id, { cancel_at_period_end: true });
    }
    await this.changed(
      `update subscriptions set cancel_at_period_end = true, pending_plan_code = null, updated_at = $2
       where id = $1 and (not cancel_at_period_end or pending_plan_code is not null)`,
      [row.id, this.clock.now().toISOString()],
      'subscription.updated',
    );
    return { subscription: await this.view(customer.id) };
  }

  /** Undoes a cancellation before the period ends: the plan renews again. */
  async resume(customer: CustomerRecord) {
    const row = await this.live(customer.id);
    if (!row) throw new TollgateError('invalid_state', 'The customer has no active subscription');
    if (!row.cancel_at_period_end) return { subscription: await this.view(customer.id) };
    if (row.provider === 'stripe' && this.stripe && row.provider_subscription_id) {
      await this.stripe.subscriptions.update(row.provider_subscription_id, { cancel_at_period_end: false });
    }
    await this.changed(
      'update subscriptions set cancel_at_period_end = false, updated_at = $2 where id = $1 and cancel_at_period_end',
      [row.id, this.clock.now().toISOString()],
      'subscription.updated',
    );
    return { subscription: await this.view(customer.id) };
  }

  /** The customer's plan payments, newest first: what was paid (or is awaiting payment) and for what. */
  async charges(customerId: string, limit: number) {
    const rows = await this.db.query<SubscriptionChargeRow>(
      `select * from subscription_charges where customer_id = $1 and status <> 'cancelled'
       order by created_at desc, id desc limit $2`,
      [customerId, limit],
    );
    return {
      object: 'list',
      data: rows.map((row) => ({
        id: row.id,
        object: 'subscription_charge',
        kind: row.kind,
        plan: row.plan_code,
        plan_name: this.config.plans.find((plan) => plan.code === row.plan_code)?.name ?? row.plan_code,
        from_plan: row.from_plan_code,
        amount_usd: Number(row.amount_cents) / 100,
        allowance: microsToCredits(BigInt(row.allowance_micros)),
        status: row.status,
        period_start: row.period_start ? new Date(row.period_start).toISOString() : null,
        period_end: row.period_end ? new Date(row.period_end).toISOString() : null,
        created_at: new Date(row.created_at).toISOString(),
        paid_at: row.paid_at ? new Date(row.paid_at).toISOString() : null,
      })),
    };
  }

  // --- Test-mode charges (the test checkout page) ----------------------------------------------

  private async openTestCharge(
    customer: CustomerRecord,
    charge: {
      subscriptionId: string;
      kind: 'start' | 'upgrade';
      plan: Plan;
      fromPlanCode: string | null;
      amountCents: bigint;
      allowanceMicros: bigint;
      periodStart: Date | null;
      periodEnd: Date | null;
      productName: string;
      successUrl: string;
      cancelUrl: string;
    },
  ) {
    const id = newId('sch', 12);
    await this.db.query(
      `insert into subscription_charges (id, subscription_id, customer_id, kind, plan_code, from_plan_code, amount_cents,
         allowance_micros, period_start, period_end, status, success_url, cancel_url, created_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12, $13)`,
      [
        id,
        charge.subscriptionId,
        customer.id,
        charge.kind,
        charge.plan.code,
        charge.fromPlanCode,
        charge.amountCents.toString(),
        charge.allowanceMicros.toString(),
        charge.periodStart?.toISOString() ?? null,
        charge.periodEnd?.toISOString() ?? null,
        charge.successUrl,
        charge.cancelUrl,
        this.clock.now().toISOString(),
      ],
    );
    const session = await this.checkout.createSession({
      reference: id,
      customerId: customer.id,
      mode: 'payment',
      amountCents: charge.amountCents,
      currency: 'usd',
      productName: charge.productName,
      successUrl: charge.successUrl,
      cancelUrl: charge.cancelUrl,
      email: customer.email,
      metadata: { tollgate_subscription_charge_id: id, tollgate_customer_id: customer.id },
    });
    await this.db.query('update subscription_charges set provider_session_id = $2 where id = $1', [
      id,
      session.id,
    ]);
    return { id: session.id, url: session.url, client_secret: session.clientSecret };
  }

  async chargeBySession(sessionId: string): Promise<SubscriptionChargeRow | null> {
    const rows = await this.db.query<SubscriptionChargeRow>(
      'select * from subscription_charges where provider_session_id = $1',
      [sessionId],
    );
    return rows[0] ?? null;
  }

  /**
   * The test page's Pay: the charge is marked paid and what it pays for (the plan's first period, or
   * an upgrade of the period it was offered in) applies with its allowance, in one ledger transaction
   * under the customer's lock, exactly once. A charge whose subscription changed meanwhile fails, and
   * nothing is applied.
   */
  async payTestCharge(charge: SubscriptionChargeRow): Promise<{ status: 'paid'; replayed: boolean }> {
    const outcome = await this.ledger.transaction([charge.customer_id], async (transaction) => {
      const [row] = await transaction.query<SubscriptionChargeRow>(
        'select * from subscription_charges where id = $1 for update',
        [charge.id],
      );
      if (!row) throw new TollgateError('not_found', 'No such checkout');
      if (row.status === 'paid') return { refusal: null, replayed: true };
      if (row.status !== 'pending')
        return { refusal: 'This checkout was cancelled; start again', replayed: false };
      const refusal = await this.applyTestCharge(transaction, row);
      if (refusal) {
        await transaction.query(`update subscription_charges set status = 'failed' where id = $1`, [row.id]);
        if (row.kind === 'start') {
          await transaction.query(
            `update subscriptions set status = 'canceled', updated_at = $2 where id = $1 and status = 'incomplete'`,
            [row.subscription_id, this.clock.now().toISOString()],
          );
        }
        return { refusal, replayed: false };
      }
      await transaction.query(`update subscription_charges set status = 'paid', paid_at = $2 where id = $1`, [
        row.id,
        this.clock.now().toISOString(),
      ]);
      return { refusal: null, replayed: false };
    });
    if (outcome.refusal) throw new TollgateError('invalid_state', `${outcome.refusal}; nothing was charged`);
    return { status: 'paid', replayed: outcome.replayed };
  }

  /** What a paid test charge buys; a refusal message when it no longer applies. */
  private async applyTestCharge(
    transaction: LedgerTransaction,
    charge: SubscriptionChargeRow,
  ): Promise<string | null> {
    const now = this.clock.now();
    const plan = this.plan(charge.plan_code);
    const [subscription] = await transaction.query<SubscriptionRow>(
      'select * from subscriptions where id = $1 for update',
      [charge.subscription_id],
    );
    if (!subscription) return 'The subscription no longer exists';
    if (charge.kind === 'start') {
      const [live] = await transaction.query(
        `select id from subscriptions where customer_id = $1 and status in ('active', 'past_due') limit 1`,
        [charge.customer_id],
      );
      if (live || subscription.status !== 'incomplete') return 'The customer already has a subscription';
      const periodEnd = addIntervals(now, 1, plan.interval);
      await transaction.query(
        `update subscriptions set status = 'active', current_period_start = $2, current_period_end = $3, updated_at = $2
         where id = $1`,
        [subscription.id, now.toISOString(), periodEnd.toISOString()],
      );
      await transaction.query(
        'update subscription_charges set period_start = $2, period_end = $3 where id = $1',
        [charge.id, now.toISOString(), periodEnd.toISOString()],
      );
      this.grantAllowanceIn(transaction, subscription.id, charge, plan.allowanceMicros, now, periodEnd);
      const [started] = await transaction.query<SubscriptionRow>(
        'select * from subscriptions where id = $1',
        [subscription.id],
      );
      await this.emitSubscription(
        (text, parameters) => transaction.query(text, parameters),
        started!,
        'subscription.created',
      );
      return null;
    }
    const samePeriod =
      subscription.current_period_start !== null &&
      charge.period_start !== null &&
      new Date(subscription.current_period_start).getTime() === new Date(charge.period_start).getTime();
    if (
      (subscription.status !== 'active' && subscription.status !== 'past_due') ||
      subscription.plan_code !== charge.from_plan_code ||
      !samePeriod ||
      !charge.period_end ||
      new Date(charge.period_end) <= now
    ) {
      return 'The subscription changed since this upgrade was offered';
    }
    await transaction.query(
      'update subscriptions set plan_code = $2, pending_plan_code = null, updated_at = $3 where id = $1',
      [subscription.id, plan.code, now.toISOString()],
    );
    const [upgraded] = await transaction.query<SubscriptionRow>('select * from subscriptions where id = $1', [
      subscription.id,
    ]);
    await this.emitSubscription(
      (text, parameters) => transaction.query(text, parameters),
      upgraded!,
      'subscription.updated',
    );
    this.grantAllowanceIn(
      transaction,
      subscription.id,
      charge,
      BigInt(charge.allowance_micros),
      new Date(charge.period_start!),
      new Date(charge.period_end),
    );
    return null;
  }

  private grantAllowanceIn(
    transaction: LedgerTransaction,
    subscriptionId: string,
    charge: SubscriptionChargeRow,
    amountMicros: bigint,
    periodStart: Date,
    periodEnd: Date,
  ): void {
    if (amountMicros <= 0n || periodEnd <= this.clock.now()) return;
    unwrap(
      transaction.grant({
        customerId: charge.customer_id,
        amountMicros,
        source: 'allowance',
        expiresAt: periodEnd,
        type: 'allowance',
        reason: `Plan allowance ${periodStart.toISOString().slice(0, 10)} – ${periodEnd.toISOString().slice(0, 10)}`,
        metadata: { subscription_id: subscriptionId, charge_id: charge.id, charge_kind: charge.kind },
      }),
    );
  }

  /** The test page's Cancel: a pending charge is cancelled (a plan that was to start never does). */
  async cancelTestCharge(charge: SubscriptionChargeRow): Promise<{ changed: boolean; status: string }> {
    const rows = await this.db.query(
      `update subscription_charges set status = 'cancelled' where id = $1 and status = 'pending' returning id`,
      [charge.id],
    );
    if (rows.length === 0) {
      const [current] = await this.db.query<{ status: string }>(
        'select status from subscription_charges where id = $1',
        [charge.id],
      );
      return { changed: false, status: current?.status ?? charge.status };
    }
    if (charge.kind === 'start') {
      await this.db.query(
        `update subscriptions set status = 'canceled', updated_at = $2 where id = $1 and status = 'incomplete'`,
        [charge.subscription_id, this.clock.now().toISOString()],
      );
    }
    return { changed: true, status: 'cancelled' };
  }

  /**
   * Test-mode renewals (Stripe renews its own subscriptions and tells us with invoice.paid): every
   * subscription whose period has ended rolls over — canceled if asked, else the pending plan applies
   * and the next period's allowance is granted.
   */
  async renewDue(): Promise<number> {
    const now = this.clock.now();
    const due = await this.db.query<SubscriptionRow>(
      `select * from subscriptions where provider = 'test' and status = 'active' and current_period_end <= $1::timestamptz`,
      [now.toISOString()],
    );
    for (const row of due) {
      let periodStart = new Date(row.current_period_end!);
      if (row.cancel_at_period_end) {
        await this.changed(
          `update subscriptions set status = 'canceled', updated_at = $2 where id = $1 and status <> 'canceled'`,
          [row.id, now.toISOString()],
          'subscription.canceled',
        );
        // The last period's allowance leaves the balance (and shows in the history) now, not at the next sweep.
        await this.ledger.expireGrants(row.customer_id);
        continue;
      }
      if (this.checkout.mode().kind !== 'test') {
        // Nothing can take a test-mode payment on this server now: the plan stops renewing, as after a
        // failed invoice, rather than granting a period nobody paid for.
        await this.changed(
          `update subscriptions set status = 'past_due', updated_at = $2 where id = $1 and status <> 'past_due'`,
          [row.id, now.toISOString()],
          'subscription.updated',
        );
        await this.ledger.expireGrants(row.customer_id);
        continue;
      }
      const planCode = row.pending_plan_code ?? row.plan_code;
      const plan = this.plan(planCode);
      let periodEnd = addIntervals(periodStart, 1, plan.interval);
      // A server that was down for several periods resumes with the current one.
      while (periodEnd <= now) {
        periodStart = periodEnd;
        periodEnd = addIntervals(periodStart, 1, plan.interval);
      }
      await this.startPeriod(row, plan, periodStart, periodEnd);
      // The card on file, simulated: the record of what this period cost.
      await this.db.query(
        `insert into subscription_charges (id, subscription_id, customer_id, kind, plan_code, amount_cents, allowance_micros,
           period_start, period_end, status, created_at, paid_at)
         values ($1, $2, $3, 'renewal', $4, $5, $6, $7, $8, 'paid', $9, $9)
         on conflict (subscription_id, period_start, customer_id) where kind = 'renewal' do nothing`,
        [
          newId('sch', 12),
          row.id,
          row.customer_id,
          plan.code,
          plan.priceCents.toString(),
          plan.allowanceMicros.toString(),
          periodStart.toISOString(),
          periodEnd.toISOString(),
          now.toISOString(),
        ],
      );
    }
    return due.length;
  }

  private async startPeriod(row: SubscriptionRow, plan: Plan, periodStart: Date, periodEnd: Date) {
    await this.db.transaction(async (query) => {
      const [before] = await query<SubscriptionRow>('select * from subscriptions where id = $1 for update', [
        row.id,
      ]);
      const [after] = await query<SubscriptionRow>(
        `update subscriptions set plan_code = $2, pending_plan_code = null, status = 'active', current_period_start = $3,
           current_period_end = $4, updated_at = $5 where id = $1 returning *`,
        [
          row.id,
          plan.code,
          periodStart.toISOString(),
          periodEnd.toISOString(),
          this.clock.now().toISOString(),
        ],
      );
      // A redelivered invoice starts no new period: reported once.
      const started = before?.current_period_start;
      if (!after || (started && new Date(started).getTime() === periodStart.getTime())) return;
      await this.emitSubscription(query, after, started ? 'subscription.renewed' : 'subscription.created');
    });
    // Write off the ended period's allowance first, so that the history shows it expiring before the new
    // grant and the new grant's balance_after does not count credits that are already gone.
    await this.ledger.expireGrants(row.customer_id);
    await this.rollOver(row, plan, periodStart, periodEnd);
    await this.grantAllowance(
      row.id,
      row.customer_id,
      plan.allowanceMicros,
      periodStart,
      periodEnd,
      `period:${periodStart.toISOString()}`,
    );
  }

  /**
   * A plan with `rollover: {max}` carries the ended period's unspent allowance (what its expiry wrote
   * off, whether the sweeper or this renewal got there first) into the new period, up to `max`: an
   * `allowance` grant that expires with the new period and is spent before the new allowance (priority
   * one below the default). Once per period, by its idempotency key.
   */
  private async rollOver(row: SubscriptionRow, plan: Plan, periodStart: Date, periodEnd: Date) {
    if (plan.rolloverMaxMicros <= 0n || periodEnd <= this.clock.now()) return;
    const [unspent] = await this.db.query<{ micros: string | null }>(
      `select (-sum(t.amount_micros))::text as micros from ledger_transactions t
         join grants g on g.id = t.grant_id and g.customer_id = t.customer_id
       where t.customer_id = $1 and t.type = 'expire' and g.source = 'allowance' and g.expires_at = $2::timestamptz`,
      [row.customer_id, periodStart.toISOString()],
    );
    const carried = BigInt(unspent?.micros ?? '0');
    const amountMicros = carried < plan.rolloverMaxMicros ? carried : plan.rolloverMaxMicros;
    if (amountMicros <= 0n) return;
    unwrap(
      await this.ledger.grant({
        customerId: row.customer_id,
        amountMicros,
        source: 'allowance',
        priority: DEFAULT_PRIORITY - 1,
        expiresAt: periodEnd,
        type: 'rollover',
        reason: `Unspent allowance carried over (at most ${microsToCredits(plan.rolloverMaxMicros)} credits)`,
        metadata: { subscription_id: row.id, unspent: microsToCredits(carried) },
        idempotency: {
          key: `${row.id}:rollover:${periodStart.toISOString()}`,
          scope: 'subscriptions',
          // A second renewal of the same period replays the first carry-over, whatever was written off since.
          fingerprint: 'rollover',
        },
      }),
    );
  }

  private async grantAllowance(
    subscriptionId: string,
    customerId: string,
    amountMicros: bigint,
    periodStart: Date,
    periodEnd: Date,
    key: string,
  ) {
    if (amountMicros <= 0n || periodEnd <= this.clock.now()) return;
    unwrap(
      await this.ledger.grant({
        customerId,
        amountMicros,
        source: 'allowance',
        expiresAt: periodEnd,
        type: 'allowance',
        reason: `Plan allowance ${periodStart.toISOString().slice(0, 10)} – ${periodEnd.toISOString().slice(0, 10)}`,
        metadata: { subscription_id: subscriptionId },
        idempotency: {
          key: `${subscriptionId}:${key}`,
          scope: 'subscriptions',
          fingerprint: amountMicros.toString(),
        },
      }),
    );
  }

  // --- Stripe events -------------------------------------------------------------------------

  async onCheckoutCompleted(session: Stripe.Checkout.Session): Promise<string> {
    const id = session.client_reference_id;
    if (!id) return 'ignored: no client_reference_id';
    const providerId =
      typeof session.subscription === 'string' ? session.subscription : session.subscription?.id;
    if (!providerId) return 'ignored: no subscription';
    await this.db.query(
      `update subscriptions set provider_subscription_id = $2, updated_at = $3 where id = $1 and provider_subscription_id is null`,
      [id, providerId, this.clock.now().toISOString()],
    );
    return 'subscription linked';
  }

  async onInvoicePaid(invoice: Stripe.Invoice): Promise<string> {
    const providerId = subscriptionIdOf(invoice);
    if (!providerId) return 'ignored: not a subscription invoice';
    const row = await this.byProviderId(providerId, invoice);
    if (!row) return 'ignored: unknown subscription';
    if (invoice.billing_reason !== 'subscription_create' && invoice.billing_reason !== 'subscription_cycle') {
      return `ignored: ${invoice.billing_reason}`;
    }
    // The service period is the subscription line's: proration lines left over from mid-period changes
    // come first on a renewal invoice and cover a slice of the previous period.
    const lines = invoice.lines?.data ?? [];
    const line = lines.find(
      (candidate) => candidate.period && candidate.parent?.subscription_item_details?.proration !== true,
    );
    if (!line?.period) return 'ignored: no period';
    const periodStart = new Date(line.period.start * 1000);
    const periodEnd = new Date(line.period.end * 1000);
    const plan = this.plan(row.pending_plan_code ?? row.plan_code);
    await this.startPeriod(row, plan, periodStart, periodEnd);
    return 'allowance granted';
  }

  async onPaymentFailed(invoice: Stripe.Invoice): Promise<string> {
    const providerId = subscriptionIdOf(invoice);
    if (!providerId) return 'ignored';
    await this.changed(
      `update subscriptions set status = 'past_due', updated_at = $2
       where provider_subscription_id = $1 and status not in ('canceled', 'past_due')`,
      [providerId, this.clock.now().toISOString()],
      'subscription.updated',
    );
    return 'marked past_due';
  }

  async onSubscriptionDeleted(subscription: Stripe.Subscription): Promise<string> {
    await this.changed(
      `update subscriptions set status = 'canceled', updated_at = $2 where provider_subscription_id = $1 and status <> 'canceled'`,
      [subscription.id, this.clock.now().toISOString()],
      'subscription.canceled',
    );
    return 'canceled';
  }

  /** Runs one subscription update and reports each row it changed, in one transaction (webhooks/events.ts). */
  private async changed(sql: string, parameters: unknown[], type: EventType): Promise<void> {
    await this.db.transaction(async (query) => {
      const rows = await query<SubscriptionRow>(`${sql} returning *`, parameters);
      for (const row of rows) await this.emitSubscription(query, row, type);
    });
  }

  private async emitSubscription(query: QueryFunction, row: SubscriptionRow, type: EventType): Promise<void> {
    await emitEvent(
      { query },
      [
        {
          customerId: row.customer_id,
          type,
          data: {
            subscription: row.id,
            plan: row.plan_code,
            pending_plan: row.pending_plan_code ?? null,
            status: row.status,
            cancel_at_period_end: row.cancel_at_period_end === true,
            current_period_start: row.current_period_start
              ? new Date(row.current_period_start).toISOString()
              : null,
            current_period_end: row.current_period_end
              ? new Date(row.current_period_end).toISOString()
              : null,
          },
        },
      ],
      this.clock.now(),
    );
  }

  private async byProviderId(providerId: string, invoice: Stripe.Invoice): Promise<SubscriptionRow | null> {
    const rows = await this.db.query<SubscriptionRow>(
      'select * from subscriptions where provider_subscription_id = $1',
      [providerId],
    );
    if (rows[0]) return rows[0];
    // invoice.paid can arrive before checkout.session.completed: link by our id in the metadata.
    const ourId = (invoice.parent?.subscription_details?.metadata as Record<string, string> | undefined)
      ?.tollgate_subscription_id;
    if (!ourId) return null;
    await this.db.query(
      'update subscriptions set provider_subscription_id = $2 where id = $1 and provider_subscription_id is null',
      [ourId, providerId],
    );
    const linked = await this.db.query<SubscriptionRow>('select * from subscriptions where id = $1', [ourId]);
    return linked[0] ?? null;
  }
}

function subscriptionIdOf(invoice: Stripe.Invoice): string | null {
  const details = invoice.parent?.subscription_details?.subscription;
  if (typeof details === 'string') return details;
  if (details && typeof details === 'object') return details.id;
  return null;
}
