/**
 * Selling credits safely (issue 12): the signup bonus once per verified identity and app under a daily
 * cap, test-mode plan charges (starts, upgrades and renewals paid on the local checkout page, so a plan
 * is never silently free), and a record of each guest whose credits were merged into an account.
 */
export const up = `
create table signup_bonuses (
  app_id text not null,
  identity text not null,
  customer_id text not null references customers (id),
  amount_micros bigint not null check (amount_micros > 0),
  granted_on date not null,
  created_at timestamptz not null,
  primary key (app_id, identity)
);
create index signup_bonuses_customer on signup_bonuses (customer_id);

create table signup_bonus_days (
  app_id text not null,
  day date not null,
  granted_micros bigint not null check (granted_micros >= 0),
  primary key (app_id, day)
);

create table subscription_charges (
  id text primary key,
  subscription_id text not null references subscriptions (id),
  customer_id text not null references customers (id),
  kind text not null check (kind in ('start', 'upgrade', 'renewal')),
  plan_code text not null,
  from_plan_code text,
  amount_cents bigint not null check (amount_cents >= 0),
  allowance_micros bigint not null default 0 check (allowance_micros >= 0),
  period_start timestamptz,
  period_end timestamptz,
  status text not null check (status in ('pending', 'paid', 'cancelled', 'failed')),
  provider_session_id text unique,
  success_url text,
  cancel_url text,
  created_at timestamptz not null,
  paid_at timestamptz
);
create index subscription_charges_customer on subscription_charges (customer_id, created_at desc);
create unique index subscription_charges_one_renewal on subscription_charges (subscription_id, period_start)
  where kind = 'renewal';

create table customer_merges (
  guest_customer_id text primary key references customers (id),
  account_customer_id text not null references customers (id),
  app_id text,
  moved_micros bigint not null check (moved_micros >= 0),
  forfeited_micros bigint not null check (forfeited_micros >= 0),
  created_at timestamptz not null
);
`;
