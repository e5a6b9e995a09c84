/**
 * Outbound webhooks and low-balance alerts (issue 15 items 1–2).
 *
 *   - `webhook_endpoints`: an app's URLs, the event types each wants and its signing secret (the
 *     previous one stays valid until `previous_secret_expires_at` after a rotation).
 *   - `app_events`: the outbox. An event is inserted by `tg_emit_events` in the same transaction as the
 *     change it reports, together with one `webhook_deliveries` row per enabled endpoint of the app that
 *     wants its type (and one `email` delivery of a `balance.low` to a customer with an address).
 *   - `webhook_deliveries`: what is owed to whom. A node claims due rows (`for update skip locked`) and
 *     moves `next_attempt_at` past a lease in the same statement, so no two nodes hold one attempt.
 *   - `webhook_attempts`: each attempt's outcome (status code, latency, error).
 *   - Low balance: `apps.low_balance_threshold_micros` (default for its customers),
 *     `customers.low_balance_threshold_micros` (override) and `customers.balance_alert` (0 at or above
 *     the threshold, 1 below it, 2 at zero: what was last reported). The ledger engine decides a
 *     crossing from the state it read and writes the new level and the events with its batch through
 *     `tg_ledger_write_events`, which is `tg_ledger_write` plus those two steps; batches without
 *     events still call `tg_ledger_write` alone. `tg_ledger_load_alerts` is `tg_ledger_load` plus each
 *     customer's threshold and level.
 *
 * Customer-owned rows carry `customer_id` in their keys (issue 17: distributable by customer).
 */
export const up = `
alter table apps add column low_balance_threshold_micros bigint check (low_balance_threshold_micros >= 0);
alter table customers add column low_balance_threshold_micros bigint check (low_balance_threshold_micros >= 0);
alter table customers add column balance_alert smallint not null default 0 check (balance_alert between 0 and 2);

create table webhook_endpoints (
  id text primary key,
  app_id text not null references apps (id),
  url text not null,
  description text,
  event_types jsonb not null,
  enabled boolean not null default true,
  secret text not null,
  previous_secret text,
  previous_secret_expires_at timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index webhook_endpoints_app on webhook_endpoints (app_id) where enabled;

create table app_events (
  customer_id text not null,
  id text not null,
  -- Lists are newest first by this: timestamps tie within a transaction.
  seq bigint generated always as identity,
  app_id text not null,
  type text not null,
  data jsonb not null,
  created_at timestamptz not null,
  primary key (customer_id, id)
);
create index app_events_id on app_events (id);
create index app_events_app on app_events (app_id, seq desc);

create table webhook_deliveries (
  customer_id text not null,
  id text not null,
  seq bigint generated always as identity,
  event_id text not null,
  app_id text not null,
  endpoint_id text,
  channel text not null check (channel in ('webhook', 'email')),
  status text not null check (status in ('pending', 'succeeded', 'dead')),
  attempts int not null default 0,
  next_attempt_at timestamptz not null,
  last_status_code int,
  last_error text,
  created_at timestamptz not null,
  completed_at timestamptz,
  primary key (customer_id, id),
  check ((channel = 'webhook') = (endpoint_id is not null))
);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending';
create index webhook_deliveries_id on webhook_deliveries (id);
create index webhook_deliveries_event on webhook_deliveries (event_id);
create index webhook_deliveries_app on webhook_deliveries (app_id, seq desc);

create table webhook_attempts (
  customer_id text not null,
  delivery_id text not null,
  attempt int not null,
  started_at timestamptz not null,
  latency_ms int,
  status_code int,
  error text,
  primary key (customer_id, delivery_id, attempt)
);

-- p: [[customer id, type, data], …]. Events of customers without an app go nowhere and are not kept.
create or replace function tg_emit_events(p jsonb, p_now timestamptz) returns int
language plpgsql as $$
declare
  v_count int;
begin
  with events as (
    insert into app_events (customer_id, id, app_id, type, data, created_at)
      select c.id, 'evt_' || replace(gen_random_uuid()::text, '-', ''), c.app_id, u.e->>1,
             jsonb_build_object('customer', c.id, 'external_id', c.external_id) || (u.e->2), p_now
      from jsonb_array_elements(p) u (e) join customers c on c.id = u.e->>0
      where c.app_id is not null
      returning customer_id, id, app_id, type),
  webhooks as (
    insert into webhook_deliveries (customer_id, id, event_id, app_id, endpoint_id, channel, status,
                                    next_attempt_at, created_at)
      select ev.customer_id, 'whd_' || replace(gen_random_uuid()::text, '-', ''), ev.id, ev.app_id, w.id,
             'webhook', 'pending', p_now, p_now
      from events ev join webhook_endpoints w on w.app_id = ev.app_id and w.enabled
      where w.event_types ? ev.type or w.event_types ? '*'
      returning 1)
  -- (A data-modifying WITH runs to completion whether or not the statement reads it.)
  insert into webhook_deliveries (customer_id, id, event_id, app_id, endpoint_id, channel, status,
                                  next_attempt_at, created_at)
    select ev.customer_id, 'whd_' || replace(gen_random_uuid()::text, '-', ''), ev.id, ev.app_id, null,
           'email', 'pending', p_now, p_now
    from events ev join customers c on c.id = ev.customer_id
    where ev.type = 'balance.low' and c.email is not null;
  select count(*) into v_count from jsonb_array_elements(p);
  return v_count;
end $$;

create or replace function tg_ledger_write_events(p jsonb, p_now timestamptz) returns json
language plpgsql as $$
declare
  v_ids json;
begin
  -- The write checks every customer's revision first and keeps their rows locked: the levels below
  -- were decided from the state it confirmed.
  v_ids := tg_ledger_write(p, p_now);
  if p ? 'a' then
    update customers c set balance_alert = (u.e->>1)::smallint
      from jsonb_array_elements(p->'a') u (e)
      where c.id = u.e->>0;
  end if;
  if p ? 'o' then
    perform tg_emit_events(p->'o', p_now);
  end if;
  return v_ids;
end $$;

create or replace function tg_ledger_load_alerts(p_customers text[], p_holds text[], p_runs jsonb, p_keys jsonb)
returns json
language plpgsql stable as $$
declare
  v_ids text[] := array(select unnest(p_customers) union select customer_id from holds where id = any(p_holds));
begin
  return (tg_ledger_load(p_customers, p_holds, p_runs, p_keys)::jsonb || jsonb_build_object(
    'alerts', (select coalesce(jsonb_agg(jsonb_build_array(c.id,
                 coalesce(c.low_balance_threshold_micros, a.low_balance_threshold_micros)::text, c.balance_alert)), '[]')
               from customers c left join apps a on a.id = c.app_id
               where c.id = any(v_ids))))::json;
end $$;
`;
