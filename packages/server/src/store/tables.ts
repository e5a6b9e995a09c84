/** Row types of the tables Kysely queries (the ledger's own writes go through `tg_ledger_write`). */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<unknown, string, string>;

export interface CustomersTable {
  id: string;
  app_id: string | null;
  external_id: string | null;
  email: string | null;
  balance_micros: Generated<bigint>;
  held_micros: Generated<bigint>;
  /** Bumped by every ledger batch that changes the customer (see ledger/README.md). */
  revision: Generated<bigint>;
  metadata: Json | null;
  created_at: DefaultedTimestamp;
  /** An organisation's members spend its balance (teams/). */
  type: ColumnType<'individual' | 'organization', 'individual' | 'organization' | undefined, never>;
}

/** An organisation's members (teams/); a removed one keeps its row. */
export interface MembersTable {
  id: string;
  customer_id: string;
  external_id: string;
  created_at: DefaultedTimestamp;
  removed_at: Timestamp | null;
}

export interface GrantsTable {
  id: string;
  customer_id: string;
  source: string;
  amount_micros: bigint;
  remaining_micros: bigint;
  reserved_micros: bigint;
  priority: number;
  expires_at: Timestamp | null;
  reason: string | null;
  metadata: Json | null;
  created_at: Timestamp;
  scope: Json | null;
  voided_at: Timestamp | null;
}

export interface HoldsTable {
  id: string;
  customer_id: string;
  status: 'held' | 'captured' | 'voided';
  funding: 'credits' | 'byok';
  amount_micros: bigint;
  captured_micros: bigint | null;
  allocations: Json;
  model: string | null;
  model_type: string | null;
  run_id: string | null;
  provider: string | null;
  expires_at: Timestamp;
  created_at: Timestamp;
  resolved_at: Timestamp | null;
  void_reason: string | null;
  transaction_id: bigint | null;
  result: Json | null;
  metadata: Json | null;
  provider_key_read_at: Timestamp | null;
  /** The spend limits the hold counted against: [scope, period start, limit id] (ledger/spend-limits.ts). */
  spend_limits: Json | null;
}

export interface LedgerTransactionsTable {
  id: Generated<bigint>;
  customer_id: string;
  type: string;
  amount_micros: bigint;
  balance_after_micros: bigint;
  hold_id: string | null;
  grant_id: string | null;
  model: string | null;
  metadata: Json | null;
  created_at: Timestamp;
}

export interface LedgerEntriesTable {
  transaction_id: bigint;
  /** The customer of the leg's transaction (its shard on a distributed cluster), also on system legs. */
  customer_id: string;
  account_id: string;
  amount_micros: bigint;
}

export interface LedgerAccountsTable {
  id: string;
  kind: string;
  app_id: string | null;
  created_at: DefaultedTimestamp;
}

export interface AppsTable {
  id: string;
  name: string;
  referral_rate_ppm: bigint;
  allowed_models: Json | null;
  byok_allowed: Generated<boolean>;
  return_origins: ColumnType<unknown, string | undefined, string>;
  logo_url: Generated<string | null>;
  accent_color: Generated<string | null>;
  website_url: Generated<string | null>;
  publishable_key: string | null;
  referral_rate_max_ppm: bigint;
  created_at: DefaultedTimestamp;
}

export interface AppReferralRateChangesTable {
  id: string;
  app_id: string;
  changed_by: 'operator' | 'app';
  from_rate_ppm: bigint | null;
  to_rate_ppm: bigint;
  max_rate_ppm: bigint;
  created_at: DefaultedTimestamp;
}

export interface ApiKeysTable {
  id: string;
  kind: 'admin' | 'publishable' | 'secret' | 'user';
  key_hash: string;
  key_hint: string;
  app_id: string | null;
  customer_id: string | null;
  created_at: DefaultedTimestamp;
  revoked_at: Timestamp | null;
  /** Null: never (keys the app issues); set for portal sessions. */
  expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** User keys only: the customer's name for it ("Default" for the first). */
  name: ColumnType<string | null, string | null | undefined, string | null>;
  last_used_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** User keys of an organisation's member (teams/). */
  member_id: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ProviderKeysTable {
  customer_id: string;
  provider: string;
  ciphertext: string;
  key_hint: string;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface SettingsTable {
  name: string;
  value: string;
}

/** Written only by the ledger (tg_ledger_write); read with the customer's account. */
export interface SpendLimitsTable {
  customer_id: string;
  /** `customer`, `key:<user key id>` or `member:<member id>`. */
  scope: string;
  amount_micros: bigint;
  period: 'day' | 'week' | 'month' | 'total';
  period_start: Timestamp;
  spent_micros: bigint;
  limit_id: string;
}

export interface RunTotalsTable {
  customer_id: string;
  run_id: string;
  captured_micros: bigint;
  held_micros: bigint;
}

export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  request_hash: string;
  response: Json | null;
  created_at: DefaultedTimestamp;
}

export interface PortalLinksTable {
  id: string;
  customer_id: string;
  token_hash: string;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  user_key_id: string | null;
  created_at: Timestamp;
}

export interface OAuthStatesTable {
  state_hash: string;
  customer_id: string;
  provider: string;
  code_verifier_sealed: string;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  created_at: Timestamp;
}

export interface Tables {
  customers: CustomersTable;
  members: MembersTable;
  grants: GrantsTable;
  holds: HoldsTable;
  ledger_transactions: LedgerTransactionsTable;
  ledger_entries: LedgerEntriesTable;
  ledger_accounts: LedgerAccountsTable;
  apps: AppsTable;
  app_referral_rate_changes: AppReferralRateChangesTable;
  api_keys: ApiKeysTable;
  provider_keys: ProviderKeysTable;
  settings: SettingsTable;
  run_totals: RunTotalsTable;
  spend_limits: SpendLimitsTable;
  idempotency_keys: IdempotencyKeysTable;
  portal_links: PortalLinksTable;
  oauth_states: OAuthStatesTable;
}
