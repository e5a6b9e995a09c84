/**
 * A guest (an anonymous widget customer) signs in as an email that already has an account: what the
 * guest bought must not stay behind on a customer nobody can reach. The guest's credits move to the
 * account in one ledger transaction holding both customers' locks:
 *
 * - each live grant's unreserved remainder is clawed back from the guest (`merge_out`) and granted to
 *   the account (`merge_in`) with the same source, spend priority and expiry — a history row on each
 *   side, the legs through the grant's funding account, so the books stay balanced and an expiring
 *   credit still expires when it would have;
 * - the guest's unspent signup bonus is not carried over but written back (`bonus_forfeited`): the
 *   account is the identity's one bonus (earned with its own verification);
 * - the guest's purchases (pending ones included) move with it, each completed one pointing at the
 *   grant that now holds its credits, so a later webhook fulfils — and a refund claws back — on the
 *   account;
 * - the guest's user keys are revoked, and the merge is recorded in `customer_merges`.
 *
 * What it moves is read under the locks, so a retry, a second sign-in or a concurrent one finds
 * nothing left to move: credits move at most once. Two cases are refused instead (409 invalid_state,
 * with a stable `reason`), before the sign-in code is spent when possible: an open hold on the guest
 * (`guest_holds_open`: a generation in flight is paid from the guest; sign in again when it has
 * finished), and a live subscription on the guest (`guest_has_subscription`: it renews onto the guest;
 * cancel it, or sign in to another email).
 */

import { ANONYMOUS_PREFIX } from '../customers/signup-bonus.ts';
import type { LedgerTransaction } from '../ledger/ledger.ts';
import { type Ledger, unwrap } from '../ledger/ledger.ts';
import type { GrantScope, GrantSource } from '../ledger/spend-order.ts';
import type { Clock } from '../shared/clock.ts';
import { TollgateError } from '../shared/errors.ts';
import type { Database } from '../store/database.ts';

export const MergeRefusals = {
  holdsOpen: 'guest_holds_open',
  subscription: 'guest_has_subscription',
} as const;

export interface MergeOutcome {
  movedMicros: bigint;
  forfeitedMicros: bigint;
  revokedKeyHashes: string[];
}

interface GuestGrant {
  id: string;
  source: GrantSource;
  priority: number;
  remaining_micros: bigint;
  reserved_micros: bigint;
  expires_at: Date | string | null;
  scope: GrantScope | null;
}

type Query = (text: string, parameters: unknown[]) => Promise<Record<string, unknown>[]>;

