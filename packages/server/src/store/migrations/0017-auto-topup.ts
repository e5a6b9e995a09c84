/**
 * Auto top-up (issue 15 item 3): a customer's saved payment method, threshold, amount and monthly cap,
 * and one row per payment it started.
 *
 * - `auto_topups`: the settings, one row per customer. `in_flight_attempt_id` is the claim: a payment
 *   starts only by setting it from null under the row lock, so two servers or two captures crossing the
 *   threshold together start one payment. `crossings` numbers the claims; `failures` counts consecutive
 *   failed payments (the setting disables itself after the limit); `retry_after` holds off a new
 *   attempt after a failure.
 * - `auto_topup_attempts`: each payment, unique per customer and crossing number (a second guard on the
 *   claim), with the purchase whose fulfilment grants its credits (payments/purchases-service.ts).
 */
export const up = `
create table auto_topups (
  customer_id text primary key,
  app_id text,
  threshold_micros bigint not null check (threshold_micros >= 0),
  amount_cents bigint not null check (amount_cents > 0),
  monthly_cap_cents bigint not null check (monthly_cap_cents >= amount_cents),
  provider text not null check (provider in ('stripe', 'test')),
  stripe_customer_id text,
  payment_method_id text,
  enabled boolean not null default true,
  failures integer not null default 0 check (failures >= 0),
  disabled_reason text,
  in_flight_attempt_id text,
  crossings bigint not null default 0,
  retry_after timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index auto_topups_armed on auto_topups (customer_id) where enabled and in_flight_attempt_id is null;

create table auto_topup_attempts (
  id text not null,
  customer_id text not null,
  crossing bigint not null,
  purchase_id text not null,
  amount_cents bigint not null check (amount_cents > 0),
  credits_micros bigint not null check (credits_micros > 0),
  status text not null check (status in ('pending', 'succeeded', 'failed')),
  payment_intent_id text,
  failure_message text,
  created_at timestamptz not null,
  finished_at timestamptz,
  primary key (id, customer_id),
  unique (customer_id, crossing)
);
create index auto_topup_attempts_month on auto_topup_attempts (customer_id, created_at);
`;
