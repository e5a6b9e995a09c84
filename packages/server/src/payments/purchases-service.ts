/**
 * Buying credits. A checkout creates a pending purchase whose credits the server computes from its own
 * config (never from the client or Stripe metadata); fulfilment, failure and refunds are driven by
 * Stripe webhooks or the test-mode page, and the money-moving steps run as ledger transactions so the
 * purchase state and the grant commit together, exactly once.
 */

import { z } from 'zod';
import type { Principal } from '../auth/principals.ts';
import { formatMoney, minorUnitDigits } from '../config/credit-rate.ts';
import type { CreditPack, PaymentCurrency, TollgateConfig } from '../config/types.ts';
import type { CustomerRecord } from '../customers/customers-service.ts';
import { isWidgetCustomer, type SignupBonus } from '../customers/signup-bonus.ts';
import { type Ledger, type LedgerTransaction, unwrap } from '../ledger/ledger.ts';
import {
  creditsForPurchase,
  MAXIMUM_PURCHASE_MAJOR_UNITS,
  paymentCurrency,
} from '../pricing/purchase-credits.ts';
import type { Clock } from '../shared/clock.ts';
import { TollgateError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { microsToCredits, minorUnitsToAmount, parseMoneyToMinorUnits } from '../shared/money.ts';
import type { Database } from '../store/database.ts';
import { emitEvent } from '../webhooks/events.ts';
import type { CheckoutProvider } from './checkout-provider.ts';
import { centsToUsd, refundedCredits } from './compute.ts';
import type { ReturnUrls } from './return-urls.ts';

export type PurchaseStatus = 'pending' | 'completed' | 'failed' | 'refunded' | 'partially_refunded';

export interface PurchaseRow {
  id: string;
  customer_id: string;
  app_id: string | null;
  kind: 'credits' | 'pack';
  pack_code: string | null;
  provider: 'stripe' | 'test';
  provider_session_id: string | null;
  payment_intent_id: string | null;
  amount_cents: bigint;
  currency: string;
  credits_micros: bigint;
  bonus_micros: bigint;
  status: PurchaseStatus;
  grant_id: string | null;
  refunded_cents: bigint;
  refund_shortfall_micros: bigint;
  success_url: string | null;
  cancel_url: string | null;
  created_at: Date;
  completed_at: Date | null;
}

export interface CheckoutInput {
  amount_usd?: number | string;
  /** An amount in `currency` (USD when absent); `amount_usd` is the same for USD. */
  amount?: number | string;
  /** A configured currency (`eur`); default `usd`. */
  currency?: string;
  pack?: string;
  success_url?: string;
  cancel_url?: string;
  ui_mode?: 'hosted' | 'embedded';
}

type Query = (text: string, parameters: unknown[]) => Promise<Record<string, unknown>[]>;

async function grantOwner(query: Query, grantId: string | null): Promise<string[]> {
  if (grantId === null) return [];
  const rows = await query('select customer_id from grants where id = $1', [grantId]);
  return rows.map((row) => String(row.customer_id));
}

/** The purchase changed hands (a guest merged into an account) between reading it and locking it. */
class PurchaseMoved extends Error {
  constructor(readonly row: PurchaseRow) {
    super(`purchase ${row.id} moved to customer ${row.customer_id}`);
  }
}

export function purchaseWire(row: PurchaseRow) {
  // A currency's digits follow from its code alone, so a purchase reads right after its currency leaves the config.
  const digits = minorUnitDigits(row.currency);
  const isUsd = row.currency === 'usd';
  return {
    id: row.id,
    object: 'purchase',
    customer: row.customer_id,
    status: row.status,
    kind: row.kind,
    pack: row.pack_code,
    /** Paid in `currency`; `amount_usd` repeats it for USD purchases and is null for others. */
    amount: minorUnitsToAmount(BigInt(row.amount_cents), digits),
    amount_usd: isUsd ? centsToUsd(BigInt(row.amount_cents)) : null,
    currency: row.currency,
    credits: microsToCredits(BigInt(row.credits_micros)),
    bonus_credits: microsToCredits(BigInt(row.bonus_micros)),
    refunded_amount: minorUnitsToAmount(BigInt(row.refunded_cents), digits),
    refunded_usd: isUsd ? centsToUsd(BigInt(row.refunded_cents)) : null,
    refund_shortfall: microsToCredits(BigInt(row.refund_shortfall_micros)),
    provider: row.provider,
    session_id: row.provider_session_id,
    created_at: new Date(row.created_at).toISOString(),
    completed_at: row.completed_at ? new Date(row.completed_at).toISOString() : null,
  };
}

export class PurchasesService {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly config: TollgateConfig,
    private readonly checkout: CheckoutProvider,
    private readonly clock: Clock,
    private readonly publicUrl: () => string,
    private readonly returnUrls: ReturnUrls,
    private readonly signupBonus: SignupBonus,
  ) {}

  get providerName(): 'stripe' | 'test' {
    return this.checkout.name;
  }

  /** What a purchase of this input would grant; refuses amounts below the minimum. */
  price(input: CheckoutInput): {
    kind: 'credits' | 'pack';
    pack: CreditPack | null;
    currency: PaymentCurrency;
    /** Minor units of `currency` (cents for USD and EUR). */
    amountCents: bigint;
    creditsMicros: bigint;
    bonusMicros: bigint;
  } {
    const given = [input.amount_usd, input.amount, input.pack].filter((value) => value !== undefined);
    if (given.length !== 1) {
      throw new TollgateError('invalid_request', 'Give exactly one of amount (or amount_usd) or pack');
    }
    const currency = paymentCurrency(this.config, input.currency);
    if (input.amount_usd !== undefined && currency.code !== 'usd') {
      throw new TollgateError('invalid_request', `amount_usd is for USD; give amount in ${currency.code}`, {
        param: 'amount_usd',
      });
    }
    if (input.pack !== undefined) {
      const pack = this.config.purchases.packs.find((candidate) => candidate.code === input.pack);
      if (!pack)
        throw new TollgateError('invalid_request', `Unknown credit pack: ${input.pack}`, { param: 'pack' });
      const price = Object.hasOwn(currency.packPricesMinorUnits, pack.code)
        ? currency.packPricesMinorUnits[pack.code]
        : undefined;
      if (price === undefined) {
        throw new TollgateError('invalid_request', `The pack ${pack.code} is not sold in ${currency.code}`, {
          param: 'pack',
        });
      }
      return {
        kind: 'pack',
        pack,
        currency,
        amountCents: price,
        creditsMicros: pack.creditsMicros,
        bonusMicros: 0n,
      };
    }
    const field = input.amount_usd !== undefined ? 'amount_usd' : 'amount';
    const amountCents = parseMoneyToMinorUnits(input.amount_usd ?? input.amount, currency.minorDigits, field);
    const minimum = minorUnitsToAmount(currency.minimumMinorUnits, currency.minorDigits);
    if (amountCents < currency.minimumMinorUnits) {
      throw new TollgateError(
        'invalid_request',
        `The minimum purchase is ${formatMoney(currency.minimumMinorUnits, currency.code)}`,
        {
          param: field,
          currency: currency.code,
          minimum,
          ...(currency.code === 'usd' ? { minimum_usd: minimum } : {}),
        },
      );
    }
    // The same ceiling as a count of major units in every currency (a million of them).
    if (amountCents > MAXIMUM_PURCHASE_MAJOR_UNITS * 10n ** BigInt(currency.minorDigits)) {
      throw new TollgateError('invalid_request', `${field} is too large`, { param: field });
    }
    const credits = creditsForPurchase(currency, amountCents);
    if (credits.totalMicros <= 0n) throw new TollgateError('invalid_request', `${field} buys no credits`);
    return {
      kind: 'credits',
      pack: null,
      currency,
      amountCents,
      creditsMicros: credits.totalMicros,
      bonusMicros: credits.bonusMicros,
    };
  }

  async createCheckout(customer: CustomerRecord, input: CheckoutInput) {
    this.checkout.assertCanSell();
    const priced = this.price(input);
    await this.returnUrls.assertAllowed(customer.appId, {
      success_url: input.success_url,
      cancel_url: input.cancel_url,
    });
    const id = newId('pur', 12);
    const base = this.publicUrl();
    const successUrl = input.success_url ?? `${base}/dashboard/?purchase=success`;
    const cancelUrl = input.cancel_url ?? `${base}/dashboard/?purchase=cancelled`;
    await this.db.query(
      `insert into purchases (id, customer_id, app_id, kind, pack_code, provider, provider_session_id, amount_cents,
         credits_micros, bonus_micros, status, success_url, cancel_url, created_at, currency)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12, $13, $14)`,
      [
        id,
        customer.id,
        customer.appId,
        priced.kind,
        priced.pack?.code ?? null,
        this.checkout.name,
        null,
        priced.amountCents.toString(),
        priced.creditsMicros.toString(),
        priced.bonusMicros.toString(),
        successUrl,
        cancelUrl,
        this.clock.now().toISOString(),
        priced.currency.code,
      ],
    );
    // The purchase exists before the buyer can pay, so a fast webhook always finds it.
    let session: Awaited<ReturnType<CheckoutProvider['createSession']>>;
    try {
      session = await this.checkout.createSession({
        reference: id,
        customerId: customer.id,
        mode: 'payment',
        amountCents: priced.amountCents,
        currency: priced.currency.code,
        productName: priced.pack ? priced.pack.name : `${microsToCredits(priced.creditsMicros)} credits`,
        successUrl,
        cancelUrl,
        embedded: input.ui_mode === 'embedded',
        email: customer.email,
        metadata: { tollgate_purchase_id: id, tollgate_customer_id: customer.id },
      });
    } catch (error) {
      await this.fail({ id } as PurchaseRow);
      throw new TollgateError(
        'upstream_error',
        `The payment provider refused the checkout: ${(error as Error).message}`,
      );
    }
    await this.db.query('update purchases set provider_session_id = $2 where id = $1', [id, session.id]);
    return {
      id: session.id,
      object: 'checkout.session',
      url: session.url,
      client_secret: session.clientSecret,
      mode: this.checkout.name === 'test' ? 'test' : 'live',
      purchase: purchaseWire((await this.byId(id))!),
    };
  }

  async byId(id: string): Promise<PurchaseRow | null> {
    const rows = await this.db.query<PurchaseRow>('select * from purchases where id = $1', [id]);
    return rows[0] ?? null;
  }

  async bySession(sessionId: string): Promise<PurchaseRow | null> {
    const rows = await this.db.query<PurchaseRow>('select * from purchases where provider_session_id = $1', [
      sessionId,
    ]);
    return rows[0] ?? null;
  }

  async byPaymentIntent(paymentIntentId: string): Promise<PurchaseRow | null> {
    const rows = await this.db.query<PurchaseRow>('select * from purchases where payment_intent_id = $1', [
      paymentIntentId,
    ]);
    return rows[0] ?? null;
  }

  async list(customerId: string, limit = 50, offset = 0): Promise<{ data: PurchaseRow[]; hasMore: boolean }> {
    const rows = await this.db.query<PurchaseRow>(
      'select * from purchases where customer_id = $1 order by created_at desc, id desc limit $2 offset $3',
      [customerId, limit + 1, offset],
    );
    return { data: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /**
   * Grants a purchase's credits exactly once, whoever calls (webhook, redelivery, the test page): the
   * event id, the purchase's new state and the grant commit in one ledger transaction, under the
   * purchase's row lock and the customer's. A widget customer's first payment also earns the signup
   * bonus (signup-bonus.ts), in the same transaction. `onFulfilled` runs in that transaction too, only
   * when this call granted (auto top-up records its attempt and event there).
   */
  async complete(
    purchase: PurchaseRow,
    event?: { id: string; type: string; paymentIntent?: string | null },
    onFulfilled?: (transaction: LedgerTransaction, row: PurchaseRow, grantId: string) => Promise<void>,
  ) {
    return this.underOwnerLock(
      purchase,
      (row) => [row.customer_id],
      async (transaction, row) => {
        await this.recordEvent(transaction, event);
        if (row.grant_id !== null) {
          return { purchaseId: row.id, status: row.status, grantId: row.grant_id, replayed: true };
        }
        const grant = unwrap(
          transaction.grant({
            customerId: row.customer_id,
            amountMicros: BigInt(row.credits_micros),
            source: 'purchase',
            type: 'purchase',
            reason: 'Credit purchase',
            metadata: {
              purchase_id: row.id,
              amount_cents: String(row.amount_cents),
              bonus: String(row.bonus_micros),
              pack: row.pack_code,
              session_id: row.provider_session_id,
              event_id: event?.id ?? null,
            },
          }),
        );
        await transaction.query(
          `update purchases set status = 'completed', grant_id = $2, completed_at = $3,
           payment_intent_id = coalesce($4, payment_intent_id)
         where id = $1`,
          [row.id, grant.grantId, this.clock.now().toISOString(), event?.paymentIntent ?? null],
        );
        await emitEvent(
          transaction,
          [
            {
              customerId: row.customer_id,
              type: 'purchase.completed',
              data: {
                purchase: row.id,
                credits: microsToCredits(BigInt(row.credits_micros)),
                amount_cents: Number(row.amount_cents),
                grant: grant.grantId,
              },
            },
          ],
          this.clock.now(),
        );
        const [buyer] = await transaction.query<{ app_id: string | null; external_id: string | null }>(
          'select app_id, external_id from customers where id = $1',
          [row.customer_id],
        );
        if (buyer?.app_id && isWidgetCustomer(buyer.external_id)) {
          await this.signupBonus.grantEarnedIn(transaction, {
            appId: buyer.app_id,
            customerId: row.customer_id,
            identity: `payment:${row.customer_id}`,
          });
        }
        await onFulfilled?.(transaction, row, grant.grantId);
        return { purchaseId: row.id, status: 'completed' as const, grantId: grant.grantId, replayed: false };
      },
    );
  }

  /**
   * Marks a pending purchase failed (expired or cancelled checkout). Anything else is left as it is,
   * and the answer says so: an expiry that arrives after the payment changes nothing.
   */
  async fail(purchase: PurchaseRow): Promise<{ changed: boolean; status: PurchaseStatus }> {
    const rows = await this.db.query<{ status: PurchaseStatus }>(
      `update purchases set status = 'failed', failed_at = $2 where id = $1 and status = 'pending' returning status`,
      [purchase.id, this.clock.now().toISOString()],
    );
    if (rows.length > 0) return { changed: true, status: 'failed' };
    return { changed: false, status: (await this.byId(purchase.id))?.status ?? purchase.status };
  }

  /**
   * Claws back the refunded share of a purchase for Stripe's cumulative `amount_refunded`, so that
   * redelivered or reordered refund events never take twice: only the growth since the last one counts.
   * What was already spent cannot be taken back; it is recorded as the purchase's refund shortfall.
   */
  async refund(purchase: PurchaseRow, refundedCents: bigint, event?: { id: string; type: string }) {
    // The grant may sit with another customer than the purchase: a guest's credits that were spent
    // before the guest was merged into an account stay on the guest (widget/guest-merge.ts).
    const owners = async (row: PurchaseRow, query: Query) => [
      row.customer_id,
      ...(await grantOwner(query, row.grant_id)),
    ];
    return this.underOwnerLock(purchase, owners, async (transaction, row) => {
      await this.recordEvent(transaction, event);
      const previouslyRefunded = BigInt(row.refunded_cents);
      if (row.grant_id === null || refundedCents <= previouslyRefunded) {
        return { status: row.status, clawedBackMicros: 0n, shortfallMicros: 0n, replayed: true };
      }
      const amountCents = BigInt(row.amount_cents);
      const refunded = refundedCents < amountCents ? refundedCents : amountCents;
      const target = refundedCredits(BigInt(row.credits_micros), amountCents, refunded);
      const delta = target - BigInt(row.clawback_requested_micros);
      let clawedBack = 0n;
      let shortfall = 0n;
      if (delta > 0n) {
        const clawback = unwrap(
          await transaction.clawback({
            grantId: row.grant_id,
            amountMicros: delta,
            type: 'refund',
            metadata: {
              purchase_id: row.id,
              refunded_cents: refunded.toString(),
              event_id: event?.id ?? null,
            },
          }),
        );
        clawedBack = clawback.clawedBackMicros;
        shortfall = clawback.shortfallMicros;
      }
      const status: PurchaseStatus = refunded >= amountCents ? 'refunded' : 'partially_refunded';
      await transaction.query(
        `update purchases set refunded_cents = $2, status = $3,
           clawback_requested_micros = clawback_requested_micros + $4,
           refund_shortfall_micros = refund_shortfall_micros + $5
         where id = $1`,
        [row.id, refunded.toString(), status, (delta > 0n ? delta : 0n).toString(), shortfall.toString()],
      );
      await emitEvent(
        transaction,
        [
          {
            customerId: row.customer_id,
            type: 'purchase.refunded',
            data: {
              purchase: row.id,
              status,
              refunded_cents: Number(refunded),
              clawed_back: microsToCredits(clawedBack),
              shortfall: microsToCredits(shortfall),
            },
          },
        ],
        this.clock.now(),
      );
      return { status, clawedBackMicros: clawedBack, shortfallMicros: shortfall, replayed: false };
    });
  }

  /**
   * Runs `work` in a ledger transaction holding the locks of the purchase's customer (and `owners`),
   * with the purchase row locked. A guest's purchases move to the account it is merged into
   * (widget/guest-merge.ts, under the guest's lock): if that happened after the purchase was read, the
   * transaction is rolled back and run again for the new owner.
   */
  private async underOwnerLock<Value>(
    purchase: PurchaseRow,
    owners: (row: PurchaseRow, query: Query) => string[] | Promise<string[]>,
    work: (
      transaction: LedgerTransaction,
      row: PurchaseRow & { clawback_requested_micros: bigint },
    ) => Promise<Value>,
  ): Promise<Value> {
    let current = purchase;
    for (let attempt = 1; ; attempt += 1) {
      const locked = await owners(current, (text, parameters) => this.db.query(text, parameters));
      try {
        return await this.ledger.transaction(locked, async (transaction) => {
          const [row] = await transaction.query<PurchaseRow & { clawback_requested_micros: bigint }>(
            'select * from purchases where id = $1 for update',
            [current.id],
          );
          if (!row) throw new TollgateError('not_found', `No such purchase: ${current.id}`);
          const needed = await owners(row, (text, parameters) => transaction.query(text, parameters));
          if (!needed.every((owner) => locked.includes(owner))) throw new PurchaseMoved(row);
          return work(transaction, row);
        });
      } catch (error) {
        if (!(error instanceof PurchaseMoved) || attempt >= 3) throw error;
        current = error.row;
      }
    }
  }

  private async recordEvent(transaction: LedgerTransaction, event: { id: string; type: string } | undefined) {
    if (!event?.id) return;
    await transaction.query(
      'insert into webhook_events (id, type, received_at) values ($1, $2, $3) on conflict (id) do nothing',
      [event.id, event.type || 'unknown', this.clock.now().toISOString()],
    );
  }

  /** A customer's view of a checkout session (the CLI polls this until the purchase completes). */
  async sessionStatus(
    sessionId: string,
    principal: Principal,
    resolve: (id: string) => Promise<CustomerRecord>,
  ) {
    const purchase = await this.bySession(sessionId);
    if (!purchase) throw new TollgateError('not_found', `No such checkout session: ${sessionId}`);
    await resolve(purchase.customer_id).catch(() => {
      throw new TollgateError('not_found', `No such checkout session: ${sessionId}`);
    });
    void principal;
    return {
      id: sessionId,
      object: 'checkout.session',
      status: purchase.status,
      purchase: purchaseWire(purchase),
    };
  }
}

/** purchaseWire as a schema: `response:` of the purchase routes and `/openapi.json`. */
export const purchaseSchema = z.object({
  id: z.string(),
  object: z.literal('purchase'),
  customer: z.string(),
  status: z.string().describe('pending, completed, refunded, …'),
  kind: z.enum(['credits', 'pack']),
  pack: z.string().nullable(),
  amount: z.number().describe('Paid, in currency'),
  amount_usd: z.number().nullable().describe('The same for a USD purchase; null in another currency'),
  currency: z.string(),
  credits: z.number(),
  bonus_credits: z.number(),
  refunded_amount: z.number(),
  refunded_usd: z.number().nullable(),
  refund_shortfall: z.number(),
  provider: z.enum(['stripe', 'test']),
  session_id: z.string().nullable(),
  created_at: z.string().datetime({ offset: true }),
  completed_at: z.string().datetime({ offset: true }).nullable(),
});

export const purchaseExample = {
  id: 'pur_4m2k9s',
  object: 'purchase',
  customer: 'cus_8f3k2m9x1q7z',
  status: 'completed',
  kind: 'credits',
  pack: null,
  amount: 20,
  amount_usd: 20,
  currency: 'usd',
  credits: 2000,
  bonus_credits: 100,
  refunded_amount: 0,
  refunded_usd: 0,
  refund_shortfall: 0,
  provider: 'stripe',
  session_id: 'cs_test_…',
  created_at: '2026-01-01T00:00:00.000Z',
  completed_at: '2026-01-01T00:01:00.000Z',
};
