/**
 * Resolves what nobody resolved: holds past their timeout are voided, expired grants are written off.
 * Safe to run on every server at once: each void goes through the ledger, which re-checks the hold's
 * state under the customer's row lock, so a hold is voided once whoever gets there first.
 */
import type { Clock } from '../shared/clock.ts';
import type { Database } from '../store/database.ts';
import type { Ledger } from './ledger.ts';

/** How often a server sweeps (app.ts). */
export const DEFAULT_SWEEP_INTERVAL_MILLISECONDS = 5_000;
/**
 * On a live server a hold that expired a moment ago is open until the next sweep: the audit gives the
 * sweeper two of its intervals before it calls an open hold a problem (`tollgate audit --grace`).
 */
export const DEFAULT_AUDIT_GRACE_SECONDS = (2 * DEFAULT_SWEEP_INTERVAL_MILLISECONDS) / 1000;

export interface SweepResult {
  holdsVoided: number;
  customersExpired: number;
  /** Scheduled grants credited because their `effective_at` came (grants/). */
  grantsActivated?: number;
}

export interface SweepOptions {
  batchSize?: number;
  /**
   * Work this process is running now (the gateway's calls): a due hold it keeps alive is extended
   * instead of voided. Only this process's own calls: another server's are voided at their timeout.
   */
  inFlight?: { keepAlive(holdId: string): Promise<boolean> };
  /** Grants scheduled for a future `effective_at`: credited by the sweep once due. */
  scheduledGrants?: { activateDue(): Promise<number> };
}

export async function sweepOnce(
  db: Database,
  ledger: Ledger,
  clock: Clock,
  options: SweepOptions = {},
): Promise<SweepResult> {
  const batchSize = options.batchSize ?? 500;
  const grantsActivated = options.scheduledGrants ? await options.scheduledGrants.activateDue() : undefined;
  const now = clock.now().toISOString();
  const dueHolds = await db.query<{ id: string }>(
    `select id from holds where status = 'held' and expires_at <= $1::timestamptz order by expires_at limit $2`,
    [now, batchSize],
  );
  const voided = await Promise.all(
    dueHolds.map(async (hold) => {
      if (options.inFlight && (await options.inFlight.keepAlive(hold.id))) return false;
      return ledger.voidIfExpired(hold.id);
    }),
  );
  const dueGrants = await db.query<{ customer_id: string }>(
    `select distinct customer_id from grants
     where expires_at <= $1::timestamptz and remaining_micros > 0 and remaining_micros > reserved_micros limit $2`,
    [now, batchSize],
  );
  await Promise.all(dueGrants.map((grant) => ledger.expireGrants(grant.customer_id)));
  return {
    holdsVoided: voided.filter(Boolean).length,
    customersExpired: dueGrants.length,
    ...(grantsActivated === undefined ? {} : { grantsActivated }),
  };
}

export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly clock: Clock,
    private readonly intervalMilliseconds = DEFAULT_SWEEP_INTERVAL_MILLISECONDS,
    private readonly onError: (error: unknown) => void = () => {},
    private readonly options: SweepOptions = {},
  ) {}

  /** One sweep now, as the timer would run it. */
  sweep(): Promise<SweepResult> {
    return sweepOnce(this.db, this.ledger, this.clock, this.options);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweep()
        .catch(this.onError)
        .finally(() => {
          this.running = undefined;
        });
    }, this.intervalMilliseconds);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
