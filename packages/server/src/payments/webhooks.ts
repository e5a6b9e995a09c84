/**
 * Stripe webhooks: the signature is verified over the raw body (the SDK's constructEvent: HMAC,
 * constant-time compare, timestamp tolerance), then each event is applied idempotently. Redelivered,
 * concurrent or reordered events never credit twice: fulfilment and refunds are ledger operations
 * keyed by the purchase, and refunds use Stripe's cumulative refunded amount.
 */
import type Stripe from 'stripe';
import type { AutoTopupService } from '../auto-topup/auto-topup-service.ts';
import { TollgateError } from '../shared/errors.ts';
import type { SubscriptionsService } from '../subscriptions/subscriptions-service.ts';
import type { PurchasesService } from './purchases-service.ts';
import { stripeSdk } from './stripe-options.ts';

export class StripeWebhooks {
  /** Auto top-up's events (setup sessions, off-session PaymentIntents); set once it exists (app.ts). */
  autoTopups: AutoTopupService | null = null;

  constructor(
    private readonly secret: string | undefined,
    private readonly purchases: PurchasesService,
    private readonly subscriptions: SubscriptionsService,
    private stripeClient?: Stripe,
  ) {}

  /** Verification needs no API key; any client instance carries the webhook helpers (made on first use). */
  private get stripe(): Stripe {
    this.stripeClient ??= new (stripeSdk())('sk_webhook_verification_only');
    return this.stripeClient;
  }

  async handle(
    rawBody: Buffer | undefined,
    signature: string | undefined,
  ): Promise<{ received: true; result: string }> {
    if (!this.secret)
      throw new TollgateError(
        'invalid_request',
        'Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET)',
      );
    if (!rawBody || !signature)
      throw new TollgateError('invalid_request', 'Missing body or Stripe-Signature header');
    let event: Stripe.Event;
    try {
      event = this.stripe.webhooks.constructEvent(rawBody, signature, this.secret);
    } catch (error) {
      throw new TollgateError('invalid_request', `Invalid Stripe signature: ${(error as Error).message}`);
    }
    return { received: true, result: await this.apply(event) };
  }

  private async apply(event: Stripe.Event): Promise<string> {
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded':
        return this.onSessionPaid(event.data.object, event);
      case 'checkout.session.expired':
      case 'checkout.session.async_payment_failed':
        return this.onSessionFailed(event.data.object);
      case 'payment_intent.succeeded':
      case 'payment_intent.payment_failed':
        return this.autoTopups?.onPaymentIntent(event.data.object, event) ?? `ignored: ${event.type}`;
      case 'charge.refunded':
        return this.onChargeRefunded(event.data.object, event);
      case 'invoice.paid':
        return this.subscriptions.onInvoicePaid(event.data.object);
      case 'invoice.payment_failed':
        return this.subscriptions.onPaymentFailed(event.data.object);
      case 'customer.subscription.deleted':
        return this.subscriptions.onSubscriptionDeleted(event.data.object);
      default:
        return `ignored: ${event.type}`;
    }
  }

  private async onSessionPaid(session: Stripe.Checkout.Session, event: Stripe.Event): Promise<string> {
    if (session.mode === 'subscription') return this.subscriptions.onCheckoutCompleted(session);
    if (session.mode === 'setup')
      return this.autoTopups?.onSetupCompleted(session) ?? 'ignored: setup session';
    const purchase =
      (session.client_reference_id ? await this.purchases.byId(session.client_reference_id) : null) ??
      (await this.purchases.bySession(session.id));
    if (!purchase) return 'ignored: unknown purchase';
    if (purchase.provider_session_id && purchase.provider_session_id !== session.id)
      return 'ignored: session mismatch';
    if (session.payment_status !== 'paid' && session.payment_status !== 'no_payment_required')
      return 'awaiting payment';
    // The credits come from our own purchase record; Stripe's amount must match what we asked for.
    if (session.amount_total !== null && BigInt(session.amount_total) !== BigInt(purchase.amount_cents)) {
      return 'ignored: amount mismatch';
    }
    const paymentIntent =
      typeof session.payment_intent === 'string'
        ? session.payment_intent
        : (session.payment_intent?.id ?? null);
    const result = await this.purchases.complete(purchase, { id: event.id, type: event.type, paymentIntent });
    return result.replayed ? 'already fulfilled' : 'fulfilled';
  }

  private async onSessionFailed(session: Stripe.Checkout.Session): Promise<string> {
    if (session.mode === 'subscription') return 'ignored: subscription checkout';
    const purchase =
      (session.client_reference_id ? await this.purchases.byId(session.client_reference_id) : null) ??
      (await this.purchases.bySession(session.id));
    if (!purchase) return 'ignored: unknown purchase';
    const outcome = await this.purchases.fail(purchase);
    if (outcome.changed) return 'marked failed';
    // Stripe may expire a session after the payment went through (or redeliver the expiry): the
    // purchase keeps its state, and the answer says that nothing changed.
    return outcome.status === 'failed'
      ? 'already failed: nothing changed'
      : `ignored: the purchase is already ${outcome.status}, nothing changed`;
  }

  private async onChargeRefunded(charge: Stripe.Charge, event: Stripe.Event): Promise<string> {
    const paymentIntent =
      typeof charge.payment_intent === 'string' ? charge.payment_intent : charge.payment_intent?.id;
    if (!paymentIntent) return 'ignored: no payment intent';
    const purchase = await this.purchases.byPaymentIntent(paymentIntent);
    if (!purchase) return 'ignored: unknown purchase';
    const result = await this.purchases.refund(purchase, BigInt(charge.amount_refunded), {
      id: event.id,
      type: event.type,
    });
    return result.replayed ? 'already refunded' : 'refunded';
  }
}
