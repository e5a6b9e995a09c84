/**
 * Combines concurrent ledger operations into one database call (TigerBeetle-style batching), invisible
 * to callers: while `maxInFlight` calls are running, new operations queue up and go together in the
 * next call, one transaction and one commit for all of them. Under light load a batch is one
 * operation, so latency stays one round trip.
 */
export type BatchRunner<Operation, Result> = (operations: Operation[]) => Promise<Result[]>;

interface Pending<Operation, Result> {
  operation: Operation;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

const RETRYABLE_SQLSTATES = new Set(['40P01', '40001', '55P03']);

export function isRetryableDatabaseError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && RETRYABLE_SQLSTATES.has(code);
}

export class Batcher<Operation, Result> {
  private queue: Pending<Operation, Result>[] = [];
  private inFlight = 0;
  private pumpScheduled = false;
  private idleWaiters: Array<() => void> = [];

  /**
   * `keyOf` names what an operation locks (its customer), when known: operations with the same key go
   * in the same batch, since two batches running at once on the same key would only wait for each other.
   */
  constructor(
    private readonly run: BatchRunner<Operation, Result>,
    private readonly maxInFlight: number,
    private readonly maxBatchSize = 256,
    private readonly keyOf?: (operation: Operation) => string | undefined,
  ) {}

  submit(operation: Operation): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ operation, resolve, reject });
      this.schedulePump();
    });
  }

  /** Resolves once nothing is queued or running (for a clean shutdown). */
  async drain(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Dispatches on the next turn of the event loop, not at once: everything submitted in this turn
   * (typically every caller that the batch just finished woke up, submitting its next operation) goes
   * in the same batch instead of the first one going alone.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const free = this.maxInFlight - this.inFlight;
    if (free <= 0 || this.queue.length === 0) return;
    for (const batch of this.takeBatches(free)) {
      this.inFlight += 1;
      void this.execute(batch).finally(() => {
        this.inFlight -= 1;
        this.schedulePump();
        if (this.inFlight === 0 && this.queue.length === 0) {
          for (const resolve of this.idleWaiters.splice(0)) resolve();
        }
      });
    }
  }

  /**
   * What is queued, shared evenly by the free slots so that they all work (and return) at once, but
   * keeping operations with the same key together: one hot customer's operations make one batch.
   */
  private takeBatches(free: number): Pending<Operation, Result>[][] {
    const taken = this.queue.splice(0, free * this.maxBatchSize);
    const size = Math.min(this.maxBatchSize, Math.ceil(taken.length / free));
    const groups: Pending<Operation, Result>[][] = [];
    if (free === 1 || !this.keyOf) {
      for (let start = 0; start < taken.length; start += size) groups.push(taken.slice(start, start + size));
      return groups;
    }
    const byKey = new Map<string, Pending<Operation, Result>[]>();
    for (const pending of taken) {
      const key = this.keyOf(pending.operation);
      let group = key === undefined ? undefined : byKey.get(key);
      if (!group) {
        group = [];
        groups.push(group);
        if (key !== undefined) byKey.set(key, group);
      }
      group.push(pending);
    }
    const batches: Pending<Operation, Result>[][] = [];
    let batch: Pending<Operation, Result>[] = [];
    for (const group of groups) {
      if (batch.length > 0 && batch.length + group.length > size && batches.length < free - 1) {
        batches.push(batch);
        batch = [];
      }
      batch.push(...group);
    }
    batches.push(batch);
    // A batch never exceeds maxBatchSize: the excess waits for the next turn, in order.
    const excess: Pending<Operation, Result>[] = [];
    for (const each of batches) excess.push(...each.splice(this.maxBatchSize));
    this.queue.unshift(...excess);
    return batches.filter((each) => each.length > 0);
  }

  private async execute(batch: Pending<Operation, Result>[]): Promise<void> {
    try {
      const results = await this.run(batch.map((pending) => pending.operation));
      batch.forEach((pending, index) => {
        pending.resolve(results[index]!);
      });
      return;
    } catch (error) {
      if (batch.length === 1) {
        await this.retrySingle(batch[0]!, error);
        return;
      }
    }
    // The whole batch rolled back together; run each operation alone so that one bad operation (or a
    // deadlock victim) fails only itself.
    for (const pending of batch) {
      await this.retrySingle(pending, undefined);
    }
  }

  private async retrySingle(pending: Pending<Operation, Result>, firstError: unknown): Promise<void> {
    let lastError = firstError;
    for (let attempt = firstError === undefined ? 0 : 1; attempt < 6; attempt += 1) {
      if (lastError !== undefined && !isRetryableDatabaseError(lastError)) break;
      try {
        const [result] = await this.run([pending.operation]);
        pending.resolve(result!);
        return;
      } catch (error) {
        lastError = error;
      }
    }
    pending.reject(lastError);
  }
}
