/**
 * What a partner runs its business with (issue 16, the partner view).
 *
 * - `apps.publishable_key`: the publishable key itself, so the partner view can print the embed
 *   snippet. It is public by design (every page that loads the widget carries it); the secret key stays
 *   hashed only. Apps created before this migration have none stored (their key was shown once).
 * - `apps.referral_rate_max_ppm`: the ceiling the operator sets on the rate the app may choose for
 *   itself. Existing apps start with their current rate as the ceiling (they may lower it and raise it
 *   back, no further).
 * - `app_referral_rate_changes`: every change of an app's referral rate or ceiling, by whom, from what
 *   to what — the history the operator and the partner read.
 */
export const up = `
alter table apps add column publishable_key text;
alter table apps add column referral_rate_max_ppm bigint check (referral_rate_max_ppm >= 0);
update apps set referral_rate_max_ppm = referral_rate_ppm;
alter table apps alter column referral_rate_max_ppm set not null;

create table app_referral_rate_changes (
  id text primary key,
  app_id text not null references apps (id),
  changed_by text not null check (changed_by in ('operator', 'app')),
  from_rate_ppm bigint,
  to_rate_ppm bigint not null check (to_rate_ppm >= 0),
  max_rate_ppm bigint not null check (max_rate_ppm >= 0),
  created_at timestamptz not null default now()
);
create index app_referral_rate_changes_app on app_referral_rate_changes (app_id, created_at desc);
`;
