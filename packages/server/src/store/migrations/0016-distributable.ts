/**
 * The schema made ready to distribute by customer (issue 17, `docs/scaling.md`): on a distributed
 * PostgreSQL (Citus) the customer-owned tables are sharded by customer id, and a shard can enforce a
 * unique key or a foreign key only when it includes that id. Nothing here changes what one PostgreSQL
 * enforces in practice; the keys now name the column a cluster needs.
 *
 *   - `ledger_entries.customer_id`: the customer of the leg's transaction, so that a transaction and
 *     its legs live on one shard (system legs too: a system account's balance is already derived, a sum
 *     over every shard). Filled from the transactions for the legs written so far; the write function
 *     fills it from the batch's transactions (patched in place, see below).
 *   - Primary and unique keys of customer-owned tables become (key, customer_id). The key stays the
 *     leading column, so a lookup by id alone still uses the same index; ids are random (128 bits), so
 *     uniqueness within the customer is what was ever at stake.
 *   - The subscription of a charge is referenced with its customer (a foreign key between two tables
 *     sharded alike must include the shard key).
 *   - One customer per app and external id is kept by `customer_external_ids` (sharded by external id),
 *     no longer by a unique index on customers that a shard could not enforce.
 *   - Foreign keys that a cluster cannot keep are dropped: a merge's account (it crosses two customers),
 *     a signup bonus's customer (`signup_bonuses` is keyed by app and identity: one bonus per identity
 *     across customers) and an API key's customer (`api_keys` is looked up by hash on every request and
 *     becomes a replicated reference table, which may not point into a sharded one).
 *
 * What still crosses customers, and how each runs on a cluster: `docs/scaling.md`. The rule is checked
 * on the live schema by `store/distributable.test.ts`.
 */
export const up = String.raw`
alter table ledger_entries add column customer_id text;
update ledger_entries e set customer_id = t.customer_id from ledger_transactions t where t.id = e.transaction_id;
-- A leg whose transaction is missing (the audit already reports it) keeps pointing at nothing.
update ledger_entries set customer_id = '' where customer_id is null;
alter table ledger_entries alter column customer_id set not null;

alter table grants drop constraint grants_pkey, add constraint grants_pkey primary key (id, customer_id);
alter table holds drop constraint holds_pkey, add constraint holds_pkey primary key (id, customer_id);
alter table ledger_transactions drop constraint ledger_transactions_pkey,
  add constraint ledger_transactions_pkey primary key (id, customer_id);
alter table generations drop constraint generations_pkey, add constraint generations_pkey primary key (id, customer_id);
alter table oauth_states drop constraint oauth_states_pkey,
  add constraint oauth_states_pkey primary key (state_hash, customer_id);

alter table portal_links drop constraint portal_links_pkey, add constraint portal_links_pkey primary key (id, customer_id);
alter table portal_links drop constraint portal_links_token_hash_key,
  add constraint portal_links_token_hash_key unique (token_hash, customer_id);

alter table purchases drop constraint purchases_pkey, add constraint purchases_pkey primary key (id, customer_id);
alter table purchases drop constraint purchases_provider_session_id_key,
  add constraint purchases_provider_session_id_key unique (provider_session_id, customer_id);

alter table subscription_charges drop constraint subscription_charges_subscription_id_fkey;
alter table subscriptions drop constraint subscriptions_pkey,
  add constraint subscriptions_pkey primary key (id, customer_id);
alter table subscriptions drop constraint subscriptions_provider_session_id_key,
  add constraint subscriptions_provider_session_id_key unique (provider_session_id, customer_id);
alter table subscriptions drop constraint subscriptions_provider_subscription_id_key,
  add constraint subscriptions_provider_subscription_id_key unique (provider_subscription_id, customer_id);

alter table subscription_charges drop constraint subscription_charges_pkey,
  add constraint subscription_charges_pkey primary key (id, customer_id);
alter table subscription_charges drop constraint subscription_charges_provider_session_id_key,
  add constraint subscription_charges_provider_session_id_key unique (provider_session_id, customer_id);
alter table subscription_charges add constraint subscription_charges_subscription_fkey
  foreign key (subscription_id, customer_id) references subscriptions (id, customer_id);
drop index subscription_charges_one_renewal;
create unique index subscription_charges_one_renewal on subscription_charges (subscription_id, period_start, customer_id)
  where kind = 'renewal';

-- One customer per app and external id, kept by a table of its own: a shard of customers cannot see
-- the others' external ids, a table keyed by external id can. Claimed in the transaction that creates
-- the customer (ledger.createCustomer) or renames it (a widget guest who signs in with an email).
create table customer_external_ids (
  app_key text not null, -- the app id, '' for a customer without an app
  external_id text not null,
  customer_id text not null,
  primary key (external_id, app_key)
);
insert into customer_external_ids (app_key, external_id, customer_id)
  select coalesce(app_id, ''), external_id, id from customers where external_id is not null;
drop index customers_app_external;
create index customers_app_external on customers (app_id, external_id) where external_id is not null;

alter table customer_merges drop constraint customer_merges_account_customer_id_fkey;
alter table signup_bonuses drop constraint signup_bonuses_customer_id_fkey;
alter table api_keys drop constraint api_keys_customer_id_fkey;

-- The write function inserts each leg with its transaction's customer (element 0 of the batch's n-th
-- transaction, n being the leg's 1-based ordinal). Patched into whatever the function is at this point
-- (0010's, or a later migration's with more parts) rather than restated whole, so that a migration
-- numbered before this one that also changes the function keeps its changes; the patch refuses to run
-- on a function whose legs insert it does not recognise.
do $patch$
declare
  v_before text := pg_get_functiondef('tg_ledger_write(jsonb, timestamptz)'::regprocedure);
  v_after text;
begin
  v_after := regexp_replace(v_before,
    'insert into ledger_entries \(transaction_id, account_id, amount_micros\)\s+select v_ids\[\(u\.e->>0\)::int\], u\.e->>1,',
    'insert into ledger_entries (transaction_id, customer_id, account_id, amount_micros)
      select v_ids[(u.e->>0)::int], p->''t''->((u.e->>0)::int - 1)->>0, u.e->>1,');
  if v_after = v_before then
    raise exception 'tollgate migration 0016: the legs insert of tg_ledger_write was not found';
  end if;
  execute v_after;
end $patch$;
`;
