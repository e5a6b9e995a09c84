/**
 * The signup bonus. Customers an app's backend creates with its secret key are vouched for by the app
 * and get it on creation (a ledger grant with a fixed idempotency key). Customers the public widget
 * opens are not: anyone can open them, so they earn it only by verifying an email (a one-time code) or
 * by paying — once per verified identity and app (table `signup_bonuses`, primary key (app, identity)),
 * once per customer, and within the app's daily cap (`signup_bonus_daily_cap` credits, table
 * `signup_bonus_days`). The claim, the day's total and the grant commit in one ledger transaction under
 * the customer's lock, so retries and races grant at most once and never past the cap.
 */
import { type Ledger, type LedgerTransaction, unwrap } from '../ledger/ledger.ts';
import type { Clock } from '../shared/clock.ts';

/** Widget customers' external ids: anonymous guests and email sign-ins. */
export const ANONYMOUS_PREFIX = 'widget:';
export const EMAIL_PREFIX = 'email:';

export type BonusOutcome =
  | { granted: true; amountMicros: bigint; grantId: string }
  | { granted: false; reason: 'disabled' | 'already_granted' | 'identity_used' | 'daily_cap' };

export interface SignupBonusSettings {
  amountMicros: bigint;
  /** Earned bonuses an app may grant per UTC day, in micro-credits. */
  dailyCapMicros: bigint;
}

export class SignupBonus {
  constructor(
    private readonly ledger: Ledger,
    private readonly clock: Clock,
    private readonly settings: SignupBonusSettings,
  ) {}

  get amountMicros(): bigint {
    return this.settings.amountMicros;
  }

  /** An app-created customer: the bonus on creation, keyed by customer so a retry grants it once. */
  async grantVouched(customerId: string): Promise<void> {
    if (this.settings.amountMicros <= 0n) return;
    unwrap(
      await this.ledger.grant({
        customerId,
        amountMicros: this.settings.amountMicros,
        source: 'promo',
        type: 'signup_bonus',
        reason: 'Signup bonus',
        idempotency: { key: `signup-bonus:${customerId}`, scope: 'system', fingerprint: 'signup-bonus' },
      }),
    );
  }

  /** A widget customer earned it (`identity`: `email:<address>` or `payment:<customer>`). */
  async grantEarned(input: { appId: string; customerId: string; identity: string }): Promise<BonusOutcome> {
    if (this.settings.amountMicros <= 0n) return { granted: false, reason: 'disabled' };
    return this.ledger.transaction([input.customerId], (transaction) =>
      this.grantEarnedIn(transaction, input),
    );
  }

  /** The same inside a ledger transaction that already holds the customer's lock (purchase fulfilment). */
  async grantEarnedIn(
    transaction: LedgerTransaction,
    input: { appId: string; customerId: string; identity: string },
  ): Promise<BonusOutcome> {
    const amount = this.settings.amountMicros;
    if (amount <= 0n) return { granted: false, reason: 'disabled' };
    const [had] = await transaction.query<{ had: boolean }>(
      `select exists (select 1 from ledger_transactions where customer_id = $1 and type = 'signup_bonus') as had`,
      [input.customerId],
    );
    if (had?.had) return { granted: false, reason: 'already_granted' };
    const now = this.clock.now();
    const day = now.toISOString().slice(0, 10);
    const claimed = await transaction.query(
      `insert into signup_bonuses (app_id, identity, customer_id, amount_micros, granted_on, created_at)
       values ($1, $2, $3, $4, $5, $6) on conflict (app_id, identity) do nothing returning identity`,
      [input.appId, input.identity, input.customerId, amount.toString(), day, now.toISOString()],
    );
    if (claimed.length === 0) return { granted: false, reason: 'identity_used' };
    // The day's row is locked by the update, so concurrent grants of one app queue here and none can
    // take the total past the cap.
    const counted =
      amount <= this.settings.dailyCapMicros
        ? await transaction.query(
            `insert into signup_bonus_days (app_id, day, granted_micros) values ($1, $2, $3)
             on conflict (app_id, day) do update set granted_micros = signup_bonus_days.granted_micros + excluded.granted_micros
               where signup_bonus_days.granted_micros + excluded.granted_micros <= $4
             returning granted_micros`,
            [input.appId, day, amount.toString(), this.settings.dailyCapMicros.toString()],
          )
        : [];
    if (counted.length === 0) {
      // The identity keeps its chance: a later sign-in or payment on another day may earn it.
      await transaction.query('delete from signup_bonuses where app_id = $1 and identity = $2', [
        input.appId,
        input.identity,
      ]);
      return { granted: false, reason: 'daily_cap' };
    }
    const grant = unwrap(
      transaction.grant({
        customerId: input.customerId,
        amountMicros: amount,
        source: 'promo',
        type: 'signup_bonus',
        reason: 'Signup bonus',
        metadata: { identity: input.identity },
      }),
    );
    return { granted: true, amountMicros: amount, grantId: grant.grantId };
  }
}

/** Whether a customer is one the public widget opened (and so earns its bonus rather than getting it). */
export function isWidgetCustomer(externalId: string | null): boolean {
  return (
    externalId !== null && (externalId.startsWith(ANONYMOUS_PREFIX) || externalId.startsWith(EMAIL_PREFIX))
  );
}
