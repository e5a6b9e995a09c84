/**
 * A batch of one operation skips the set-based statements of 0008. Under light load every batch is
 * one operation, and for one operation those statements (and the three-way customer lookup in front
 * of them) were pure fixed cost: the operation ends on the per-operation path of 0002 either way,
 * after the same customer lock. Batches of two or more run exactly as in 0008.
 */
export const up = `
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
  v_count int := jsonb_array_length(p_ops);
  v_results jsonb[] := array_fill(null::jsonb, array[jsonb_array_length(p_ops)]);
begin
  if v_count = 1 then
    -- One operation (the batch of a lightly loaded server): lock its customer straight from the op,
    -- and go to the per-operation path, which is all the set-based statements would end in anyway
    -- for one operation, minus their fixed cost.
    v_op := p_ops->0;
    perform 1 from customers where id in (
        v_op->>'customer',
        (select h.customer_id from holds h where h.id = v_op->>'hold'),
        (select g.customer_id from grants g where g.id = v_op->>'grant'))
      order by id for update;
    v_resolves := false;
    v_holds := false;
  else
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
  end if;
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
