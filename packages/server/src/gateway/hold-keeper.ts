import type { FastifyBaseLogger } from 'fastify';
import type { Ledger } from '../ledger/ledger.ts';
import type { Clock } from '../shared/clock.ts';

/** How often a call that makes no progress looks at the clock to keep its hold alive. */
const HOLD_KEEPER_TICK_MILLISECONDS = 1_000;

/**
 * The holds of the calls this process is running now. The sweeper asks it before voiding a hold past
 * its timeout: a call still in flight here gets its hold extended instead. Without it, a clock that
 * jumps (or a process that stalls) past the timeout between two ticks would let the sweeper release
 * credits the call is still spending, and its delivered output would find them gone.
 */
export class InFlightHolds {
  private readonly keepers = new Map<string, HoldKeeper>();

  add(keeper: HoldKeeper): void {
    this.keepers.set(keeper.holdId, keeper);
  }

  remove(keeper: HoldKeeper): void {
    if (this.keepers.get(keeper.holdId) === keeper) this.keepers.delete(keeper.holdId);
  }

  /** Extends the hold when its call is in flight here; false when it is not (the sweeper voids it). */
  async keepAlive(holdId: string): Promise<boolean> {
    const keeper = this.keepers.get(holdId);
    if (!keeper) return false;
    return keeper.extendNow();
  }

  get size(): number {
    return this.keepers.size;
  }
}

/**
 * Keeps a call's hold alive while it runs: on progress, and on a slow tick for calls that make none,
 * it extends the hold once a third of the hold timeout has passed on the injected clock (so tests can
 * jump it). An extension that fails (the hold was voided meanwhile) changes nothing that matters: the
 * capture of delivered work lands anyway.
 */
export class HoldKeeper {
  private extendedAtMilliseconds: number;
  private pending: Promise<void> | null = null;
  private stopped = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly ledger: Ledger,
    private readonly clock: Clock,
    readonly holdId: string,
    private readonly timeoutSeconds: number,
    private readonly log: FastifyBaseLogger,
    private readonly registry?: InFlightHolds,
  ) {
    this.extendedAtMilliseconds = clock.now().getTime();
    this.timer = setInterval(() => this.progress(), HOLD_KEEPER_TICK_MILLISECONDS);
    this.timer.unref();
    registry?.add(this);
  }

  progress(): void {
    if (this.stopped || this.pending) return;
    const now = this.clock.now().getTime();
    if (now - this.extendedAtMilliseconds < (this.timeoutSeconds * 1000) / 3) return;
    this.extend(now);
  }

  /** Extends at once, whatever the clock says (the sweeper found the hold due); true if it was kept. */
  async extendNow(): Promise<boolean> {
    if (this.stopped) return false;
    await this.pending;
    if (this.stopped) return false;
    return this.extend(this.clock.now().getTime());
  }

  /** Stops extending; waits for an extension in flight, so that it never lands after the capture. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.registry?.remove(this);
    await this.pending;
  }

  private extend(nowMilliseconds: number): Promise<boolean> {
    this.extendedAtMilliseconds = nowMilliseconds;
    const extension = this.ledger
      .extend({ holdId: this.holdId, timeoutSeconds: this.timeoutSeconds, inFlight: true })
      .then((result) => {
        if (!result.ok) this.log.warn({ hold: this.holdId, code: result.error.code }, 'hold not extended');
        return result.ok;
      })
      .catch((error: unknown) => {
        this.log.warn({ err: error, hold: this.holdId }, 'hold not extended');
        return false;
      });
    this.pending = extension.then(() => {
      this.pending = null;
    });
    return extension;
  }
}
