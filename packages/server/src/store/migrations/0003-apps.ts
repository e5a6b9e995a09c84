/** Apps, their keys and the gate's bookkeeping (provider keys, settings). */
export const up = `
create table apps (
  id text primary key,
  name text not null,
  referral_rate_ppm bigint not null default 0 check (referral_rate_ppm >= 0),
  allowed_models jsonb,
  created_at timestamptz not null default now()
);

create table api_keys (
  id text primary key,
  kind text not null check (kind in ('admin', 'publishable', 'secret', 'user')),
  key_hash text not null unique,
  key_hint text not null,
  app_id text references apps (id),
  customer_id text references customers (id),
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);
create index api_keys_customer on api_keys (customer_id);

create table provider_keys (
  customer_id text not null references customers (id),
  provider text not null,
  ciphertext text not null,
  key_hint text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (customer_id, provider)
);

-- A byok hold lets the app's backend read the customer's provider key back once.
alter table holds add column provider_key_read_at timestamptz;

create table settings (
  name text primary key,
  value text not null
);
`;
