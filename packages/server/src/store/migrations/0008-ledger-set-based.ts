/**
 * The ledger's batches, set-based. `tg_ledger_apply` used to run every operation of a batch through
 * its own PL/pgSQL function, one row at a time: a hold + capture cycle cost ~15 statements and ~500 µs
 * of server CPU, however many operations shared the batch. Now the common operations — holds,
 * captures and voids that need none of the special paths — are applied together by one statement
 * (`tg_apply_set`): one UPDATE of the customers, one of the grants, one INSERT of the new holds, one
 * UPDATE of the resolved ones, one INSERT of the usage transactions and one of their legs, whatever
 * the batch's size. Everything else goes through the per-operation functions of 0002, unchanged.
 *
 * Why this is still exactly the ledger of 0002:
 *   - The operations of one batch were all in flight at once, so any order of them is a valid
 *     history. The batch is applied as: the set-based captures and voids (in submission order), then
 *     the set-based holds (in submission order), then every other operation in submission order.
 *   - An operation goes set-based only when the per-operation function would take its plain path on
 *     the state at the start of the batch: a capture or void of an open, unexpired credit hold with no
 *     run, named once in the batch, releasing nothing on an expired grant (a void also needs a customer
 *     with no due grant, since 0002 writes those off after a void), a capture within the hold (or
 *     clamped to it); a credit hold with no run, for a customer with no due grant, within what the
 *     customer has available after the batch's captures and voids. Holds of one customer go in
 *     submission order while they fit; from the first that does not, the rest take the per-operation
 *     path, which refuses or fits each one in turn exactly as before.
 *   - Operations with an idempotency key, charges, extends, sweeper voids, BYOK and run-limited holds,
 *     overruns charged from the balance and every domain operation take the per-operation path.
 *   - The statement computes each customer's and each grant's new figures from the state at its start
 *     plus the batch's deltas (a row is updated once per statement); the CHECK constraints still
 *     guard every row, and a hold whose allocation does not add up to its amount aborts the batch.
 *   - Usage rows are inserted in submission order with each one's balance after it, so a customer's
 *     history still replays row by row to the stored balance.
 */
