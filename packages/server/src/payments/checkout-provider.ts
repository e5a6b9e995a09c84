/**
 * Where a buyer pays. `StripeCheckout` creates real Stripe Checkout Sessions through the official SDK;
 * `TestModeCheckout` (no Stripe keys configured) hands out a local page with a Pay button. Both end in
 * the same fulfilment code (PurchasesService.complete), so test mode exercises the real path.
 */
import Stripe from 'stripe';
import { newId } from '../shared/ids.ts';
import { stripeClientOptions } from './stripe-options.ts';

export interface CheckoutRequest {
  /** Our id for the purchase or subscription; Stripe echoes it as client_reference_id. */
  reference: string;
  customerId: string;
  mode: 'payment' | 'subscription';
  amountCents: bigint;
  currency: string;
  productName: string;
  successUrl: string;
  cancelUrl: string;
  embedded?: boolean;
  email?: string | null;
  metadata: Record<string, string>;
}

export interface CheckoutSession {
  id: string;
  url: string | null;
  clientSecret: string | null;
}

export interface CheckoutProvider {
  readonly name: 'stripe' | 'test';
  createSession(request: CheckoutRequest): Promise<CheckoutSession>;
}

export class StripeCheckout implements CheckoutProvider {
  readonly name = 'stripe' as const;
  readonly stripe: Stripe;

  constructor(secretKey: string, apiBase?: string) {
    this.stripe = new Stripe(secretKey, { ...stripeClientOptions(apiBase), maxNetworkRetries: 2 });
  }

  async createSession(request: CheckoutRequest): Promise<CheckoutSession> {
    const recurring = request.mode === 'subscription' ? { recurring: { interval: 'month' as const } } : {};
    const session = await this.stripe.checkout.sessions.create(
      {
        mode: request.mode,
        client_reference_id: request.reference,
        ...(request.email ? { customer_email: request.email } : {}),
        line_items: [
          {
            quantity: 1,
            price_data: {
              currency: request.currency,
              unit_amount: Number(request.amountCents),
              product_data: { name: request.productName },
              ...recurring,
            },
          },
        ],
        metadata: request.metadata,
        ...(request.mode === 'payment'
          ? { payment_intent_data: { metadata: request.metadata } }
          : { subscription_data: { metadata: request.metadata } }),
        ...(request.embedded
          ? // Card payments finish in place (the widget's onComplete); redirect-based methods come back to return_url.
            { ui_mode: 'embedded' as const, return_url: request.successUrl, redirect_on_completion: 'if_required' as const }
          : { success_url: request.successUrl, cancel_url: request.cancelUrl }),
      },
      // One purchase, one session, whatever the retries.
      { idempotencyKey: `checkout:${request.reference}` },
    );
    return { id: session.id, url: session.url ?? null, clientSecret: session.client_secret ?? null };
  }
}

export class TestModeCheckout implements CheckoutProvider {
  readonly name = 'test' as const;

  constructor(private readonly publicUrl: () => string) {}

  async createSession(_request: CheckoutRequest): Promise<CheckoutSession> {
    const id = newId('cs_test_local', 16);
    return { id, url: `${this.publicUrl()}/checkout/test/${id}`, clientSecret: null };
  }
}
