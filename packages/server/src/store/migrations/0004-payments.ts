/**
 * Selling credits: purchases (Stripe Checkout or the test-mode provider), webhook events, gift codes
 * and subscriptions. The money-moving steps are ledger operations (`tg_op_*`), so that the purchase's
 * state, the event id and the grant commit in one transaction under the customer's lock.
 */
export const up = String.raw`
create table purchases (
  id text primary key,
  customer_id text not null references customers (id),
  app_id text,
  kind text not null check (kind in ('credits', 'pack')),
  pack_code text,
  provider text not null check (provider in ('stripe', 'test')),
  provider_session_id text unique,
  payment_intent_id text,
  amount_cents bigint not null check (amount_cents > 0),
  currency text not null default 'usd',
  credits_micros bigint not null check (credits_micros > 0),
  bonus_micros bigint not null default 0 check (bonus_micros >= 0),
  status text not null check (status in ('pending', 'completed', 'failed', 'refunded', 'partially_refunded')),
  grant_id text,
  refunded_cents bigint not null default 0,
  clawback_requested_micros bigint not null default 0,
  refund_shortfall_micros bigint not null default 0,
  success_url text,
  cancel_url text,
  created_at timestamptz not null,
  completed_at timestamptz,
  failed_at timestamptz
);
create index purchases_customer on purchases (customer_id, created_at desc);
create index purchases_payment_intent on purchases (payment_intent_id) where payment_intent_id is not null;

create table webhook_events (
  id text primary key,
  type text not null,
  received_at timestamptz not null,
  result jsonb
);

create table gift_code_batches (
  id text primary key,
  app_id text,
  amount_micros bigint not null check (amount_micros > 0),
  count integer not null,
  max_redemptions integer not null,
  expires_at timestamptz,
  created_at timestamptz not null
);

create table gift_codes (
  id text primary key,
  batch_id text not null references gift_code_batches (id),
  app_id text,
  code_hash text not null unique,
  code_hint text not null,
  amount_micros bigint not null check (amount_micros > 0),
  max_redemptions integer not null check (max_redemptions > 0),
  redemptions integer not null default 0,
  expires_at timestamptz,
  created_at timestamptz not null,
  constraint gift_codes_redemptions_bounded check (redemptions >= 0 and redemptions <= max_redemptions)
);

create table gift_redemptions (
  code_id text not null references gift_codes (id),
  customer_id text not null references customers (id),
  grant_id text not null,
  redeemed_at timestamptz not null,
  primary key (code_id, customer_id)
);

create table subscriptions (
  id text primary key,
  customer_id text not null references customers (id),
  plan_code text not null,
  status text not null check (status in ('incomplete', 'active', 'past_due', 'canceled')),
  provider text not null check (provider in ('stripe', 'test')),
  provider_subscription_id text unique,
  provider_session_id text unique,
  current_period_start timestamptz,
  current_period_end timestamptz,
  pending_plan_code text,
  cancel_at_period_end boolean not null default false,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create unique index subscriptions_one_live_per_customer on subscriptions (customer_id)
  where status in ('active', 'past_due');

-- Completes a purchase exactly once: the event id, the purchase's new state and the grant commit together.
create or replace function tg_op_fulfil_purchase(p jsonb, p_now timestamptz) returns jsonb
language plpgsql as $$
declare
  v_purchase purchases%rowtype;
  v_grant jsonb;
begin
  select * into v_purchase from purchases where id = p->>'purchase' for update;
  if not found or v_purchase.customer_id <> p->>'customer' then
    return tg_refusal('not_found', 'No such purchase: ' || (p->>'purchase'));
  end if;
  if p->>'event_id' is not null then
    insert into webhook_events (id, type, received_at) values (p->>'event_id', coalesce(p->>'event_type', 'unknown'), p_now)
      on conflict (id) do nothing;
  end if;
  if v_purchase.grant_id is not null then
    return jsonb_build_object('ok', true, 'purchase', v_purchase.id, 'status', v_purchase.status,
      'grant_id', v_purchase.grant_id, 'credits', v_purchase.credits_micros::text, 'replayed', true);
  end if;
  v_grant := tg_grant(jsonb_build_object(
    'customer', v_purchase.customer_id, 'grant_id', p->>'grant_id', 'amount', v_purchase.credits_micros::text,
    'source', 'purchase', 'priority', 3, 'type', 'purchase', 'funding_account', 'sys:purchases',
    'reason', 'Credit purchase',
    'metadata', jsonb_build_object('purchase_id', v_purchase.id, 'amount_cents', v_purchase.amount_cents::text,
      'bonus', v_purchase.bonus_micros::text, 'pack', v_purchase.pack_code,
      'session_id', v_purchase.provider_session_id, 'event_id', p->>'event_id')), p_now);
  if not (v_grant->>'ok')::boolean then
    raise exception 'tollgate: purchase % could not be granted: %', v_purchase.id, v_grant;
  end if;
  update purchases set status = 'completed', grant_id = p->>'grant_id', completed_at = p_now,
      payment_intent_id = coalesce(p->>'payment_intent', payment_intent_id)
    where id = v_purchase.id;
  return jsonb_build_object('ok', true, 'purchase', v_purchase.id, 'status', 'completed', 'grant_id', p->>'grant_id',
    'credits', v_purchase.credits_micros::text, 'balance', v_grant->>'balance', 'replayed', false);
end $$;

-- Claws back the refunded share of a purchase (p.target_micros, for the cumulative p.refunded_cents:
-- Stripe's amount_refunded),
-- so redelivered or reordered refund events never take twice: only the growth since the last one counts.
create or replace function tg_op_refund_purchase(p jsonb, p_now timestamptz) returns jsonb
language plpgsql as $$
declare
  v_purchase purchases%rowtype;
  v_refunded bigint := (p->>'refunded_cents')::bigint;
  v_target bigint;
  v_delta bigint;
  v_clawback jsonb;
  v_shortfall bigint := 0;
begin
  select * into v_purchase from purchases where id = p->>'purchase' for update;
  if not found or v_purchase.customer_id <> p->>'customer' then
    return tg_refusal('not_found', 'No such purchase: ' || (p->>'purchase'));
  end if;
  if p->>'event_id' is not null then
    insert into webhook_events (id, type, received_at) values (p->>'event_id', coalesce(p->>'event_type', 'unknown'), p_now)
      on conflict (id) do nothing;
  end if;
  if v_purchase.grant_id is null or v_refunded <= v_purchase.refunded_cents then
    return jsonb_build_object('ok', true, 'purchase', v_purchase.id, 'status', v_purchase.status, 'clawed_back', '0',
      'shortfall', '0', 'replayed', true);
  end if;
  v_refunded := least(v_refunded, v_purchase.amount_cents);
  -- The refunded share of the credits is computed by payments/compute.ts (refundedCredits) for this
  -- cumulative amount; here only the growth since the last refund is taken.
  v_target := least((p->>'target_micros')::bigint, v_purchase.credits_micros);
  v_delta := v_target - v_purchase.clawback_requested_micros;
  if v_delta > 0 then
    v_clawback := tg_clawback(jsonb_build_object('grant', v_purchase.grant_id, 'amount', v_delta::text, 'type', 'refund',
      'funding_account', 'sys:purchases',
      'metadata', jsonb_build_object('purchase_id', v_purchase.id, 'refunded_cents', v_refunded::text,
        'event_id', p->>'event_id')), p_now);
    v_shortfall := (v_clawback->>'shortfall')::bigint;
  end if;
  update purchases set refunded_cents = v_refunded,
      clawback_requested_micros = clawback_requested_micros + greatest(v_delta, 0),
      refund_shortfall_micros = refund_shortfall_micros + v_shortfall,
      status = case when v_refunded >= amount_cents then 'refunded' else 'partially_refunded' end
    where id = v_purchase.id;
  return jsonb_build_object('ok', true, 'purchase', v_purchase.id,
    'status', case when v_refunded >= v_purchase.amount_cents then 'refunded' else 'partially_refunded' end,
    'clawed_back', (greatest(v_delta, 0) - v_shortfall)::text, 'shortfall', v_shortfall::text, 'replayed', false);
end $$;

-- Redeems a gift code at most max_redemptions times and once per customer: the code's row lock
-- serializes concurrent redemptions, the counter's check constraint backs it up.
create or replace function tg_op_redeem_gift(p jsonb, p_now timestamptz) returns jsonb
language plpgsql as $$
declare
  v_code gift_codes%rowtype;
  v_grant jsonb;
begin
  select * into v_code from gift_codes where code_hash = p->>'code_hash' for update;
  if not found or v_code.app_id is distinct from (p->>'app_id') then
    return tg_refusal('not_found', 'This gift code does not exist');
  end if;
  if v_code.expires_at is not null and v_code.expires_at <= p_now then
    return tg_refusal('invalid_state', 'This gift code has expired');
  end if;
  if exists (select 1 from gift_redemptions where code_id = v_code.id and customer_id = p->>'customer') then
    return tg_refusal('already_redeemed', 'You have already redeemed this gift code');
  end if;
  if v_code.redemptions >= v_code.max_redemptions then
    return tg_refusal('already_redeemed', 'This gift code has already been redeemed');
  end if;
  update gift_codes set redemptions = redemptions + 1 where id = v_code.id;
  insert into gift_redemptions (code_id, customer_id, grant_id, redeemed_at)
    values (v_code.id, p->>'customer', p->>'grant_id', p_now);
  v_grant := tg_grant(jsonb_build_object(
    'customer', p->>'customer', 'grant_id', p->>'grant_id', 'amount', v_code.amount_micros::text,
    'source', 'gift', 'priority', 1, 'type', 'gift_code', 'funding_account', 'sys:gifts',
    'reason', 'Gift code ' || v_code.code_hint,
    'metadata', jsonb_build_object('gift_code_id', v_code.id)), p_now);
  if not (v_grant->>'ok')::boolean then
    raise exception 'tollgate: gift code % could not be granted: %', v_code.id, v_grant;
  end if;
  return jsonb_build_object('ok', true, 'gift_code', v_code.id, 'amount', v_code.amount_micros::text,
    'grant_id', p->>'grant_id', 'balance', v_grant->>'balance');
end $$;
`;