export const up = `
-- Indexes no query reads (the audit scans these tables whole), each an entry more on every write:
-- holds are looked up by id (and the sweeper by holds_due), entries are summed by account.
drop index if exists holds_customer;
drop index if exists ledger_entries_transaction;

-- A batch's operations as typed rows: every field is read out of the JSON once.
create type tg_batch_op as (
  ord int, op text, customer text, hold text, hold_id text, amount bigint, key text, funding text, run_id text,
  only_if_due text, overrun text, referral_share bigint, referral_account text, revenue_account text, model text,
  provider text, type text, reason text, expires_at text, metadata jsonb
);

create or replace function tg_batch_ops(p_ops jsonb) returns setof tg_batch_op
language sql immutable as $$
  select o.ordinality::int, o.op, o.customer, o.hold, o.hold_id, o.amount, o.key, o.funding, o.run_id, o.only_if_due,
         o.overrun, o.referral_share, o.referral_account, o.revenue_account, o.model, o.provider, o.type, o.reason,
         o.expires_at, o.metadata
  from rows from (jsonb_to_recordset(p_ops) as (
    op text, customer text, hold text, hold_id text, amount bigint, key text, funding text, run_id text,
    only_if_due text, overrun text, referral_share bigint, referral_account text, revenue_account text, model text,
    provider text, type text, reason text, expires_at text, metadata jsonb)) with ordinality as o
$$;

-- The batch's plain captures and voids, together. Base tables are reached only through their keys
-- ("= any(array(…))"), so a statement's cost follows the batch, never the size of a table.
create or replace function tg_apply_set_resolve(p_ops jsonb, p_now timestamptz)
returns table (ord int, result jsonb)
language plpgsql
set enable_seqscan = off
set plan_cache_mode = force_generic_plan
set enable_bitmapscan = off
as $$
#variable_conflict use_column
begin
  return query
  with ops as (
    select * from tg_batch_ops(p_ops)
  ),
  hold_refs as (
    select o.hold, count(*) as n from ops o where o.hold is not null group by o.hold
  ),
  named as (
    select h.* from holds h
    where h.id = any(array(select o.hold from ops o where o.op in ('capture', 'void')))
  ),
  -- Captures and voids whose per-operation path would be the plain one.
  cv as (
    select o.ord, o.op, o.reason, o.model as op_model, o.type, o.metadata, o.referral_share, o.referral_account,
           o.revenue_account, h.id as hold_id, h.customer_id, h.amount_micros as held, h.allocations, h.model,
           h.metadata as hold_metadata, coalesce(o.amount, h.amount_micros) as requested
    from ops o
    join hold_refs r on r.hold = o.hold and r.n = 1
    join named h on h.id = o.hold
    where o.op in ('capture', 'void') and o.key is null
      and h.status = 'held' and h.funding = 'credits' and h.run_id is null and h.expires_at > p_now
      and (o.op = 'capture' or coalesce(o.only_if_due, '') <> 'true')
      and (o.op = 'void' or coalesce(o.amount, h.amount_micros) <= h.amount_micros
           or coalesce(o.overrun, 'clamp') = 'clamp')
      -- Nothing it releases sits on an expired grant (the per-operation path then writes that off).
      and not exists (select 1 from jsonb_array_elements(h.allocations) a join grants g on g.id = a->>0
                      where g.expires_at <= p_now)
      -- 0002 writes off a customer's due grants after every void.
      and (o.op = 'capture' or not exists (
            select 1 from grants g where g.customer_id = h.customer_id and g.remaining_micros > 0
              and g.remaining_micros > g.reserved_micros and g.expires_at <= p_now))
  ),
  cap as (
    select cv.*, x.amount,
           case when x.amount < cv.requested then (coalesce(cv.referral_share, 0) * x.amount) / cv.requested
                else coalesce(cv.referral_share, 0) end as share
    from cv, lateral (select least(cv.requested, cv.held) as amount) x
    where cv.op = 'capture'
  ),
  -- A share above the capture is a broken invariant: the per-operation path raises it.
  cap_ok as (select * from cap where cap.share <= cap.amount),
  voi as (select * from cv where cv.op = 'void'),
  -- What each capture spends of each reservation (in allocation order); it releases all of them.
  cap_alloc as (
    select c.ord, a.value->>0 as grant_id, (a.value->>1)::bigint as reserved,
           greatest(0::bigint, least((a.value->>1)::bigint,
             c.amount - ((sum((a.value->>1)::bigint) over w)::bigint - (a.value->>1)::bigint))) as take
    from cap_ok c, jsonb_array_elements(c.allocations) with ordinality as a
    window w as (partition by c.ord order by a.ordinality)
  ),
  void_alloc as (
    select v.ord, a->>0 as grant_id, (a->>1)::bigint as reserved
    from voi v, jsonb_array_elements(v.allocations) a
  ),
  customer_delta as (
    select x.customer_id, sum(x.paid)::bigint as paid, sum(x.released)::bigint as released from (
      select c.customer_id, c.amount as paid, c.held as released from cap_ok c
      union all select v.customer_id, 0::bigint, v.held from voi v) x
    group by x.customer_id
  ),
  grant_delta as (
    select x.grant_id, sum(x.take)::bigint as taken, sum(x.reserved)::bigint as released from (
      select ca.grant_id, ca.take, ca.reserved from cap_alloc ca
      union all select va.grant_id, 0::bigint, va.reserved from void_alloc va) x
    group by x.grant_id
  ),
  -- Usage rows in submission order, each with the balance after it.
  cap_rows as (
    select c.*, cu.balance_micros - (sum(c.amount) over (partition by c.customer_id order by c.ord))::bigint
             as balance_after
    from cap_ok c
    join customers cu on cu.id = c.customer_id
    where cu.id = any(array(select cd.customer_id from customer_delta cd))
  ),
  grant_update as (
    update grants g
      set remaining_micros = g.remaining_micros - d.taken, reserved_micros = g.reserved_micros - d.released
    from grant_delta d
    where g.id = d.grant_id and g.id = any(array(select gd.grant_id from grant_delta gd))
    returning g.id
  ),
  customer_update as (
    update customers cu
      set balance_micros = cu.balance_micros - d.paid, held_micros = cu.held_micros - d.released
    from customer_delta d
    where cu.id = d.customer_id and cu.id = any(array(select cd.customer_id from customer_delta cd))
    returning cu.id
  ),
  txn_insert as (
    insert into ledger_transactions (customer_id, type, amount_micros, balance_after_micros, hold_id, model,
                                     metadata, created_at)
    select c.customer_id, coalesce(c.type, 'usage'), -c.amount, c.balance_after, c.hold_id,
           coalesce(c.op_model, c.model),
           coalesce(c.hold_metadata, '{}') || coalesce(c.metadata, '{}') || jsonb_build_object(
             'provider_cost', (c.amount - c.share)::text, 'referral_share', c.share::text,
             'total', c.amount::text, 'shortfall', '0'),
           p_now
    from cap_rows c where c.amount > 0
    order by c.ord
    returning ledger_transactions.id, ledger_transactions.hold_id
  ),
  entry_insert as (
    insert into ledger_entries (transaction_id, account_id, amount_micros)
    select t.id, leg.account, leg.amount
    from txn_insert t join cap_rows c on c.hold_id = t.hold_id,
      lateral (values (c.customer_id, -c.amount),
                      (coalesce(c.revenue_account, 'sys:revenue'), c.amount - c.share),
                      (c.referral_account, c.share)) as leg (account, amount)
    where leg.amount <> 0
    returning 1
  ),
  cap_results as (
    select c.ord, c.hold_id, c.amount, t.id as transaction_id,
           jsonb_build_object('ok', true, 'id', c.hold_id, 'customer', c.customer_id, 'status', 'captured',
             'amount', c.amount::text, 'funding', 'credits', 'cost', c.amount::text, 'shortfall', '0',
             'referral_share', c.share::text, 'balance', c.balance_after::text,
             'transaction_id', t.id::text) as result
    from cap_rows c left join txn_insert t on t.hold_id = c.hold_id
  ),
  resolved as (
    select cr.hold_id, 'captured' as status, cr.amount as captured, cr.transaction_id, cr.result,
           null::text as void_reason
    from cap_results cr
    union all
    select v.hold_id, 'voided', null::bigint, null::bigint, null::jsonb, coalesce(v.reason, 'voided')
    from voi v
  ),
  hold_update as (
    update holds h
      set status = u.status, captured_micros = u.captured, resolved_at = p_now,
          transaction_id = u.transaction_id, result = u.result, void_reason = u.void_reason
    from resolved u
    where h.id = u.hold_id and h.id = any(array(select r.hold_id from resolved r))
    returning h.id
  )
  select cr.ord, cr.result from cap_results cr
  union all
  select v.ord, jsonb_build_object('ok', true, 'id', v.hold_id, 'customer', v.customer_id, 'status', 'voided',
           'reason', coalesce(v.reason, 'voided'))
  from voi v;
end $$;

-- The batch's plain credit holds, together, after its captures and voids.
create or replace function tg_apply_set_hold(p_ops jsonb, p_now timestamptz)
returns table (ord int, result jsonb, allocated bigint)
language plpgsql
set enable_seqscan = off
set plan_cache_mode = force_generic_plan
set enable_bitmapscan = off
as $$
#variable_conflict use_column
begin
  return query
  with ops as (
    select * from tg_batch_ops(p_ops) o
    where o.op = 'hold' and o.key is null and coalesce(o.funding, 'credits') = 'credits' and o.run_id is null
  ),
  -- What each customer has available; none with a grant due to be written off (0002 does that first).
  available as (
    select cu.id as customer_id, cu.balance_micros - cu.held_micros as available
    from customers cu
    where cu.id = any(array(select distinct o.customer from ops o))
      and not exists (select 1 from grants g where g.customer_id = cu.id and g.remaining_micros > 0
                      and g.remaining_micros > g.reserved_micros and g.expires_at <= p_now)
  ),
  -- Each customer's holds in submission order, while they fit.
  hold_ok as (
    select * from (
      select o.*, av.available,
             (sum(o.amount) over (partition by o.customer order by o.ord))::bigint as range_end
      from ops o join available av on av.customer_id = o.customer) ranked
    where ranked.range_end <= ranked.available
  ),
  -- The live grants those holds draw on, laid end to end in spend order.
  grant_ranges as (
    select f.id, f.customer_id, (sum(f.free) over w)::bigint - f.free as range_start,
           (sum(f.free) over w)::bigint as range_end
    from (
      select g.id, g.customer_id, g.source, g.expires_at, g.priority, g.created_at,
             g.remaining_micros - g.reserved_micros as free
      from grants g
      where g.customer_id = any(array(select distinct h.customer from hold_ok h)) and g.remaining_micros > 0
        and g.remaining_micros > g.reserved_micros and (g.expires_at is null or g.expires_at > p_now)) f
    window w as (partition by f.customer_id
                 order by (f.source = 'allowance') desc, f.expires_at asc nulls last, f.priority, f.created_at, f.id)
  ),
  -- Each hold takes its stretch of its customer's batch total: the grants under that stretch.
  hold_alloc as (
    select h.ord, g.id as grant_id, g.range_start,
           least(h.range_end, g.range_end) - greatest(h.range_end - h.amount, g.range_start) as take
    from hold_ok h join grant_ranges g on g.customer_id = h.customer
    where g.range_start < h.range_end and g.range_end > h.range_end - h.amount
  ),
  allocations as (
    select ha.ord, jsonb_agg(jsonb_build_array(ha.grant_id, ha.take::text) order by ha.range_start) as allocations,
           sum(ha.take)::bigint as allocated
    from hold_alloc ha group by ha.ord
  ),
  grant_delta as (
    select ha.grant_id, sum(ha.take)::bigint as reserved from hold_alloc ha group by ha.grant_id
  ),
  customer_delta as (
    select h.customer as customer_id, sum(h.amount)::bigint as reserved from hold_ok h group by h.customer
  ),
  grant_update as (
    update grants g set reserved_micros = g.reserved_micros + d.reserved
    from grant_delta d
    where g.id = d.grant_id and g.id = any(array(select gd.grant_id from grant_delta gd))
    returning g.id
  ),
  customer_update as (
    update customers cu set held_micros = cu.held_micros + d.reserved
    from customer_delta d
    where cu.id = d.customer_id and cu.id = any(array(select cd.customer_id from customer_delta cd))
    returning cu.id
  ),
  hold_insert as (
    insert into holds (id, customer_id, status, funding, amount_micros, allocations, model, provider,
                       expires_at, created_at, metadata)
    select h.hold_id, h.customer, 'held', 'credits', h.amount, coalesce(a.allocations, '[]'), h.model, h.provider,
           h.expires_at::timestamptz, p_now, h.metadata
    from hold_ok h left join allocations a on a.ord = h.ord
    returning holds.id
  )
  select h.ord,
         jsonb_build_object('ok', true, 'id', h.hold_id, 'customer', h.customer, 'status', 'held',
           'amount', h.amount::text, 'expires_at', h.expires_at, 'funding', 'credits',
           'available', (h.available - h.range_end)::text),
         coalesce(a.allocated, 0)
  from hold_ok h left join allocations a on a.ord = h.ord;
end $$;

create or replace function tg_ledger_apply(p_ops jsonb, p_now timestamptz) returns jsonb
language plpgsql
-- Every statement of the write path finds its rows by key. Plans are cached per session: one planned
-- while a table was tiny would otherwise keep scanning it after it has grown.
set enable_seqscan = off
as $$
declare
  v_op jsonb;
  v_ord int;
  v_result jsonb;
  v_existing record;
  v_set record;
  v_resolves boolean;
  v_holds boolean;
  v_results jsonb[] := array_fill(null::jsonb, array[jsonb_array_length(p_ops)]);
begin
  -- Lock every customer the batch touches, in id order, before any write: batches never deadlock on
  -- customers, and everything below (grants, holds, run totals) belongs to a locked customer.
  perform 1 from customers where id = any(array(
      select o.customer from tg_batch_ops(p_ops) o where o.customer is not null
      union
      select h.customer_id from holds h
        where h.id = any(array(select o.hold from tg_batch_ops(p_ops) o where o.hold is not null))
      union
      select g.customer_id from grants g
        where g.id = any(array(select e->>'grant' from jsonb_array_elements(p_ops) e where e ? 'grant'))))
    order by id for update;
  select coalesce(bool_or(o.op in ('capture', 'void')), false), coalesce(bool_or(o.op = 'hold'), false)
    into v_resolves, v_holds
    from jsonb_to_recordset(p_ops) as o (op text);
  if v_resolves then
    for v_set in select * from tg_apply_set_resolve(p_ops, p_now) loop
      v_results[v_set.ord] := v_set.result;
    end loop;
  end if;
  if v_holds then
    for v_set in select * from tg_apply_set_hold(p_ops, p_now) loop
      if v_set.allocated <> (v_set.result->>'amount')::bigint then
        raise exception 'tollgate ledger invariant: hold % allocated % of %', v_set.result->>'id', v_set.allocated,
          v_set.result->>'amount';
      end if;
      v_results[v_set.ord] := v_set.result;
    end loop;
  end if;
  for v_op, v_ord in select value, ordinality from jsonb_array_elements(p_ops) with ordinality loop
    continue when v_results[v_ord] is not null;
    if v_op ? 'key' then
      -- The unique key is claimed in this transaction: a concurrent duplicate waits here, then replays.
      insert into idempotency_keys (scope, key, request_hash, created_at)
        values (v_op->>'scope', v_op->>'key', v_op->>'hash', p_now)
        on conflict do nothing;
      if not found then
        select request_hash, response into v_existing from idempotency_keys
          where scope = v_op->>'scope' and key = v_op->>'key';
        if v_existing.request_hash is distinct from v_op->>'hash' or v_existing.response is null then
          v_result := tg_refusal('idempotency_conflict',
            'This Idempotency-Key was already used with a different request');
        else
          v_result := v_existing.response || '{"replayed": true}';
        end if;
        v_results[v_ord] := v_result;
        continue;
      end if;
    end if;
    v_result := tg_apply_one(v_op, p_now);
    if v_op ? 'key' then
      update idempotency_keys set response = v_result where scope = v_op->>'scope' and key = v_op->>'key';
    end if;
    v_results[v_ord] := v_result;
  end loop;
  return to_jsonb(v_results);
end $$;
`;
