/**
 * `tollgate serve --workers N`: N server processes sharing one port (node:cluster), so that every core
 * serves. Each worker is a whole Tollgate on the same PostgreSQL database — as several servers behind a
 * load balancer already are (the ledger's writes are revision-checked, holds and idempotency keys are
 * rows) — so nothing is shared in memory but what is documented per worker (the rate limiter without
 * Redis, the /metrics counters).
 *
 * - The first worker starts alone (it applies migrations and creates the admin key), the others once it
 *   listens; one that fails to start ends the whole start with its exit code.
 * - SIGTERM or SIGINT to this process drains every worker (each stops accepting, finishes what it runs,
 *   settles its holds) and exits 0 when they all did; a second signal is passed on (they stop at once).
 *   Workers ignore SIGINT themselves: Ctrl-C reaches the whole process group, and only this process
 *   decides what it means.
 * - A worker that dies is replaced, at most MAX_RESTARTS times within RESTART_WINDOW_MILLISECONDS; past
 *   that the server stops (exit 1) rather than crash-loop. A dead worker's calls in flight keep their
 *   holds until the sweeper voids them, as after any crash.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';

export const MAX_RESTARTS = 5;
export const RESTART_WINDOW_MILLISECONDS = 60_000;
/** Set in a worker's environment: announce the setup (the first worker) or stay brief (the others). */
export const WORKER_ROLE_VARIABLE = 'TOLLGATE_WORKER_ROLE';

/** How many workers `serve` runs: the flag, else TOLLGATE_WORKERS, else every core on PostgreSQL; PGlite: 1. */
export function workerCount(requested: number | undefined, postgres: boolean): number {
  if (requested !== undefined) {
    if (!postgres && requested > 1) {
      throw new Error(
        `--workers ${requested} needs PostgreSQL: the embedded database (PGlite) belongs to one process. ` +
          'Set DATABASE_URL to a PostgreSQL database to run several workers, or use --workers 1.',
      );
    }
    return requested;
  }
  return postgres ? availableParallelism() : 1;
}

export function isWorker(): boolean {
  return cluster.isWorker;
}

/**
 * Runs `count` workers until `stopRequested` resolves; answers the exit code. `say` writes a human line.
 */
export async function superviseWorkers(
  count: number,
  stopRequested: Promise<string>,
  say: (text: string) => void,
): Promise<number> {
  const running = new Set<Worker>();
  const restarts: number[] = [];
  let stopping = false;
  let failed = false;
  let startFailureCode = 1;
  let settle: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => {
    settle = resolve;
  });

  const stopAll = (reason: string) => {
    if (stopping) return;
    stopping = true;
    say(
      `${reason}: stopping ${running.size} worker${running.size === 1 ? '' : 's'} — each finishes its requests in flight` +
        ' (TOLLGATE_DRAIN_TIMEOUT_MS bounds the wait; a second Ctrl-C stops at once).',
    );
    for (const worker of running) worker.process.kill('SIGTERM');
    if (running.size === 0) settle(failed ? 1 : 0);
  };

  /** Starts one worker; resolves once it listens, or with null when it exits first. */
  const start = (role: 'announce' | 'quiet'): Promise<Worker | null> =>
    new Promise((resolve) => {
      const worker = cluster.fork({ [WORKER_ROLE_VARIABLE]: role });
      running.add(worker);
      let listening = false;
      worker.once('listening', () => {
        listening = true;
        resolve(worker);
      });
      worker.once('exit', (code, signal) => {
        running.delete(worker);
        if (!listening) {
          startFailureCode = code || 1;
          resolve(null);
        }
        if (stopping) {
          if (code !== 0) failed = true;
          if (running.size === 0) settle(failed ? 1 : 0);
          return;
        }
        if (!listening) return;
        say(`worker ${worker.process.pid} exited (${signal ?? `code ${code}`})`);
        const now = Date.now();
        while (restarts.length > 0 && restarts[0]! < now - RESTART_WINDOW_MILLISECONDS) restarts.shift();
        if (restarts.length >= MAX_RESTARTS) {
          failed = true;
          stopAll(`${MAX_RESTARTS} workers died within ${RESTART_WINDOW_MILLISECONDS / 1000} s`);
          return;
        }
        restarts.push(now);
        void start('quiet').then((replacement) => {
          if (replacement) say(`worker ${replacement.process.pid} started in its place`);
        });
      });
    });

  const first = await start('announce');
  // It said why (a busy port, an unreachable database); its exit code is ours.
  if (!first) return startFailureCode;
  const others = await Promise.all(Array.from({ length: count - 1 }, () => start('quiet')));
  if (others.some((worker) => worker === null)) {
    failed = true;
    stopAll('a worker failed to start');
    return finished;
  }
  say(`${count} workers serving (pids ${[...running].map((worker) => worker.process.pid).join(', ')})`);
  if (!process.env.REDIS_URL) {
    say(
      `WARNING: without REDIS_URL each worker keeps its own rate-limit buckets: a customer may get up to ${count}× rate_limits.requests_per_minute. Set REDIS_URL to share them.`,
    );
  }
  void stopRequested.then((reason) => {
    // A second signal: the workers stop at once (their own second-signal rule).
    const now = () => {
      for (const worker of running) worker.process.kill('SIGTERM');
    };
    process.on('SIGINT', now);
    process.on('SIGTERM', now);
    stopAll(reason);
  });
  return finished;
}
