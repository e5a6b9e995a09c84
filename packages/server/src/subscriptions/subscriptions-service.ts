/**
 * Plans with a monthly allowance (seed 003). Each period grants an `allowance` grant that expires at the
 * period's end and is spent before any purchased credit. Renewal grants the next period's allowance
 * exactly once (ledger idempotency key per subscription and period start). Upgrades apply at once with a
 * prorated extra allowance; downgrades and cancellations apply at the period end. Credits bought
 * separately are untouched by any of this.
 */
import type Stripe from 'stripe';
import type { Plan, TollgateConfig } from '../config/types.ts';
import type { CustomerRecord } from '../customers/customers-service.ts';
import { type Ledger, unwrap } from '../ledger/ledger.ts';
import { addIntervals, centsToUsd, proratedAllowance, proratedChargeCents } from '../payments/compute.ts';
import type { CheckoutProvider } from '../payments/checkout-provider.ts';
import type { Clock } from '../shared/clock.ts';
import { TollgateError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { microsToCredits } from '../shared/money.ts';
import type { Database } from '../store/database.ts';

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

export class SubscriptionsService {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly config: TollgateConfig,
    private readonly checkout: CheckoutProvider,
    private readonly clock: Clock,
    private readonly publicUrl: () => string,
    private readonly stripe: Stripe | null,
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
      current_period_start: row.current_period_start ? new Date(row.current_period_start).toISOString() : null,
      current_period_end: row.current_period_end ? new Date(row.current_period_end).toISOString() : null,
      cancel_at_period_end: row.cancel_at_period_end,
      pending_plan: row.pending_plan_code,
      provider: row.provider,
    };
  }

  async start(customer: CustomerRecord, planCode: string, urls: { success_url?: string; cancel_url?: string }) {
    const plan = this.plan(planCode);
    if (await this.live(customer.id)) {
      throw new TollgateError('invalid_state', 'The customer already has a subscription; change its plan instead');
    }
    const id = newId('sub', 12);
    const now = this.clock.now();
    if (this.checkout.name === 'test') {
      const periodEnd = addIntervals(now, 1, plan.interval);
      await this.db.query(
        `insert into subscriptions (id, customer_id, plan_code, status, provider, current_period_start, current_period_end,
           created_at, updated_at) values ($1, $2, $3, 'active', 'test', $4, $5, $4, $4)`,
        [id, customer.id, plan.code, now.toISOString(), periodEnd.toISOString()],
      );
      await this.grantAllowance(id, customer.id, plan.allowanceMicros, now, periodEnd, `period:${now.toISOString()}`);
      return { subscription: await this.view(customer.id), checkout: null };
    }
    await this.db.query(
      `insert into subscriptions (id, customer_id, plan_code, status, provider, created_at, updated_at)
       values ($1, $2, $3, 'incomplete', 'stripe', $4, $4)`,
      [id, customer.id, plan.code, now.toISOString()],
    );
    const base = this.publicUrl();
    const session = await this.checkout.createSession({
      reference: id,
      customerId: customer.id,
      mode: 'subscription',
      amountCents: plan.priceCents,
      currency: 'usd',
      productName: `${plan.name} plan`,
      successUrl: urls.success_url ?? `${base}/dashboard/?subscription=success`,
      cancelUrl: urls.cancel_url ?? `${base}/dashboard/?subscription=cancelled`,
      email: customer.email,
      metadata: { tollgate_subscription_id: id, tollgate_customer_id: customer.id, tollgate_plan: plan.code },
    });
    await this.db.query('update subscriptions set provider_session_id = $2 where id = $1', [id, session.id]);
    return { subscription: null, checkout: { id: session.id, url: session.url, client_secret: session.clientSecret } };
  }

  /** Upgrade now (prorated extra allowance); downgrade at the period end. */
  async change(customer: CustomerRecord, planCode: string) {
    const row = await this.live(customer.id);
    if (!row || !row.current_period_start || !row.current_period_end) {
      throw new TollgateError('invalid_state', 'The customer has no active subscription');
    }
    const current = this.plan(row.plan_code);
    const next = this.plan(planCode);
    const now = this.clock.now();
    const periodStart = new Date(row.current_period_start);
    const periodEnd = new Date(row.current_period_end);
    if (next.code === current.code) {
      if (row.pending_plan_code) await this.setStripePrice(row, current, 'none'); // a pending downgrade undone
      await this.db.query('update subscriptions set pending_plan_code = null, updated_at = $2 where id = $1', [row.id, now.toISOString()]);
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
      const chargeCents = proratedChargeCents({ oldPriceCents: current.priceCents, newPriceCents: next.priceCents, periodStart, periodEnd, now });
      // A pending downgrade already lowered Stripe's price: restore it so that Stripe prorates from the current plan.
      if (row.pending_plan_code) await this.setStripePrice(row, current, 'none');
      await this.setStripePrice(row, next, 'always_invoice');
      await this.db.query(
        'update subscriptions set plan_code = $2, pending_plan_code = null, updated_at = $3 where id = $1',
        [row.id, next.code, now.toISOString()],
      );
      if (extra > 0n) {
        await this.grantAllowance(row.id, customer.id, extra, now, periodEnd, `upgrade:${periodStart.toISOString()}:${next.code}`);
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
    await this.db.query('update subscriptions set pending_plan_code = $2, updated_at = $3 where id = $1', [row.id, next.code, now.toISOString()]);
    return { subscription: await this.view(customer.id), change: 'downgrade', effective_at: periodEnd.toISOString() };
  }

  /** Points a Stripe subscription at `plan`'s price (no-op in test mode). */
  private async setStripePrice(row: SubscriptionRow, plan: Plan, prorationBehavior: 'always_invoice' | 'none') {
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
            product: typeof item?.price.product === 'string' ? item.price.product : (item?.price.product?.id ?? ''),
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
    if (row.provider === 'stripe' && this.stripe && row.provider_subscription_id) {
      await this.stripe.subscriptions.update(row.provider_subscription_id, { cancel_at_period_end: true });
    }
    await this.db.query('update subscriptions set cancel_at_period_end = true, updated_at = $2 where id = $1', [
      row.id,
      this.clock.now().toISOString(),
    ]);
    return { subscription: await this.view(customer.id) };
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
        await this.db.query(`update subscriptions set status = 'canceled', updated_at = $2 where id = $1`, [row.id, now.toISOString()]);
        // The last period's allowance leaves the balance (and shows in the history) now, not at the next sweep.
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
    }
    return due.length;
  }

  private async startPeriod(row: SubscriptionRow, plan: Plan, periodStart: Date, periodEnd: Date) {
    await this.db.query(
      `update subscriptions set plan_code = $2, pending_plan_code = null, status = 'active', current_period_start = $3,
         current_period_end = $4, updated_at = $5 where id = $1`,
      [row.id, plan.code, periodStart.toISOString(), periodEnd.toISOString(), this.clock.now().toISOString()],
    );
    // Write off the ended period's allowance first, so that the history shows it expiring before the new
    // grant and the new grant's balance_after does not count credits that are already gone.
    await this.ledger.expireGrants(row.customer_id);
    await this.grantAllowance(row.id, row.customer_id, plan.allowanceMicros, periodStart, periodEnd, `period:${periodStart.toISOString()}`);
  }

  private async grantAllowance(subscriptionId: string, customerId: string, amountMicros: bigint, periodStart: Date, periodEnd: Date, key: string) {
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
        idempotency: { key: `${subscriptionId}:${key}`, scope: 'subscriptions', fingerprint: amountMicros.toString() },
      }),
    );
  }

  // --- Stripe events -------------------------------------------------------------------------

  async onCheckoutCompleted(session: Stripe.Checkout.Session): Promise<string> {
    const id = session.client_reference_id;
    if (!id) return 'ignored: no client_reference_id';
    const providerId = typeof session.subscription === 'string' ? session.subscription : session.subscription?.id;
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
    const line = lines.find((candidate) => candidate.period && candidate.parent?.subscription_item_details?.proration !== true);
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
    await this.db.query(`update subscriptions set status = 'past_due', updated_at = $2 where provider_subscription_id = $1 and status <> 'canceled'`, [
      providerId,
      this.clock.now().toISOString(),
    ]);
    return 'marked past_due';
  }

  async onSubscriptionDeleted(subscription: Stripe.Subscription): Promise<string> {
    await this.db.query(`update subscriptions set status = 'canceled', updated_at = $2 where provider_subscription_id = $1`, [
      subscription.id,
      this.clock.now().toISOString(),
    ]);
    return 'canceled';
  }

  private async byProviderId(providerId: string, invoice: Stripe.Invoice): Promise<SubscriptionRow | null> {
    const rows = await this.db.query<SubscriptionRow>('select * from subscriptions where provider_subscription_id = $1', [providerId]);
    if (rows[0]) return rows[0];
    // invoice.paid can arrive before checkout.session.completed: link by our id in the metadata.
    const ourId = (invoice.parent?.subscription_details?.metadata as Record<string, string> | undefined)?.tollgate_subscription_id;
    if (!ourId) return null;
    await this.db.query('update subscriptions set provider_subscription_id = $2 where id = $1 and provider_subscription_id is null', [ourId, providerId]);
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
