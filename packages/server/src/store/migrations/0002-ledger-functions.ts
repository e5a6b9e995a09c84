/**
 * The ledger's write path, as SQL functions so that a whole batch of operations is one round trip
 * and one commit. `tg_ledger_apply(ops, now)` is the only entry point; every other function here is
 * a step of it and assumes the customer rows it touches are already locked by it.
 *
 * Amounts travel as JSON strings of integer micro-credits (JSON numbers would lose precision past
 * 2^53 in the application). Expected refusals come back as `{ok:false, code}` values; a raised
 * exception means a broken invariant and aborts the batch.
 */
export const up = String.raw`
create or replace function tg_expire_due(p_customer text, p_now timestamptz) returns bigint
language plpgsql as $$
declare
  v_grant record;
  v_balance bigint;
  v_transaction bigint;
  v_total bigint := 0;
begin
  -- Only the unreserved remainder expires: a hold placed before expiry may still capture what it reserved.
  for v_grant in
    select id, remaining_micros - reserved_micros as amount from grants
    where customer_id = p_customer and remaining_micros > 0 and remaining_micros > reserved_micros
      and expires_at <= p_now
    order by expires_at, id
  loop
    update grants set remaining_micros = remaining_micros - v_grant.amount where id = v_grant.id;
    update customers set balance_micros = balance_micros - v_grant.amount where id = p_customer
      returning balance_micros into v_balance;
    insert into ledger_transactions (customer_id, type, amount_micros, balance_after_micros, grant_id, created_at)
      values (p_customer, 'expire', -v_grant.amount, v_balance, v_grant.id, p_now) returning id into v_transaction;
    insert into ledger_entries (transaction_id, account_id, amount_micros)
      values (v_transaction, p_customer, -v_grant.amount), (v_transaction, 'sys:expired', v_grant.amount);
    v_total := v_total + v_grant.amount;
  end loop;
  return v_total;
end $$;

-- Reserves p_amount across the customer's live grants in spend order; the caller checked it is available.
create or replace function tg_allocate(p_customer text, p_amount bigint, p_now timestamptz) returns jsonb
language plpgsql as $$
declare
  v_grant record;
  v_left bigint := p_amount;
  v_take bigint;
  v_allocations jsonb := '[]';
begin
  for v_grant in
    select id, remaining_micros - reserved_micros as free from grants
    where customer_id = p_customer and remaining_micros > 0 and remaining_micros > reserved_micros
      and (expires_at is null or expires_at > p_now)
    order by (source = 'allowance') desc, expires_at asc nulls last, priority, created_at, id
  loop
    exit when v_left = 0;
    v_take := least(v_left, v_grant.free);
    update grants set reserved_micros = reserved_micros + v_take where id = v_grant.id;
    v_allocations := v_allocations || jsonb_build_array(jsonb_build_array(v_grant.id, v_take::text));
    v_left := v_left - v_take;
  end loop;
  if v_left <> 0 then
    raise exception 'tollgate ledger invariant: customer % short by % micros while allocating', p_customer, v_left;
  end if;
  return v_allocations;
end $$;

-- Spends up to p_amount of the customer's unreserved live credits in spend order; returns what it took.
create or replace function tg_consume(p_customer text, p_amount bigint, p_now timestamptz) returns bigint
language plpgsql as $$
declare
  v_grant record;
  v_left bigint := p_amount;
  v_take bigint;
begin
  for v_grant in
    select id, remaining_micros - reserved_micros as free from grants
    where customer_id = p_customer and remaining_micros > 0 and remaining_micros > reserved_micros
      and (expires_at is null or expires_at > p_now)
    order by (source = 'allowance') desc, expires_at asc nulls last, priority, created_at, id
  loop
    exit when v_left = 0;
    v_take := least(v_left, v_grant.free);
    update grants set remaining_micros = remaining_micros - v_take where id = v_grant.id;
    v_left := v_left - v_take;
  end loop;
  if p_amount - v_left > 0 then
    update customers set balance_micros = balance_micros - (p_amount - v_left) where id = p_customer;
  end if;
  return p_amount - v_left;
end $$;

create or replace function tg_refusal(p_code text, p_message text, p_details jsonb default '{}') returns jsonb
language sql immutable as $$
  select jsonb_build_object('ok', false, 'code', p_code, 'message', p_message) || p_details
$$;

create or replace function tg_grant(p jsonb, p_now timestamptz) returns jsonb
language plpgsql as $$
declare
  v_customer text := p->>'customer';
  v_amount bigint := (p->>'amount')::bigint;
  v_expires timestamptz := (p->>'expires_at')::timestamptz;
  v_balance bigint;
  v_transaction bigint;
begin
  select balance_micros into v_balance from customers where id = v_customer;
  if not found then
    return tg_refusal('not_found', 'No such customer: ' || v_customer);
  end if;
  if v_expires is not null and v_expires <= p_now then
    return tg_refusal('invalid_request', 'expires_at must be in the future');
  end if;
  -- A refusal, not a bigint overflow that would abort the whole batch with an untyped error.
  if v_amount > 9223372036854775807 - v_balance then
    return tg_refusal('invalid_request', 'This grant would take the balance past the largest amount the ledger holds',
      jsonb_build_object('param', 'amountMicros'));
  end if;
  -- Write off what has expired first, so that the balance this grant reports is the customer's balance.
  perform tg_expire_due(v_customer, p_now);
  insert into grants (id, customer_id, source, amount_micros, remaining_micros, priority, expires_at, reason, metadata, created_at)
    values (p->>'grant_id', v_customer, p->>'source', v_amount, v_amount, (p->>'priority')::smallint, v_expires,
            p->>'reason', p->'metadata', p_now);
  update customers set balance_micros = balance_micros + v_amount where id = v_customer returning balance_micros into v_balance;
  insert into ledger_transactions (customer_id, type, amount_micros, balance_after_micros, grant_id, metadata, created_at)
    values (v_customer, coalesce(p->>'type', 'grant'), v_amount, v_balance, p->>'grant_id',
            jsonb_build_object('source', p->>'source', 'reason', p->>'reason') || coalesce(p->'metadata', '{}'), p_now)
    returning id into v_transaction;
  insert into ledger_entries (transaction_id, account_id, amount_micros)
    values (v_transaction, v_customer, v_amount), (v_transaction, p->>'funding_account', -v_amount);
  return jsonb_build_object('ok', true, 'grant_id', p->>'grant_id', 'transaction_id', v_transaction::text,
    'balance', v_balance::text);
end $$;

create or replace function tg_hold(p jsonb, p_now timestamptz) returns jsonb
language plpgsql as $$
declare
  v_customer text := p->>'customer';
  v_amount bigint := (p->>'amount')::bigint;
  v_funding text := coalesce(p->>'funding', 'credits');
  v_max_run bigint := (p->>'max_run')::bigint;
  v_run_total bigint;
  v_balance bigint;
  v_held bigint;
  v_allocations jsonb := '[]';
begin
  select balance_micros, held_micros into v_balance, v_held from customers where id = v_customer;
  if not found then
    return tg_refusal('not_found', 'No such customer: ' || v_customer);
  end if;
  if v_funding = 'credits' then
    -- Grants past their expiry are written off first; a cheap probe, as there usually are none.
    if exists (select 1 from grants where customer_id = v_customer and remaining_micros > 0
               and remaining_micros > reserved_micros and expires_at <= p_now)
       and tg_expire_due(v_customer, p_now) > 0 then
      select balance_micros, held_micros into v_balance, v_held from customers where id = v_customer;
    end if;
    if v_amount > v_balance - v_held then
      return tg_refusal('insufficient_credits', 'Insufficient credits',
        jsonb_build_object('required', v_amount::text, 'available', (v_balance - v_held)::text));
    end if;
  end if;
  if p->>'run_id' is not null then
    if v_max_run is not null then
      select captured_micros + held_micros into v_run_total from run_totals
        where customer_id = v_customer and run_id = p->>'run_id';
      if coalesce(v_run_total, 0) + v_amount > v_max_run then
        return tg_refusal('run_limit_exceeded', 'This hold would push the run over its cost limit',
          jsonb_build_object('run_id', p->>'run_id', 'max_run_cost', v_max_run::text,
            'run_total', coalesce(v_run_total, 0)::text, 'required', v_amount::text));
      end if;
    end if;
    insert into run_totals (customer_id, run_id, held_micros) values (v_customer, p->>'run_id', v_amount)
      on conflict (customer_id, run_id) do update set held_micros = run_totals.held_micros + excluded.held_micros;
  end if;
  if v_funding = 'credits' and v_amount > 0 then
    v_allocations := tg_allocate(v_customer, v_amount, p_now);
    update customers set held_micros = held_micros + v_amount where id = v_customer;
    v_held := v_held + v_amount;
  end if;
  insert into holds (id, customer_id, status, funding, amount_micros, allocations, model, run_id, provider,
                     expires_at, created_at, metadata)
    values (p->>'hold_id', v_customer, 'held', v_funding, v_amount, v_allocations, p->>'model', p->>'run_id',
            p->>'provider', (p->>'expires_at')::timestamptz, p_now, p->'metadata');
  return jsonb_build_object('ok', true, 'id', p->>'hold_id', 'customer', v_customer, 'status', 'held',
    'amount', v_amount::text, 'expires_at', p->>'expires_at', 'funding', v_funding,
    'available', (v_balance - v_held)::text);
end $$;

create or replace function tg_capture(p jsonb, p_now timestamptz) returns jsonb
language plpgsql as $$
declare
  v_hold holds%rowtype;
  v_requested bigint;
  v_capture bigint;
  v_from_hold bigint;
  v_left bigint;
  v_take bigint;
  v_item jsonb;
  v_reserved bigint;
  v_expired boolean;
  v_released_expired boolean := false;
  v_extra bigint := 0;
  v_covered_extra bigint := 0;
  v_shortfall bigint := 0;
  v_share bigint := coalesce((p->>'referral_share')::bigint, 0);
  v_paid bigint;
  v_balance bigint;
  v_transaction bigint;
  v_result jsonb;
begin
  select * into v_hold from holds where id = p->>'hold';
  if not found then
    return tg_refusal('not_found', 'No such hold: ' || (p->>'hold'));
  end if;
  if v_hold.status = 'captured' then
    return v_hold.result;
  end if;
  if v_hold.status = 'voided' then
    return tg_refusal('invalid_state', 'Hold ' || v_hold.id || ' was voided and cannot be captured',
      jsonb_build_object('status', 'voided'));
  end if;
  if v_hold.expires_at <= p_now then
    -- Past its timeout the hold is the sweeper's: void it now rather than let timing decide.
    perform tg_void(jsonb_build_object('hold', v_hold.id, 'reason', 'expired'), p_now);
    return tg_refusal('invalid_state', 'Hold ' || v_hold.id || ' expired before it was captured',
      jsonb_build_object('status', 'voided'));
  end if;
  v_requested := coalesce((p->>'amount')::bigint, v_hold.amount_micros);
  v_capture := v_requested;
  if v_requested > v_hold.amount_micros and coalesce(p->>'overrun', 'clamp') = 'clamp' then
    v_capture := v_hold.amount_micros;
  end if;
  if v_capture < v_requested then
    -- A clamped capture keeps the referral share's proportion of the total.
    v_share := (v_share * v_capture) / v_requested;
  end if;
  if v_share > v_capture then
    raise exception 'tollgate ledger invariant: referral share % above capture %', v_share, v_capture;
  end if;

  if v_hold.funding = 'byok' then
    if v_hold.run_id is not null then
      update run_totals set held_micros = held_micros - v_hold.amount_micros,
        captured_micros = captured_micros + v_capture
        where customer_id = v_hold.customer_id and run_id = v_hold.run_id;
    end if;
    v_result := jsonb_build_object('ok', true, 'id', v_hold.id, 'customer', v_hold.customer_id, 'status', 'captured',
      'amount', '0', 'funding', 'byok', 'cost', v_capture::text, 'transaction_id', null);
    update holds set status = 'captured', captured_micros = 0, resolved_at = p_now, result = v_result
      where id = v_hold.id;
    return v_result;
  end if;

  v_from_hold := least(v_capture, v_hold.amount_micros);
  v_left := v_from_hold;
  for v_item in select * from jsonb_array_elements(v_hold.allocations) loop
    v_reserved := (v_item->>1)::bigint;
    v_take := least(v_left, v_reserved);
    update grants set remaining_micros = remaining_micros - v_take, reserved_micros = reserved_micros - v_reserved
      where id = v_item->>0
      returning expires_at <= p_now into v_expired;
    v_released_expired := v_released_expired or coalesce(v_expired, false);
    v_left := v_left - v_take;
  end loop;
  update customers set held_micros = held_micros - v_hold.amount_micros, balance_micros = balance_micros - v_from_hold
    where id = v_hold.customer_id
    returning balance_micros into v_balance;
  v_extra := v_capture - v_from_hold;
  if v_extra > 0 then
    -- Usage above the hold (a provider counted more tokens than we estimated): take it from what is
    -- available; only what the balance cannot cover becomes a recorded loss.
    -- tg_consume skips expired grants, so nothing expired is spent here.
    v_covered_extra := tg_consume(v_hold.customer_id, v_extra, p_now);
    v_shortfall := v_extra - v_covered_extra;
    v_balance := v_balance - v_covered_extra;
  end if;
  v_paid := v_from_hold + v_covered_extra;

  if v_paid > 0 or v_shortfall > 0 then
    -- The usage transaction and its legs in one statement.
    with usage as (
      insert into ledger_transactions (customer_id, type, amount_micros, balance_after_micros, hold_id, model, metadata, created_at)
        values (v_hold.customer_id, coalesce(p->>'type', 'usage'), -v_paid, v_balance, v_hold.id,
                coalesce(p->>'model', v_hold.model),
                coalesce(v_hold.metadata, '{}') || coalesce(p->'metadata', '{}') || jsonb_build_object(
                  'provider_cost', (v_capture - v_share)::text, 'referral_share', v_share::text,
                  'total', v_capture::text, 'shortfall', v_shortfall::text),
                p_now)
        returning id),
    legs as (
      insert into ledger_entries (transaction_id, account_id, amount_micros)
        select usage.id, leg.account, leg.amount from usage, (values
          (v_hold.customer_id, -v_paid),
          (coalesce(p->>'revenue_account', 'sys:revenue'), v_capture - v_share),
          (p->>'referral_account', v_share),
          ('sys:loss', -v_shortfall)) as leg (account, amount)
        where leg.amount <> 0)
    select id into v_transaction from usage;
  end if;
  if v_hold.run_id is not null then
    update run_totals set held_micros = held_micros - v_hold.amount_micros, captured_micros = captured_micros + v_capture
      where customer_id = v_hold.customer_id and run_id = v_hold.run_id;
  end if;
  -- Released reservations may sit on grants that expired while the hold was open (after the usage row,
  -- so that each history row's balance_after follows from the one before it).
  if v_released_expired then
    perform tg_expire_due(v_hold.customer_id, p_now);
  end if;
  v_result := jsonb_build_object('ok', true, 'id', v_hold.id, 'customer', v_hold.customer_id, 'status', 'captured',
    'amount', v_paid::text, 'funding', 'credits', 'cost', v_capture::text, 'shortfall', v_shortfall::text,
    'referral_share', v_share::text, 'balance', v_balance::text,
    'transaction_id', case when v_transaction is null then null else v_transaction::text end);
  update holds set status = 'captured', captured_micros = v_paid, resolved_at = p_now, transaction_id = v_transaction,
    result = v_result where id = v_hold.id;
  return v_result;
end $$;

create or replace function tg_void(p jsonb, p_now timestamptz) returns jsonb
language plpgsql as $$
declare
  v_hold holds%rowtype;
  v_item jsonb;
begin
  select * into v_hold from holds where id = p->>'hold';
  if not found then
    return tg_refusal('not_found', 'No such hold: ' || (p->>'hold'));
  end if;
  if v_hold.status = 'voided' then
    return jsonb_build_object('ok', true, 'id', v_hold.id, 'customer', v_hold.customer_id, 'status', 'voided',
      'reason', v_hold.void_reason);
  end if;
  if v_hold.status = 'captured' then
    return tg_refusal('invalid_state', 'Hold ' || v_hold.id || ' was already captured and cannot be voided',
      jsonb_build_object('status', 'captured'));
  end if;
  if p->>'only_if_due' = 'true' and v_hold.expires_at > p_now then
    return jsonb_build_object('ok', true, 'id', v_hold.id, 'customer', v_hold.customer_id, 'status', 'held');
  end if;
  if v_hold.funding = 'credits' then
    for v_item in select * from jsonb_array_elements(v_hold.allocations) loop
      update grants set reserved_micros = reserved_micros - (v_item->>1)::bigint where id = v_item->>0;
    end loop;
    update customers set held_micros = held_micros - v_hold.amount_micros where id = v_hold.customer_id;
  end if;
  if v_hold.run_id is not null then
    update run_totals set held_micros = held_micros - v_hold.amount_micros
      where customer_id = v_hold.customer_id and run_id = v_hold.run_id;
  end if;
  update holds set status = 'voided', resolved_at = p_now, void_reason = coalesce(p->>'reason', 'voided')
    where id = v_hold.id;
  perform tg_expire_due(v_hold.customer_id, p_now);
  return jsonb_build_object('ok', true, 'id', v_hold.id, 'customer', v_hold.customer_id, 'status', 'voided',
    'reason', coalesce(p->>'reason', 'voided'));
end $$;

create or replace function tg_extend(p jsonb, p_now timestamptz) returns jsonb
language plpgsql as $$
declare
  v_hold holds%rowtype;
begin
  select * into v_hold from holds where id = p->>'hold';
  if not found then
    return tg_refusal('not_found', 'No such hold: ' || (p->>'hold'));
  end if;
  if v_hold.status <> 'held' then
    return tg_refusal('invalid_state', 'Hold ' || v_hold.id || ' is ' || v_hold.status || ' and cannot be extended',
      jsonb_build_object('status', v_hold.status));
  end if;
  if v_hold.expires_at <= p_now then
    -- Too late to extend, as it is too late to capture (see tg_capture): void it rather than let timing decide.
    perform tg_void(jsonb_build_object('hold', v_hold.id, 'reason', 'expired'), p_now);
    return tg_refusal('invalid_state', 'Hold ' || v_hold.id || ' expired before it was extended',
      jsonb_build_object('status', 'voided'));
  end if;
  update holds set expires_at = (p->>'expires_at')::timestamptz where id = v_hold.id;
  return jsonb_build_object('ok', true, 'id', v_hold.id, 'customer', v_hold.customer_id, 'status', 'held',
    'amount', v_hold.amount_micros::text, 'expires_at', p->>'expires_at', 'funding', v_hold.funding);
end $$;

create or replace function tg_debit(p jsonb, p_now timestamptz) returns jsonb
language plpgsql as $$
declare
  v_customer text := p->>'customer';
  v_amount bigint := (p->>'amount')::bigint;
  v_balance bigint;
  v_held bigint;
  v_transaction bigint;
begin
  select balance_micros, held_micros into v_balance, v_held from customers where id = v_customer;
  if not found then
    return tg_refusal('not_found', 'No such customer: ' || v_customer);
  end if;
  if tg_expire_due(v_customer, p_now) > 0 then
    select balance_micros, held_micros into v_balance, v_held from customers where id = v_customer;
  end if;
  if v_amount > v_balance - v_held then
    return tg_refusal('insufficient_credits', 'Insufficient credits',
      jsonb_build_object('required', v_amount::text, 'available', (v_balance - v_held)::text));
  end if;
  perform tg_consume(v_customer, v_amount, p_now);
  v_balance := v_balance - v_amount;
  insert into ledger_transactions (customer_id, type, amount_micros, balance_after_micros, metadata, created_at)
    values (v_customer, coalesce(p->>'type', 'adjustment'), -v_amount, v_balance,
            jsonb_build_object('reason', p->>'reason') || coalesce(p->'metadata', '{}'), p_now)
    returning id into v_transaction;
  insert into ledger_entries (transaction_id, account_id, amount_micros)
    values (v_transaction, v_customer, -v_amount), (v_transaction, coalesce(p->>'account', 'sys:adjustments'), v_amount);
  return jsonb_build_object('ok', true, 'transaction_id', v_transaction::text, 'balance', v_balance::text);
end $$;

-- Takes back up to p.amount from one grant (a refunded purchase). What was already spent cannot be taken
-- back: it is reported as the shortfall, and the balance never goes below what holds reserve.
create or replace function tg_clawback(p jsonb, p_now timestamptz) returns jsonb
language plpgsql as $$
declare
  v_grant grants%rowtype;
  v_amount bigint := (p->>'amount')::bigint;
  v_take bigint;
  v_balance bigint;
  v_transaction bigint;
begin
  select * into v_grant from grants where id = p->>'grant';
  if not found then
    return tg_refusal('not_found', 'No such grant: ' || (p->>'grant'));
  end if;
  -- What expired is gone whether or not the sweeper got there first: write it off before taking
  -- anything back, so that a clawback never refunds expired credits (and its result never depends on
  -- when the sweeper last ran).
  if tg_expire_due(v_grant.customer_id, p_now) > 0 then
    select * into v_grant from grants where id = v_grant.id;
  end if;
  v_take := least(v_amount, v_grant.remaining_micros - v_grant.reserved_micros);
  if v_take > 0 then
    update grants set remaining_micros = remaining_micros - v_take where id = v_grant.id;
    update customers set balance_micros = balance_micros - v_take where id = v_grant.customer_id
      returning balance_micros into v_balance;
    insert into ledger_transactions (customer_id, type, amount_micros, balance_after_micros, grant_id, metadata, created_at)
      values (v_grant.customer_id, coalesce(p->>'type', 'refund'), -v_take, v_balance, v_grant.id,
              coalesce(p->'metadata', '{}') || jsonb_build_object('requested', v_amount::text,
                'shortfall', (v_amount - v_take)::text), p_now)
      returning id into v_transaction;
    insert into ledger_entries (transaction_id, account_id, amount_micros)
      values (v_transaction, v_grant.customer_id, -v_take), (v_transaction, p->>'funding_account', v_take);
  end if;
  return jsonb_build_object('ok', true, 'grant_id', v_grant.id, 'customer', v_grant.customer_id,
    'clawed_back', v_take::text, 'shortfall', (v_amount - v_take)::text,
    'transaction_id', case when v_transaction is null then null else v_transaction::text end);
end $$;

create or replace function tg_apply_one(p jsonb, p_now timestamptz) returns jsonb
language plpgsql as $$
declare
  v_result jsonb;
begin
  case p->>'op'
    when 'grant' then return tg_grant(p, p_now);
    when 'hold' then return tg_hold(p, p_now);
    when 'capture' then return tg_capture(p, p_now);
    when 'void' then return tg_void(p, p_now);
    when 'extend' then return tg_extend(p, p_now);
    when 'debit' then return tg_debit(p, p_now);
    when 'clawback' then return tg_clawback(p, p_now);
    when 'expire_grants' then
      return jsonb_build_object('ok', true, 'expired', tg_expire_due(p->>'customer', p_now)::text);
    when 'charge' then
      v_result := tg_hold(p, p_now);
      if not (v_result->>'ok')::boolean then
        return v_result;
      end if;
      return tg_capture(p || jsonb_build_object('hold', p->>'hold_id'), p_now);
    else
      -- Domain operations defined by later migrations (purchases, gift codes, subscriptions) are
      -- functions named tg_op_<name>; they run in the same transaction, under the same locks.
      if p->>'op' !~ '^[a-z_]{1,40}$' or to_regproc('tg_op_' || (p->>'op')) is null then
        raise exception 'tollgate ledger: unknown operation %', p->>'op';
      end if;
      execute format('select tg_op_%s($1, $2)', p->>'op') into v_result using p, p_now;
      return v_result;
  end case;
end $$;

create or replace function tg_ledger_apply(p_ops jsonb, p_now timestamptz) returns jsonb
language plpgsql
-- Every statement of the write path finds its rows by key. Plans are cached per session: one planned
-- while a table was tiny would otherwise keep scanning it after it has grown.
set enable_seqscan = off
as $$
declare
  v_op jsonb;
  v_result jsonb;
  v_existing record;
  v_results jsonb[] := '{}';
begin
  -- Lock every customer the batch touches, in id order, before any write: batches never deadlock on
  -- customers, and everything below (grants, holds, run totals) belongs to a locked customer.
  perform 1 from customers where id in (
      select k.id from jsonb_array_elements(p_ops) e,
        lateral (values (e->>'customer'),
                        ((select h.customer_id from holds h where h.id = e->>'hold')),
                        ((select g.customer_id from grants g where g.id = e->>'grant'))) as k (id)
      where k.id is not null)
    order by id for update;
  for v_op in select value from jsonb_array_elements(p_ops) loop
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
        v_results := v_results || v_result;
        continue;
      end if;
    end if;
    v_result := tg_apply_one(v_op, p_now);
    if v_op ? 'key' then
      update idempotency_keys set response = v_result where scope = v_op->>'scope' and key = v_op->>'key';
    end if;
    v_results := v_results || v_result;
  end loop;
  return to_jsonb(v_results);
end $$;
`;
