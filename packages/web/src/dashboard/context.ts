/** What every dashboard page gets: the API with the user's key, the customer, and navigation. */
import type { Api } from './api.ts';

export interface Notice {
  kind: 'success' | 'warning' | 'error' | 'info';
  title: string;
  text?: string;
}

export interface PublicModel {
  id: string;
  name: string;
  type: string;
  provider?: string;
  pricing: {
    per_call?: number;
    per_unit?: number;
    unit?: string;
    input_per_million?: number;
    output_per_million?: number;
    cached_input_per_million?: number;
  };
}

export interface Subscription {
  id: string;
  plan: string;
  plan_name: string;
  status: string;
  price_usd: number | null;
  allowance: number | null;
  allowance_remaining: number;
  current_period_start: string | null;
  current_period_end: string | null;
  cancel_at_period_end: boolean;
  pending_plan: string | null;
}

export interface BillingCatalog {
  subscription: Subscription | null;
  wallet: { balance: number; available: number; pending: number } | null;
  plans: {
    code: string;
    name: string;
    price_usd: number;
    interval: string;
    allowance: number;
    /** What the plan unlocks, as the config writes it: `true`, a limit, `{monthly: N}`. */
    features?: Record<string, boolean | number | { monthly: number }>;
  }[];
  credit_packs: { code: string; name: string; credits: number; price_usd: number }[];
  purchase: { minimum_usd: number; usd_per_credit: number; bonus: { from_usd: number; percent: number }[] };
}

export interface DashboardContext {
  api: Api;
  customerId: string;
  /** Takes the notice waiting for a page (after a purchase, an OAuth callback…), once. */
  takeNotice(page: string): Notice | null;
  /** Goes to `#/route`; `focus` is a selector to focus after rendering (else the page heading). */
  navigate(route: string, focus?: string): void;
  /** Re-reads the balance into the header; answers the available credits (null when it failed). */
  refreshBalance(): Promise<number | null>;
  models(): Promise<PublicModel[]>;
  /** Shows the billing gate with the dashboard's actions wired in. */
  showGate(reason: string, numbers?: { required?: number; available?: number }): void;
  /** Starts "Connect via OpenRouter". */
  connectOpenRouter(): Promise<void>;
}

/** `<div class="notice …">` for a Notice; status for good news, alert for failures. */
export function noticeRole(notice: Notice): 'status' | 'alert' {
  return notice.kind === 'error' ? 'alert' : 'status';
}

/** A model's price in words: "3 credits per call", "10 credits per second", "250 / 1,000 credits per 1M tokens in / out". */
export function describePrice(pricing: PublicModel['pricing'], format: (value: number) => string): string {
  const parts: string[] = [];
  if (pricing.per_call !== undefined) parts.push(`${format(pricing.per_call)} per call`);
  if (pricing.per_unit !== undefined) parts.push(`${format(pricing.per_unit)} per ${pricing.unit ?? 'unit'}`);
  if (pricing.input_per_million !== undefined || pricing.output_per_million !== undefined) {
    parts.push(
      `${format(pricing.input_per_million ?? 0)} in / ${format(pricing.output_per_million ?? 0)} out per 1M tokens`,
    );
  }
  return parts.length ? parts.join(' + ') : 'Free';
}
