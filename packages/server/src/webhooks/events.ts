/**
 * The events an app can subscribe to, and the one way to put an event in the outbox: inside the
 * database transaction that makes the change it reports (`emitEvent(transaction, …)`), so an event is
 * never lost (it commits with the change) nor invented (it rolls back with it). The ledger's own
 * events (balance crossings, expiries) are rendered by its engine into the write document and land
 * through the same SQL function, `tg_emit_events` (store/migrations/0013).
 */
import type { QueryFunction } from '../store/database.ts';

export const EVENT_TYPES = [
  'purchase.completed',
  'purchase.refunded',
  'balance.low',
  'balance.depleted',
  'grant.expired',
  'hold.expired',
  'subscription.created',
  'subscription.updated',
  'subscription.canceled',
  'subscription.renewed',
  'auto_topup.succeeded',
  'auto_topup.failed',
  'spend_limit.reached',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** An endpoint's subscription: event types, or `*` for all of them (including types added later). */
export const ALL_EVENTS = '*';

export interface EmittedEvent {
  customerId: string;
  type: EventType;
  /** The event's `data` as the app receives it (wire form: snake_case, credits as numbers). */
  data: Record<string, unknown>;
}

/** Anything that runs a statement inside the caller's transaction (`LedgerTransaction`, `db.transaction`'s query). */
export interface TransactionQuery {
  query: QueryFunction;
}

/**
 * Writes events to the outbox and their deliveries to every enabled endpoint of the customer's app
 * that wants them, in the caller's transaction. A customer without an app has nobody to tell.
 *
 * @example
 * await ledger.transaction([customerId], async (transaction) => {
 *   // … the change …
 *   await emitEvent(transaction, [{ customerId, type: 'spend_limit.reached', data: { limit: 10 } }], now);
 * });
 */
export async function emitEvent(
  transaction: TransactionQuery,
  events: EmittedEvent[],
  now: Date,
): Promise<void> {
  if (events.length === 0) return;
  await transaction.query('select tg_emit_events($1::jsonb, $2::timestamptz)', [
    JSON.stringify(events.map((event) => [event.customerId, event.type, event.data])),
    now.toISOString(),
  ]);
}
