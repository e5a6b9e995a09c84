/**
 * The ledger's rules move out of PL/pgSQL into `ledger/engine.ts`: the application computes a batch
 * from the accounts it has read, and the database applies what changed in one call that first checks
 * that every account is still at the revision it was read at.
 *
 *   - `customers.revision`: bumped by every batch that changes a customer's balance, grants, holds or
 *     runs. A batch computed from an older revision is refused whole (SQLSTATE TGC01) and recomputed.
 *   - `tg_ledger_write(doc, now)`: the one write path. Locks and checks the customers first (in id
 *     order, so batches never deadlock on them), then writes grants, transactions and their legs,
 *     holds, run totals and idempotency keys with one statement each, skipping what the batch did not
 *     change. The CHECK constraints still guard every row: held ≤ balance, reserved ≤ remaining.
 *   - `tg_ledger_load(customers, holds, runs, keys)`: one consistent read of what a batch needs.
 *   - The foreign keys of the append-heavy tables go (holds, transactions and entries → their
 *     parents): each was a lookup and a row lock per inserted row, about half of what writing the row
 *     cost; the ledger writes a transaction and its legs in one statement and `auditLedger` checks
 *     that no hold, transaction or leg points at nothing.
 *   - The PL/pgSQL write path of 0002/0008/0009 and the domain operations of 0004 are dropped: their
 *     rules live in the engine, and purchases and gift codes run as ledger transactions in TypeScript.
 */
export const up = `
alter table customers add column revision bigint not null default 0;
-- A stored response's transaction id: known only once the batch's transactions are inserted, so it is
-- written into this column in the same statement rather than patched into the JSON.
alter table idempotency_keys add column transaction_id bigint;

alter table holds drop constraint if exists holds_customer_id_fkey;
alter table ledger_transactions drop constraint if exists ledger_transactions_customer_id_fkey;
alter table ledger_entries drop constraint if exists ledger_entries_transaction_id_fkey;

drop function if exists tg_ledger_apply(jsonb, timestamptz);
drop function if exists tg_apply_one(jsonb, timestamptz);
drop function if exists tg_apply_set_resolve(jsonb, timestamptz);
drop function if exists tg_apply_set_hold(jsonb, timestamptz);
drop function if exists tg_batch_ops(jsonb);
drop type if exists tg_batch_op;
drop function if exists tg_op_fulfil_purchase(jsonb, timestamptz);
drop function if exists tg_op_refund_purchase(jsonb, timestamptz);
drop function if exists tg_op_redeem_gift(jsonb, timestamptz);
drop function if exists tg_grant(jsonb, timestamptz);
drop function if exists tg_hold(jsonb, timestamptz);
drop function if exists tg_capture(jsonb, timestamptz);
drop function if exists tg_void(jsonb, timestamptz);
drop function if exists tg_extend(jsonb, timestamptz);
drop function if exists tg_debit(jsonb, timestamptz);
drop function if exists tg_clawback(jsonb, timestamptz);
drop function if exists tg_expire_due(text, timestamptz);
drop function if exists tg_allocate(text, bigint, timestamptz);
drop function if exists tg_consume(text, bigint, timestamptz);
drop function if exists tg_refusal(text, text, jsonb);

create or replace function tg_ledger_conflict(p_what text) returns void
language plpgsql as $$
begin
  raise exception 'tollgate ledger: % changed since the batch read them', p_what using errcode = 'TGC01';
end $$;

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
    insert into ledger_entries (transaction_id, account_id, amount_micros)
      select v_ids[(u.e->>0)::int], u.e->>1, (u.e->>2)::bigint from jsonb_array_elements(p->'e') u (e);
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
                                                         g.reserved_micros::text, g.expires_at, g.created_at)), '[]')
               from grants g where g.customer_id = any(v_ids) and g.remaining_micros > 0),
    'holds', (select coalesce(json_agg(json_build_array(h.id, h.customer_id, h.status, h.funding,
                                                        h.amount_micros::text, h.captured_micros::text, h.allocations,
                                                        h.model, h.run_id, h.provider, h.expires_at, h.created_at,
                                                        h.resolved_at, h.void_reason, h.transaction_id::text, h.result,
                                                        h.metadata)), '[]')
              from holds h where h.id = any(p_holds)),
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
