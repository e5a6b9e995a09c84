/**
 * Auto top-up: below a threshold of available credits, the customer's saved card buys a fixed amount,
 * at most a monthly cap (secret key). Events: `auto_topup.succeeded`, `auto_topup.failed`.
 */
import type { RequestOptions, Transport } from './transport.ts';

const segment = encodeURIComponent;

export interface AutoTopup {
  object: 'auto_topup';
  customer: string;
  enabled: boolean;
  /** Credits: a payment starts when the available balance falls below this. */
  threshold: number;
  amount_usd: number;
  monthly_cap_usd: number;
  spent_this_month_usd: number;
  provider: 'stripe' | 'test';
  /** The saved card; null until the customer saved one (`setup`). */
  payment_method: string | null;
  /** Consecutive failed payments; the setting disables itself after three. */
  failures: number;
  disabled_reason: string | null;
  in_flight_attempt: string | null;
  retry_after: string | null;
  updated_at: string;
}

export interface AutoTopupParams {
  threshold: number | string;
  amount_usd: number | string;
  monthly_cap_usd: number | string;
}

export interface AutoTopupSetup {
  object: 'auto_topup.setup';
  /** Stripe Checkout in setup mode: send the customer here. Null in test mode (the card is saved at once). */
  url: string | null;
  saved: boolean;
  auto_topup: AutoTopup;
}

export interface AutoTopupAttempt {
  id: string;
  object: 'auto_topup.attempt';
  status: 'pending' | 'succeeded' | 'failed';
  amount_usd: number;
  credits: number;
  purchase: string;
  payment_intent: string | null;
  failure_message: string | null;
  created_at: string;
  finished_at: string | null;
}

/**
 * @example
 * ```ts
 * await tollgate.autoTopups.set('user_42', { threshold: 100, amount_usd: 20, monthly_cap_usd: 100 });
 * const { url } = await tollgate.autoTopups.setup('user_42', { success_url: 'https://app.example/billing' });
 * ```
 */
export class AutoTopups {
  constructor(private readonly transport: Transport) {}

  private path(customer: string, rest = ''): string {
    return `/v1/customers/${segment(customer)}/auto-topup${rest}`;
  }

  async set(customer: string, params: AutoTopupParams, options?: RequestOptions): Promise<AutoTopup> {
    return this.transport.request(
      { method: 'PUT', path: this.path(customer), body: params, auth: 'secret', retry: 'safe' },
      options,
    );
  }

  async retrieve(customer: string, options?: RequestOptions): Promise<AutoTopup> {
    return this.transport.request(
      { method: 'GET', path: this.path(customer), auth: 'secret', retry: 'safe' },
      options,
    );
  }

  async delete(
    customer: string,
    options?: RequestOptions,
  ): Promise<{ object: 'auto_topup'; customer: string; deleted: true }> {
    return this.transport.request(
      { method: 'DELETE', path: this.path(customer), auth: 'secret', retry: 'safe' },
      options,
    );
  }

  /** Saves the card auto top-up pays with (Stripe Checkout in setup mode; the simulated card in test mode). */
  async setup(
    customer: string,
    params: { success_url?: string; cancel_url?: string; test_card?: 'succeeds' | 'declines' } = {},
    options?: RequestOptions,
  ): Promise<AutoTopupSetup> {
    return this.transport.request(
      // A repeat only opens another setup page; nothing is charged.
      { method: 'POST', path: this.path(customer, '/setup'), body: params, auth: 'secret', retry: 'safe' },
      options,
    );
  }

  async attempts(
    customer: string,
    options?: RequestOptions,
  ): Promise<{ object: 'list'; data: AutoTopupAttempt[] }> {
    return this.transport.request(
      { method: 'GET', path: this.path(customer, '/attempts'), auth: 'secret', retry: 'safe' },
      options,
    );
  }
}
