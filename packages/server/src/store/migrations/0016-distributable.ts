/**
 * The schema made ready to distribute by customer (issue 17, `docs/scaling.md`): on a distributed
 * PostgreSQL (Citus) the customer-owned tables are sharded by customer id, and a shard can enforce a
 * unique key or a foreign key only when it includes that id. Nothing here changes what one PostgreSQL
 * enforces in practice; the keys now name the column a cluster needs.
 *
 *   - `ledger_entries.customer_id`: the customer of the leg's transaction, so that a transaction and
 *     its legs live on one shard (system legs too: a system account's balance is already derived, a sum
 *     over every shard). Filled from the transactions for the legs written so far; the write function
 *     fills it from the batch's transactions.
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
export const up = `
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

-- As in 0010, with the legs' customer taken from their transaction in the same batch.
create or replace function tg_ledger_write(p jsonb, p_now timestamptz) returns json
language plpgsql
set enable_seqscan = off
set plan_cache_mode = force_generic_plan
as $$
declare
  v_count int;
  v_ids bigint[] := '{}';
  v_held text := 'held';
begin
  if jsonb_array_length(p->'c') > 0 then
    update customers c
      set balance_micros = (u.e->>2)::bigint, held_micros = (u.e->>3)::bigint, revision = c.revision + 1
      from jsonb_array_elements(p->'c') u (e)
      where c.id = u.e->>0 and c.revision = (u.e->>1)::bigint
        and c.id = any(array(select x->>0 from jsonb_array_elements(p->'c') x));
    get diagnostics v_count = row_count;
    if v_count <> jsonb_array_length(p->'c') then
      perform tg_ledger_conflict('customers');
    end if;
  end if;
  if p ? 'k' then
    select count(*) into v_count from customers c join jsonb_array_elements(p->'k') u (e)
      on c.id = u.e->>0 and c.revision = (u.e->>1)::bigint
      where c.id = any(array(select x->>0 from jsonb_array_elements(p->'k') x));
    if v_count <> jsonb_array_length(p->'k') then
      perform tg_ledger_conflict('customers');
    end if;
  end if;
  if p ? 'gi' then
    insert into grants (id, customer_id, source, amount_micros, remaining_micros, reserved_micros, priority,
                        expires_at, reason, metadata, created_at)
      select u.e->>0, u.e->>1, u.e->>2, (u.e->>3)::bigint, (u.e->>4)::bigint, (u.e->>5)::bigint, (u.e->>6)::smallint,
             (u.e->>7)::timestamptz, u.e->>8, nullif(u.e->9, 'null'::jsonb), (u.e->>10)::timestamptz
      from jsonb_array_elements(p->'gi') u (e);
  end if;
  if p ? 'gu' then
    update grants g set remaining_micros = (u.e->>1)::bigint, reserved_micros = (u.e->>2)::bigint
      from jsonb_array_elements(p->'gu') u (e)
      where g.id = u.e->>0 and g.id = any(array(select x->>0 from jsonb_array_elements(p->'gu') x));
  end if;
  if p ? 't' then
    with inserted as (
      insert into ledger_transactions (customer_id, type, amount_micros, balance_after_micros, hold_id, grant_id,
                                       model, metadata, created_at)
        select u.e->>0, u.e->>1, (u.e->>2)::bigint, (u.e->>3)::bigint, u.e->>4, u.e->>5, u.e->>6,
               nullif(u.e->7, 'null'::jsonb), p_now
        from jsonb_array_elements(p->'t') with ordinality u (e, ordinal)
        order by u.ordinal
        returning id)
    select array_agg(id order by id) into v_ids from inserted;
    -- A leg names its transaction by ordinal (1-based); that transaction's customer is element 0 of it.
    insert into ledger_entries (transaction_id, customer_id, account_id, amount_micros)
      select v_ids[(u.e->>0)::int], p->'t'->((u.e->>0)::int - 1)->>0, u.e->>1, (u.e->>2)::bigint
      from jsonb_array_elements(p->'e') u (e);
  end if;
  if p ? 'hi' then
    insert into holds (id, customer_id, status, funding, amount_micros, captured_micros, allocations, model, run_id,
                       provider, expires_at, created_at, resolved_at, void_reason, transaction_id, result, metadata)
      select u.e->>0, u.e->>1, u.e->>2, u.e->>3, (u.e->>4)::bigint, (u.e->>5)::bigint, u.e->6, u.e->>7, u.e->>8,
             u.e->>9, (u.e->>10)::timestamptz, (u.e->>11)::timestamptz, (u.e->>12)::timestamptz, u.e->>13,
             v_ids[(u.e->>14)::int], nullif(u.e->15, 'null'::jsonb), nullif(u.e->16, 'null'::jsonb)
      from jsonb_array_elements(p->'hi') u (e);
  end if;
  if p ? 'hu' then
    update holds h
      set status = u.e->>1, captured_micros = (u.e->>2)::bigint, expires_at = (u.e->>3)::timestamptz,
          resolved_at = (u.e->>4)::timestamptz, void_reason = u.e->>5, transaction_id = v_ids[(u.e->>6)::int],
          result = nullif(u.e->7, 'null'::jsonb)
      from jsonb_array_elements(p->'hu') u (e)
      where h.id = u.e->>0 and h.status = v_held
        and h.id = any(array(select x->>0 from jsonb_array_elements(p->'hu') x));
    get diagnostics v_count = row_count;
    if v_count <> jsonb_array_length(p->'hu') then
      perform tg_ledger_conflict('holds');
    end if;
  end if;
  if p ? 'r' then
    with updated as (
      update run_totals r
        set captured_micros = r.captured_micros + (u.e->>2)::bigint, held_micros = r.held_micros + (u.e->>3)::bigint
        from jsonb_array_elements(p->'r') u (e)
        where r.customer_id = u.e->>0 and r.run_id = u.e->>1
        returning r.customer_id, r.run_id)
    insert into run_totals (customer_id, run_id, captured_micros, held_micros)
      select u.e->>0, u.e->>1, (u.e->>2)::bigint, (u.e->>3)::bigint from jsonb_array_elements(p->'r') u (e)
      where not exists (select 1 from updated d where d.customer_id = u.e->>0 and d.run_id = u.e->>1);
  end if;
  if p ? 'i' then
    insert into idempotency_keys (scope, key, request_hash, response, transaction_id, created_at)
      select u.e->>0, u.e->>1, u.e->>2, u.e->3, v_ids[(u.e->>4)::int], p_now
      from jsonb_array_elements(p->'i') u (e)
      on conflict do nothing;
    get diagnostics v_count = row_count;
    if v_count <> jsonb_array_length(p->'i') then
      perform tg_ledger_conflict('idempotency keys');
    end if;
  end if;
  return to_json(v_ids::text[]);
end $$;
`;
