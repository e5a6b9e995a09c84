import type { FastifyBaseLogger } from 'fastify';
import type { Ledger } from '../ledger/ledger.ts';
import type { Clock } from '../shared/clock.ts';

/** How often a call that makes no progress looks at the clock to keep its hold alive. */
const HOLD_KEEPER_TICK_MILLISECONDS = 1_000;

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
    private readonly holdId: string,
    private readonly timeoutSeconds: number,
    private readonly log: FastifyBaseLogger,
  ) {
    this.extendedAtMilliseconds = clock.now().getTime();
    this.timer = setInterval(() => this.progress(), HOLD_KEEPER_TICK_MILLISECONDS);
    this.timer.unref();
  }

  progress(): void {
    if (this.stopped || this.pending) return;
    const now = this.clock.now().getTime();
    if (now - this.extendedAtMilliseconds < (this.timeoutSeconds * 1000) / 3) return;
    this.extendedAtMilliseconds = now;
    this.pending = this.ledger
      .extend({ holdId: this.holdId, timeoutSeconds: this.timeoutSeconds, inFlight: true })
      .then((result) => {
        if (!result.ok) this.log.warn({ hold: this.holdId, code: result.error.code }, 'hold not extended');
      })
      .catch((error: unknown) => this.log.warn({ err: error, hold: this.holdId }, 'hold not extended'))
      .finally(() => {
        this.pending = null;
      });
  }

  /** Stops extending; waits for an extension in flight, so that it never lands after the capture. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.pending;
  }
}
