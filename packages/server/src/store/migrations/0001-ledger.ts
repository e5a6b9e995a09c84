/**
 * The ledger's tables. Customer rows keep the only running balances (they are the accounts that
 * are checked on every spend); system accounts' balances are derived from `ledger_entries`.
 * Invariants the database itself enforces:
 *   - customers: 0 <= held <= balance (available never negative);
 *   - grants: 0 <= reserved <= remaining;
 *   - idempotency keys unique per scope (claimed in the same transaction as the money moves).
 */
export const up = `
create table ledger_accounts (
  id text primary key,
  kind text not null,
  app_id text,
  created_at timestamptz not null default now()
);

insert into ledger_accounts (id, kind) values
  ('sys:purchases', 'funding'),
  ('sys:promotions', 'funding'),
  ('sys:gifts', 'funding'),
  ('sys:allowance', 'funding'),
  ('sys:adjustments', 'funding'),
  ('sys:revenue', 'revenue'),
  ('sys:expired', 'expired'),
  ('sys:loss', 'loss');

create table customers (
  id text primary key,
  app_id text,
  external_id text,
  email text,
  balance_micros bigint not null default 0,
  held_micros bigint not null default 0,
  metadata jsonb,
  created_at timestamptz not null default now(),
  constraint customers_balance_non_negative check (balance_micros >= 0),
  constraint customers_held_non_negative check (held_micros >= 0),
  constraint customers_available_non_negative check (held_micros <= balance_micros)
);
create unique index customers_app_external on customers (coalesce(app_id, ''), external_id) where external_id is not null;

create table grants (
  id text primary key,
  customer_id text not null references customers (id),
  source text not null check (source in ('purchase', 'promo', 'gift', 'allowance', 'adjustment')),
  amount_micros bigint not null check (amount_micros > 0),
  remaining_micros bigint not null,
  reserved_micros bigint not null default 0,
  priority smallint not null,
  expires_at timestamptz,
  reason text,
  metadata jsonb,
  created_at timestamptz not null,
  constraint grants_remaining_bounds check (remaining_micros >= 0 and remaining_micros <= amount_micros),
  constraint grants_reserved_bounds check (reserved_micros >= 0 and reserved_micros <= remaining_micros)
);
create index grants_spendable on grants (customer_id) where remaining_micros > 0;
-- Not on reserved_micros: reserving (a hold) or releasing (a void) is then a HOT update with no new
-- index entries, which matters for a customer whose grant every concurrent request reserves on.
create index grants_expiring on grants (expires_at) where remaining_micros > 0 and expires_at is not null;

create table holds (
  id text primary key,
  customer_id text not null references customers (id),
  status text not null check (status in ('held', 'captured', 'voided')),
  funding text not null check (funding in ('credits', 'byok')),
  amount_micros bigint not null check (amount_micros >= 0),
  captured_micros bigint,
  allocations jsonb not null default '[]',
  model text,
  run_id text,
  provider text,
  expires_at timestamptz not null,
  created_at timestamptz not null,
  resolved_at timestamptz,
  void_reason text,
  transaction_id bigint,
  result jsonb,
  metadata jsonb
);
create index holds_due on holds (expires_at) where status = 'held';
create index holds_customer on holds (customer_id, created_at desc);

create table run_totals (
  customer_id text not null references customers (id),
  run_id text not null,
  captured_micros bigint not null default 0,
  held_micros bigint not null default 0,
  primary key (customer_id, run_id),
  check (captured_micros >= 0 and held_micros >= 0)
);

create table ledger_transactions (
  id bigint generated always as identity primary key,
  customer_id text not null references customers (id),
  type text not null,
  amount_micros bigint not null,
  balance_after_micros bigint not null,
  hold_id text,
  grant_id text,
  model text,
  metadata jsonb,
  created_at timestamptz not null
);
create index ledger_transactions_customer on ledger_transactions (customer_id, id desc);

-- Signed legs: positive adds to the account, negative takes from it. Each transaction's legs sum to zero.
create table ledger_entries (
  transaction_id bigint not null references ledger_transactions (id),
  account_id text not null,
  amount_micros bigint not null
);
create index ledger_entries_transaction on ledger_entries (transaction_id);
create index ledger_entries_account on ledger_entries (account_id);

create table idempotency_keys (
  scope text not null,
  key text not null,
  request_hash text not null,
  response jsonb,
  created_at timestamptz not null default now(),
  primary key (scope, key)
);
`;
