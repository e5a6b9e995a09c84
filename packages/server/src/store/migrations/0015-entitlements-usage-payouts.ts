/**
 * Entitlements, usage you can take away and partner payouts (issue 15 items 7–9).
 *
 * - `feature_usage`: how much of a metered feature a customer used in one allowance period. A track adds
 *   to it with one conditional upsert (`… do update … where used + quantity <= allowance`), so concurrent
 *   tracks never pass the allowance. `feature_tracks`: each track under its idempotency key, with the answer
 *   it gave, so a retry answers the same without counting twice.
 * - `partner_payouts`: money paid out to an app for its referral earnings. Each payout is a balanced ledger
 *   transaction whose legs (`ref:<app>` −amount, `sys:payouts` +amount) live in `ledger_entries` under the
 *   payout's `transaction_id`, taken from the same sequence as `ledger_transactions` ids so that no two
 *   transactions share an id. It moves no customer's money, so it has no `ledger_transactions` row.
 * - An index for reading one customer's usage rows in id order (the export's cursor).
 */
export const up = `
create table feature_usage (
  customer_id text not null,
  feature text not null,
  period_start timestamptz not null,
  used bigint not null check (used >= 0),
  primary key (customer_id, feature, period_start)
);

create table feature_tracks (
  customer_id text not null,
  idempotency_key text not null,
  feature text not null,
  quantity bigint not null check (quantity > 0),
  period_start timestamptz not null,
  response jsonb not null,
  created_at timestamptz not null,
  primary key (customer_id, idempotency_key)
);

insert into ledger_accounts (id, kind) values ('sys:payouts', 'payout') on conflict do nothing;

create table partner_payouts (
  id text primary key,
  app_id text not null,
  transaction_id bigint not null unique,
  amount_micros bigint not null check (amount_micros > 0),
  reference text,
  note text,
  created_at timestamptz not null
);
create index partner_payouts_app on partner_payouts (app_id, created_at);

create index ledger_transactions_customer_type on ledger_transactions (customer_id, type, id);
`;
