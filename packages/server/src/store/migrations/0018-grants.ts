/**
 * Grants as a first-class API (ledger/README.md, "Grants"):
 *
 *   - `grants.scope` (jsonb `{types?, models?}`, null: pays for anything) and `grants.voided_at` (a voided
 *     grant is spent no more; what its holds release is written off). `holds.model_type`: the type of
 *     the model a hold pays for, which scoped grants match on (with its model id).
 *   - `grants.priority` is now the explicit priority (0–100, lower spent first, 50 when none was given);
 *     the rank of a grant's source is derived from the source (spend-order.ts). The ranks stored so far
 *     (0–3, always the source's) become 50, which keeps every existing account's spend order.
 *   - `scheduled_grants`: grants with a future `effective_at`, credited by the sweeper once due (in a
 *     ledger transaction that marks the row granted), so that balance = Σ grant remaining stays true
 *     and nothing scheduled is counted as available before its time.
 *   - `tg_ledger_write` (restated from 0014 with 0016's legs patch) writes the grants' scope and voided
 *     time and the holds' model type; `tg_ledger_load` (restated from 0014) reads them.
 */
export const up = `
alter table grants add column scope jsonb;
alter table grants add column voided_at timestamptz;
alter table holds add column model_type text;
update grants set priority = 50;

create table scheduled_grants (
  id text not null,
  customer_id text not null,
  source text not null check (source in ('purchase', 'promo', 'gift', 'allowance', 'adjustment')),
  amount_micros bigint not null check (amount_micros > 0),
  priority smallint not null,
  effective_at timestamptz not null,
  expires_at timestamptz,
  scope jsonb,
  reason text,
  metadata jsonb,
  status text not null default 'scheduled' check (status in ('scheduled', 'granted', 'voided')),
  created_at timestamptz not null,
  resolved_at timestamptz,
  primary key (id, customer_id)
);
create index scheduled_grants_due on scheduled_grants (effective_at) where status = 'scheduled';
create index scheduled_grants_customer on scheduled_grants (customer_id);

create or replace function tg_ledger_write(p jsonb, p_now timestamptz) returns json
language plpgsql
-- Every statement finds its rows by key. Plans are cached per session: one planned while a table was
-- tiny would otherwise keep scanning it after it has grown.
set enable_seqscan = off
set plan_cache_mode = force_generic_plan
as $$
declare
  v_count int;
  v_ids bigint[] := '{}';
  -- Compared through a variable, so that the plan looks holds up by id, never through the partial
  -- index on open holds (which also lists the dead versions of every hold resolved since the last vacuum).
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
                        expires_at, reason, metadata, created_at, scope)
      select u.e->>0, u.e->>1, u.e->>2, (u.e->>3)::bigint, (u.e->>4)::bigint, (u.e->>5)::bigint, (u.e->>6)::smallint,
             (u.e->>7)::timestamptz, u.e->>8, nullif(u.e->9, 'null'::jsonb), (u.e->>10)::timestamptz,
             nullif(u.e->11, 'null'::jsonb)
      from jsonb_array_elements(p->'gi') u (e);
  end if;
  if p ? 'gu' then
    update grants g set remaining_micros = (u.e->>1)::bigint, reserved_micros = (u.e->>2)::bigint,
                        voided_at = (u.e->>3)::timestamptz
      from jsonb_array_elements(p->'gu') u (e)
      where g.id = u.e->>0 and g.id = any(array(select x->>0 from jsonb_array_elements(p->'gu') x));
  end if;
  if p ? 't' then
    -- Identity values are drawn in insertion order, so the n-th id is the batch's n-th transaction.
    with inserted as (
      insert into ledger_transactions (customer_id, type, amount_micros, balance_after_micros, hold_id, grant_id,
                                       model, metadata, created_at)
        select u.e->>0, u.e->>1, (u.e->>2)::bigint, (u.e->>3)::bigint, u.e->>4, u.e->>5, u.e->>6,
               nullif(u.e->7, 'null'::jsonb), p_now
        from jsonb_array_elements(p->'t') with ordinality u (e, ordinal)
        order by u.ordinal
        returning id)
    select array_agg(id order by id) into v_ids from inserted;
    insert into ledger_entries (transaction_id, customer_id, account_id, amount_micros)
      select v_ids[(u.e->>0)::int], p->'t'->((u.e->>0)::int - 1)->>0, u.e->>1, (u.e->>2)::bigint
      from jsonb_array_elements(p->'e') u (e);
  end if;
  if p ? 'hi' then
    insert into holds (id, customer_id, status, funding, amount_micros, captured_micros, allocations, model, run_id,
                       provider, expires_at, created_at, resolved_at, void_reason, transaction_id, result, metadata,
                       spend_limits, model_type)
      select u.e->>0, u.e->>1, u.e->>2, u.e->>3, (u.e->>4)::bigint, (u.e->>5)::bigint, u.e->6, u.e->>7, u.e->>8,
             u.e->>9, (u.e->>10)::timestamptz, (u.e->>11)::timestamptz, (u.e->>12)::timestamptz, u.e->>13,
             v_ids[(u.e->>14)::int], nullif(u.e->15, 'null'::jsonb), nullif(u.e->16, 'null'::jsonb),
             nullif(u.e->17, 'null'::jsonb), u.e->>18
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
    -- Changes to runs that exist, then the new runs (an upsert would check its proposed row, a negative
    -- change, against the constraints before finding the row it updates).
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
  if p ? 'l' then
    -- Spend limits: [customer, scope, amount or null (removed), period, period start, spent, limit id]. Their
    -- customers' revisions were checked above, so these rows are as the batch read them.
    delete from spend_limits s using jsonb_array_elements(p->'l') u (e)
      where u.e->2 = 'null'::jsonb and s.customer_id = u.e->>0 and s.scope = u.e->>1;
    insert into spend_limits (customer_id, scope, amount_micros, period, period_start, spent_micros, limit_id)
      select u.e->>0, u.e->>1, (u.e->>2)::bigint, u.e->>3, (u.e->>4)::timestamptz, (u.e->>5)::bigint,
             u.e->>6
      from jsonb_array_elements(p->'l') u (e) where u.e->2 <> 'null'::jsonb
      on conflict (customer_id, scope) do update
        set amount_micros = excluded.amount_micros, period = excluded.period, period_start = excluded.period_start,
            spent_micros = excluded.spent_micros, limit_id = excluded.limit_id;
  end if;
  if p ? 'i' then
    -- Claimed in this transaction: a concurrent duplicate waits on the unique index, then finds it taken.
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

create or replace function tg_ledger_load(p_customers text[], p_holds text[], p_runs jsonb, p_keys jsonb) returns json
language plpgsql stable
set enable_seqscan = off
set plan_cache_mode = force_generic_plan
as $$
declare
  -- The customers asked for, and those of the holds asked for.
  v_ids text[] := array(select unnest(p_customers) union select customer_id from holds where id = any(p_holds));
begin
  return json_build_object(
    'customers', (select coalesce(json_agg(json_build_array(c.id, c.revision::text, c.balance_micros::text,
                                                            c.held_micros::text)), '[]')
                  from customers c where c.id = any(v_ids)),
    'grants', (select coalesce(json_agg(json_build_array(g.id, g.customer_id, g.source, g.priority,
                                                         g.amount_micros::text, g.remaining_micros::text,
                                                         g.reserved_micros::text, g.expires_at, g.created_at,
                                                         g.scope, g.voided_at)), '[]')
               from grants g where g.customer_id = any(v_ids) and g.remaining_micros > 0),
    'holds', (select coalesce(json_agg(json_build_array(h.id, h.customer_id, h.status, h.funding,
                                                        h.amount_micros::text, h.captured_micros::text, h.allocations,
                                                        h.model, h.run_id, h.provider, h.expires_at, h.created_at,
                                                        h.resolved_at, h.void_reason, h.transaction_id::text, h.result,
                                                        h.metadata, h.spend_limits, h.model_type)), '[]')
              from holds h where h.id = any(p_holds)),
    'limits', (select coalesce(json_agg(json_build_array(s.customer_id, s.scope, s.amount_micros::text, s.period,
                                                         s.period_start, s.spent_micros::text, s.limit_id)), '[]')
               from spend_limits s where s.customer_id = any(v_ids)),
    'runs', (select coalesce(json_agg(json_build_array(r.customer_id, r.run_id, r.captured_micros::text,
                                                       r.held_micros::text)), '[]')
             from run_totals r join jsonb_array_elements(p_runs) u (e)
               on r.customer_id = u.e->>0 and r.run_id = u.e->>1),
    'keys', (select coalesce(json_agg(json_build_array(k.scope, k.key, k.request_hash, k.response,
                                                       k.transaction_id::text)), '[]')
             from idempotency_keys k join jsonb_array_elements(p_keys) u (e)
               on k.scope = u.e->>0 and k.key = u.e->>1)
  );
end $$;
`;