export class GuestMerge {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly clock: Clock,
  ) {}

  /** Refuses a guest that cannot be merged now; checked again under the locks by `merge`. */
  async assertMergeable(guestId: string): Promise<void> {
    await assertMergeable((text, parameters) => this.db.query(text, parameters), guestId);
  }

  async merge(input: { appId: string; guestId: string; accountId: string }): Promise<MergeOutcome> {
    if (input.guestId === input.accountId)
      return { movedMicros: 0n, forfeitedMicros: 0n, revokedKeyHashes: [] };
    return this.ledger.transaction([input.guestId, input.accountId], async (transaction) => {
      const query: Query = (text, parameters) => transaction.query(text, parameters);
      const customers = await transaction.query<{
        id: string;
        app_id: string | null;
        external_id: string | null;
      }>('select id, app_id, external_id from customers where id = any($1::text[])', [
        [input.guestId, input.accountId],
      ]);
      const guest = customers.find((row) => row.id === input.guestId);
      const account = customers.find((row) => row.id === input.accountId);
      if (!guest || !account || guest.app_id !== input.appId || account.app_id !== input.appId) {
        throw new TollgateError('not_found', 'No such customer');
      }
      // Only an anonymous guest is absorbed; any other customer keeps what it has.
      if (!guest.external_id?.startsWith(ANONYMOUS_PREFIX)) {
        return { movedMicros: 0n, forfeitedMicros: 0n, revokedKeyHashes: [] };
      }
      await assertMergeable(query, input.guestId);
      const { movedMicros, forfeitedMicros, movedGrants } = await this.moveGrants(transaction, input);
      await this.movePurchases(transaction, input, movedGrants);
      const revoked = await transaction.query<{ key_hash: string }>(
        `update api_keys set revoked_at = $2 where customer_id = $1 and kind = 'user' and revoked_at is null
         returning key_hash`,
        [input.guestId, this.clock.now().toISOString()],
      );
      await transaction.query(
        `insert into customer_merges (guest_customer_id, account_customer_id, app_id, moved_micros, forfeited_micros, created_at)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (guest_customer_id) do update set
           moved_micros = customer_merges.moved_micros + excluded.moved_micros,
           forfeited_micros = customer_merges.forfeited_micros + excluded.forfeited_micros`,
        [
          input.guestId,
          input.accountId,
          input.appId,
          movedMicros.toString(),
          forfeitedMicros.toString(),
          this.clock.now().toISOString(),
        ],
      );
      return { movedMicros, forfeitedMicros, revokedKeyHashes: revoked.map((row) => row.key_hash) };
    });
  }

  private async moveGrants(transaction: LedgerTransaction, input: { guestId: string; accountId: string }) {
    const now = this.clock.now();
    const grants = await transaction.query<GuestGrant>(
      `select id, source, priority, remaining_micros, reserved_micros, expires_at, scope from grants
       where customer_id = $1 and remaining_micros > reserved_micros and (expires_at is null or expires_at > $2::timestamptz)
         and voided_at is null
       order by created_at, id`,
      [input.guestId, now.toISOString()],
    );
    const bonuses = new Set(
      (
        await transaction.query<{ grant_id: string }>(
          `select grant_id from ledger_transactions where customer_id = $1 and type = 'signup_bonus' and grant_id is not null`,
          [input.guestId],
        )
      ).map((row) => row.grant_id),
    );
    let movedMicros = 0n;
    let forfeitedMicros = 0n;
    const movedGrants = new Map<string, string>();
    for (const grant of grants) {
      const amount = BigInt(grant.remaining_micros) - BigInt(grant.reserved_micros);
      const forfeit = bonuses.has(grant.id);
      const taken = unwrap(
        await transaction.clawback({
          grantId: grant.id,
          amountMicros: amount,
          type: forfeit ? 'bonus_forfeited' : 'merge_out',
          metadata: forfeit
            ? {
                reason: 'The account this guest signed in to has its own signup bonus',
                merged_into: input.accountId,
              }
            : { merged_into: input.accountId },
        }),
      ).clawedBackMicros;
      if (taken <= 0n) continue;
      if (forfeit) {
        forfeitedMicros += taken;
        continue;
      }
      const moved = unwrap(
        transaction.grant({
          customerId: input.accountId,
          amountMicros: taken,
          source: grant.source,
          priority: Number(grant.priority),
          ...(grant.expires_at ? { expiresAt: new Date(grant.expires_at) } : {}),
          ...(grant.scope ? { scope: grant.scope } : {}),
          type: 'merge_in',
          reason: 'Credits from a guest session',
          metadata: { merged_from: input.guestId, from_grant: grant.id },
        }),
      );
      movedGrants.set(grant.id, moved.grantId);
      movedMicros += taken;
    }
    return { movedMicros, forfeitedMicros, movedGrants };
  }

  /** The guest's purchases follow its credits (grant ids remapped where the credits moved). */
  private async movePurchases(
    transaction: LedgerTransaction,
    input: { guestId: string; accountId: string },
    movedGrants: Map<string, string>,
  ): Promise<void> {
    const purchases = await transaction.query<{ id: string; grant_id: string | null }>(
      'select id, grant_id from purchases where customer_id = $1 for update',
      [input.guestId],
    );
    for (const purchase of purchases) {
      const grantId = purchase.grant_id ? (movedGrants.get(purchase.grant_id) ?? purchase.grant_id) : null;
      await transaction.query('update purchases set customer_id = $2, grant_id = $3 where id = $1', [
        purchase.id,
        input.accountId,
        grantId,
      ]);
    }
  }
}

async function assertMergeable(query: Query, guestId: string): Promise<void> {
  const [state] = await query(
    `select c.held_micros,
       exists (select 1 from subscriptions s where s.customer_id = c.id and s.status in ('active', 'past_due')) as subscribed
     from customers c where c.id = $1`,
    [guestId],
  );
  if (!state) return;
  if (BigInt(state.held_micros as bigint) > 0n) {
    throw new TollgateError(
      'invalid_state',
      'A generation paid from this guest session is still running. Sign in again when it has finished; nothing was moved.',
      { reason: MergeRefusals.holdsOpen },
    );
  }
  if (state.subscribed) {
    throw new TollgateError(
      'invalid_state',
      'This guest session has a plan that would keep renewing on it. Cancel the plan first, or sign in with another email; nothing was moved.',
      { reason: MergeRefusals.subscription },
    );
  }
}
