/** Media generation jobs (fal-style queue): each holds credits at submit and is settled when it ends. */
export const up = `
create table generations (
  id text primary key,
  customer_id text not null references customers (id),
  app_id text,
  model text not null,
  provider text not null,
  hold_id text not null,
  funding text not null,
  status text not null check (status in ('queued', 'in_progress', 'completed', 'failed')),
  upstream_request_id text,
  status_url text,
  response_url text,
  input jsonb,
  result jsonb,
  error text,
  cost_micros bigint,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  completed_at timestamptz
);
create index generations_customer on generations (customer_id, created_at desc);
create index generations_pending on generations (updated_at) where status in ('queued', 'in_progress');
`;
