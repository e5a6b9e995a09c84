/** Shapes on the wire: snake_case, credits as JSON numbers built from exact decimal text. */

import type { CustomerRecord } from '../customers/customers-service.ts';
import type { BalanceView, TransactionView } from '../ledger/ledger.ts';
import { microsToCredits } from '../shared/money.ts';

export const credits = microsToCredits;

export function balanceWire(balance: BalanceView) {
  return {
    balance: credits(balance.balanceMicros),
    pending: credits(balance.pendingMicros),
    available: credits(balance.availableMicros),
    breakdown: Object.fromEntries(
      Object.entries(balance.bySource).map(([source, micros]) => [source, credits(micros)]),
    ),
    grants: balance.grants.map((grant) => ({
      id: grant.id,
      source: grant.source,
      amount: credits(grant.amountMicros),
      remaining: credits(grant.remainingMicros),
      reserved: credits(grant.reservedMicros),
      expires_at: grant.expiresAt?.toISOString() ?? null,
      created_at: grant.createdAt.toISOString(),
    })),
  };
}

export function customerWire(customer: CustomerRecord, balance: BalanceView, subscription: unknown = null) {
  return {
    id: customer.id,
    object: 'customer',
    external_id: customer.externalId,
    type: customer.type,
    email: customer.email,
    created_at: customer.createdAt.toISOString(),
    ...balanceWire(balance),
    subscription,
  };
}

const METADATA_CREDIT_FIELDS = ['provider_cost', 'referral_share', 'total', 'shortfall', 'requested'];

export function transactionWire(row: TransactionView) {
  const metadata: Record<string, unknown> = { ...row.metadata };
  const amounts: Record<string, number> = {};
  for (const field of METADATA_CREDIT_FIELDS) {
    const value = metadata[field];
    if (typeof value === 'string' && /^-?\d+$/.test(value)) {
      amounts[field] = credits(BigInt(value));
      delete metadata[field];
    }
  }
  const { source, reason, ...rest } = metadata as { source?: string; reason?: string; member_id?: unknown };
  return {
    id: row.id,
    type: row.type,
    amount: credits(row.amountMicros),
    balance_after: credits(row.balanceAfterMicros),
    model: row.model,
    hold_id: row.holdId,
    grant_id: row.grantId,
    source: source ?? null,
    description: reason ?? null,
    // Which member of an organisation spent (teams/): the hold names it, its capture inherits it.
    ...(typeof rest.member_id === 'string' ? { member: rest.member_id } : {}),
    ...amounts,
    metadata: rest,
    created_at: row.createdAt.toISOString(),
  };
}
