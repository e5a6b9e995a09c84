/**
 * The customer dashboard and the partner view: single-use portal links (the app's backend signs a
 * customer in without handing over a key), OpenRouter OAuth states (PKCE verifier kept server-side),
 * expiring user keys (a portal session ends), and indexes for the reports.
 */
export const up = `
create table portal_links (
  id text primary key,
  customer_id text not null references customers (id),
  token_hash text not null unique,
  expires_at timestamptz not null,
  used_at timestamptz,
  user_key_id text,
  created_at timestamptz not null
);
create index portal_links_customer on portal_links (customer_id, created_at desc);

create table oauth_states (
  state_hash text primary key,
  customer_id text not null references customers (id),
  provider text not null,
  code_verifier_sealed text not null,
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null
);
create index oauth_states_customer on oauth_states (customer_id, created_at desc);

-- A portal session's user key ends; keys issued by the app keep expires_at null (never).
alter table api_keys add column expires_at timestamptz;

create index customers_app_created on customers (app_id, created_at desc, id);
create index ledger_transactions_usage_time on ledger_transactions (created_at) where type = 'usage';
create index purchases_app_completed on purchases (app_id, completed_at) where completed_at is not null;
`;
