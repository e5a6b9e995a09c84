/**
 * Team wallets (teams/): an organisation customer whose members spend its one balance.
 *
 *   - `customers.type`: `individual` (every customer so far) or `organization`.
 *   - `members`: an organisation's members, by the app's own external id (unique among the members
 *     not removed). Removal keeps the row (`removed_at`), so history that names a member still finds it.
 *     Owned by the customer: its key holds `customer_id` after the id (store/distribution.ts).
 *   - `api_keys.member_id`: the member a user key belongs to. The key lookup reads it with the key, so the
 *     gateway knows the member without another round trip; holds record it in their metadata
 *     (`member_id`, inherited by the usage row) and count against the member's spend limit (scope
 *     `member:<id>` in `spend_limits`, written by ledger batches like every other limit).
 *
 * No ledger function changes: the member travels in the metadata and the limit scope the engine renders.
 */
export const up = `
alter table customers add column type text not null default 'individual'
  check (type in ('individual', 'organization'));

create table members (
  id text not null,
  customer_id text not null,
  external_id text not null,
  created_at timestamptz not null default now(),
  removed_at timestamptz,
  primary key (id, customer_id)
);
create unique index members_customer_external_id on members (customer_id, external_id) where removed_at is null;

alter table api_keys add column member_id text;
create index api_keys_member on api_keys (member_id) where member_id is not null;
`;
