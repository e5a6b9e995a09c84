/**
 * Where a buyer pays. `StripeCheckout` creates real Stripe Checkout Sessions through the official SDK;
 * `TestModeCheckout` (no Stripe keys configured) hands out a local page with a Pay button. Both end in
 * the same fulfilment code (PurchasesService.complete), so test mode exercises the real path.
 *
 * A test-mode checkout URL carries a key derived from the session id with a server secret: only
 * whoever was handed the URL (the buyer) can open the page and pay, and a cross-site form cannot
 * guess it. Whether test mode may sell at all is decided when the server listens (test-mode.ts).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type Stripe from 'stripe';
import { TollgateError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { stripeClientOptions, stripeSdk } from './stripe-options.ts';
import { describePaymentsMode, type PaymentsMode } from './test-mode.ts';

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
  /** What this server does when asked to sell: Stripe, test mode, or nothing. */
  mode(): PaymentsMode;
  /** Refuses (503 `unavailable`, reason `payments_disabled`) when this server must not sell. */
  assertCanSell(): void;
  createSession(request: CheckoutRequest): Promise<CheckoutSession>;
}

export class StripeCheckout implements CheckoutProvider {
  readonly name = 'stripe' as const;
  readonly stripe: Stripe;

  constructor(secretKey: string, apiBase?: string) {
    this.stripe = new (stripeSdk())(secretKey, { ...stripeClientOptions(apiBase), maxNetworkRetries: 2 });
  }

  mode(): PaymentsMode {
    return { kind: 'stripe' };
  }

  assertCanSell(): void {}

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
            {
              ui_mode: 'embedded' as const,
              return_url: request.successUrl,
              redirect_on_completion: 'if_required' as const,
            }
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
  private current: PaymentsMode = { kind: 'off', reason: 'not_listening' };
  private readonly signingKey: Buffer;

  /** `secret`: the server's master secret; the page keys are derived from it, never stored. */
  constructor(
    private readonly publicUrl: () => string,
    secret: string,
  ) {
    this.signingKey = createHmac('sha256', secret).update('tollgate test checkout page').digest();
  }

  mode(): PaymentsMode {
    return this.current;
  }

  /** Set once the server listens (app.ts): only then is it known whether it listens on loopback alone. */
  decide(mode: PaymentsMode): void {
    this.current = mode;
  }

  get enabled(): boolean {
    return this.current.kind === 'test';
  }

  assertCanSell(): void {
    if (this.current.kind !== 'test') {
      throw new TollgateError('unavailable', describePaymentsMode(this.current), {
        reason: 'payments_disabled',
      });
    }
  }

  async createSession(_request: CheckoutRequest): Promise<CheckoutSession> {
    this.assertCanSell();
    const id = newId('cs_test_local', 16);
    return { id, url: `${this.publicUrl()}/checkout/test/${id}/${this.pageKey(id)}`, clientSecret: null };
  }

  /** The key in a session's page URL. */
  pageKey(sessionId: string): string {
    return createHmac('sha256', this.signingKey).update(sessionId).digest('base64url').slice(0, 32);
  }

  /** Constant-time check of a presented page key. */
  verifyPageKey(sessionId: string, presented: string): boolean {
    const expected = Buffer.from(this.pageKey(sessionId));
    const given = Buffer.from(presented);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
