/**
 * One-time sign-in codes for the checkout widget: only a salted digest is kept, with its expiry and
 * the guesses made. At most one live code per app and email (a new one supersedes the last).
 */
export const up = `
create table widget_login_codes (
  id text primary key,
  app_id text not null references apps (id),
  email text not null,
  code_salt text not null,
  code_hash text not null,
  attempts integer not null default 0,
  expires_at timestamptz not null,
  consumed_at timestamptz,
  created_at timestamptz not null
);
create unique index widget_login_codes_live on widget_login_codes (app_id, email) where consumed_at is null;
create index widget_login_codes_expiry on widget_login_codes (expires_at);
`;
