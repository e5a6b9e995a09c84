/** The commands that run on the server's own machine: serve, migrate, audit. */

import type { Tollgate } from '../../app.ts';
import { DEFAULT_AUDIT_GRACE_SECONDS } from '../../ledger/sweeper.ts';
import { resolveDataFolder } from '../../store/data-folder.ts';
import { type Command, integerFlag, stringFlag, UsageError } from '../command.ts';
import { tuneHeap } from '../heap.ts';

// The server's modules are loaded by the commands that need them, so that the client-side
// commands start without compiling the whole server.

async function openStore() {
  const { openDatabase } = await import('../../store/database.ts');
  return openDatabase({ url: process.env.DATABASE_URL, dataDir: resolveDataFolder(process.env) });
}

const bigintAsText = (_key: string, value: unknown) => (typeof value === 'bigint' ? value.toString() : value);

export const serve: Command = {
  path: ['serve'],
  group: 'server',
  summary: 'run the server (default port 8787, embedded database)',
  usage: '[--port N] [--host H] [--config FILE] [--workers N]',
  flags: [
    ['--port N', 'port to listen on (default PORT or 8787)'],
    ['--host H', 'address to listen on (default HOST or 127.0.0.1)'],
    ['--config FILE', 'catalog/config file, YAML or JSON (default TOLLGATE_CONFIG)'],
    [
      '--workers N',
      'server processes sharing the port (default TOLLGATE_WORKERS, else one per core on PostgreSQL; PGlite: 1)',
    ],
  ],
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    config: { type: 'string' },
    workers: { type: 'string' },
  },
  async run({ values }) {
    const { isWorker, superviseWorkers, WORKER_ROLE_VARIABLE, workerCount } = await import('../workers.ts');
    const worker = isWorker();
    // Listened for from the first moment, not once the server is up: a signal (or the end of whoever
    // started us) during the start stops the server as soon as it has started, instead of killing it
    // mid-start or being missed. `npm start` runs us under a shell that does not pass SIGTERM on: when
    // that parent is gone we are orphaned (a new parent) and stop as if told to, rather than hold the
    // port. The parent is noted now: by the time the server listens it may already be gone.
    const parent = process.ppid;
    const stopRequested = new Promise<string>((resolve) => {
      // A worker stops when the supervisor says so (SIGTERM); Ctrl-C reaches it too, and is not its call.
      if (worker) process.on('SIGINT', () => {});
      else process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
      const watch = setInterval(() => {
        if (process.ppid !== parent) {
          clearInterval(watch);
          resolve('parent process exited');
        }
      }, 500);
      watch.unref();
    });
    const port =
      integerFlag(values, 'port', serve, { min: 0, max: 65535 }) ??
      integerFlag({ port: process.env.PORT }, 'port', serve, { min: 0, max: 65535 }) ??
      8787;
    const host = stringFlag(values, 'host') ?? process.env.HOST ?? '127.0.0.1';
    // Human messages go to stderr; stdout carries the JSON log lines only.
    const say = (text: string) => process.stderr.write(`${text}\n`);
    // Each process sizes its heap before it serves (cli/heap.ts); a bad setting stops the start here,
    // before any worker is forked.
    try {
      tuneHeap(process.env);
    } catch (error) {
      throw new UsageError((error as Error).message, serve);
    }
    if (!worker) {
      let workers: number;
      try {
        workers = workerCount(
          integerFlag(values, 'workers', serve, { min: 1, max: 1024 }) ??
            integerFlag({ workers: process.env.TOLLGATE_WORKERS }, 'workers', serve, { min: 1, max: 1024 }),
          Boolean(process.env.DATABASE_URL),
        );
      } catch (error) {
        throw new UsageError((error as Error).message, serve);
      }
      if (workers > 1) return superviseWorkers(workers, stopRequested, say);
    }
    // The first worker (or the only process) announces the setup; the other workers only that they listen.
    const quiet = worker && process.env[WORKER_ROLE_VARIABLE] === 'quiet';
    // What the start is doing goes to stderr as it happens, each step with the time since launch and
    // the CPU time used so far (on a busy machine the first is mostly waiting; the second is the cost).
    const progress = (message: string) => {
      if (quiet) return;
      const { user, system } = process.cpuUsage();
      say(
        `tollgate: ${message} (${(performance.now() / 1000).toFixed(1)} s, CPU ${((user + system) / 1e6).toFixed(1)} s)`,
      );
    };
    progress('starting');
    const { createTollgate } = await import('../../app.ts');
    const tollgate = await createTollgate({
      configPath: stringFlag(values, 'config'),
      logger: { level: process.env.LOG_LEVEL ?? 'info' },
      progress,
      announce: say,
    });
    progress('server built; listening');
    let address: string;
    try {
      address = await tollgate.listen(port, host);
    } catch (error) {
      await tollgate.close({ drainTimeoutMilliseconds: 0 });
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new Error(
          `port ${port} on ${host} is already in use (another Tollgate, or another program). Stop it, or choose another port: --port N or PORT=N.`,
        );
      }
      throw error;
    }
    if (quiet) say(`worker ${process.pid} listening on ${address}`);
    else await describeStart(tollgate, say, worker ? ` (worker ${process.pid})` : '', address);
    const signal = await stopRequested;
    // A second signal means "now": no more waiting for requests in flight.
    const now = () => {
      say('Stopping now (second signal): requests still running are cut.');
      process.exit(1);
    };
    if (!worker) process.once('SIGINT', now);
    process.once('SIGTERM', now);
    const running = tollgate.inFlightRequests();
    const who = worker ? `worker ${process.pid}: ` : '';
    say(
      `${who}${signal}: stopping — no new requests${running > 0 ? `; waiting for ${running} in flight to finish` : ''}` +
        ' (TOLLGATE_DRAIN_TIMEOUT_MS bounds the wait; a second Ctrl-C stops at once).',
    );
    await tollgate.close();
    say(`${who}Stopped: requests finished, holds settled, database closed.`);
    // The channel to the supervisor is all that keeps a worker alive now.
    if (worker) process.disconnect?.();
    return 0;
  },
};

/** What a server that just started says about itself: its setup, warnings, address and payments. */
async function describeStart(
  tollgate: Tollgate,
  say: (text: string) => void,
  suffix: string,
  address: string,
): Promise<void> {
  const { describeSetup, describeDatabaseUrl } = await import('../../config/setup-report.ts');
  const setup = describeSetup({
    config: tollgate.config,
    env: process.env,
    database:
      tollgate.db.kind === 'pglite'
        ? `PGlite at ${resolveDataFolder(process.env)}`
        : describeDatabaseUrl(process.env.DATABASE_URL ?? ''),
  });
  for (const line of setup.lines) say(line);
  for (const warning of setup.warnings) say(`WARNING: ${warning}`);
  if (tollgate.db.kind === 'pglite') {
    const { strayDataFolders } = await import('../../store/data-folder.ts');
    for (const stray of strayDataFolders(process.env)) {
      say(
        `WARNING: there is another embedded database in ${stray} (an older version kept one per directory). ` +
          `This server uses ${resolveDataFolder(process.env)}: move that folder there, or set TOLLGATE_DATA_DIR=${stray}.`,
      );
    }
  }
  say(`Tollgate listening on ${address} (${tollgate.db.kind})${suffix}`);
  // One line on how this server sells: Stripe, TEST MODE (simulated), or OFF (and why).
  const { describePaymentsMode } = await import('../../payments/test-mode.ts');
  say(describePaymentsMode(tollgate.paymentsMode()));
}

export const configCheck: Command = {
  path: ['config', 'check'],
  group: 'server',
  summary: 'validate a config file without starting (every problem listed, with its path)',
  usage: '[FILE]',
  positionals: ['file?'],
  details:
    'FILE defaults to TOLLGATE_CONFIG, else the built-in config. Exit 0 when valid (warnings included), 1 when not.',
  async run({ positionals, context }) {
    const { loadConfig } = await import('../../config/load-config.ts');
    const { describeSetup } = await import('../../config/setup-report.ts');
    const path = positionals[0] ?? process.env.TOLLGATE_CONFIG;
    const config = loadConfig(path, process.env);
    const setup = describeSetup({ config, env: process.env });
    context.output.data({
      ok: true,
      file: path ?? null,
      models: config.models.length,
      warnings: setup.warnings,
    });
    context.output.line(`OK: ${path ?? 'the built-in config'} is valid.`);
    for (const line of setup.lines) context.output.line(`  ${line}`);
    for (const warning of setup.warnings) context.output.line(`WARNING: ${warning}`);
    return 0;
  },
};

export const secretsRotate: Command = {
  path: ['secrets', 'rotate'],
  group: 'server',
  summary: 're-encrypt stored provider keys with the first secret of TOLLGATE_SECRET',
  details: `Rotation: put the new secret first and keep the old ones after it (TOLLGATE_SECRET=new,old), restart,
run this, then drop the old ones. Keys stored under a generated secret (no TOLLGATE_SECRET before) are
found and moved too. With the embedded database, stop the server first (it holds the data folder).`,
  async run({ context }) {
    const { parseSecretList } = await import('../../byok/crypto.ts');
    if (parseSecretList(process.env.TOLLGATE_SECRET).length === 0) {
      throw new Error(
        'TOLLGATE_SECRET is not set: set it to the new secret first (then the old ones, comma-separated)',
      );
    }
    const { migrateToLatest } = await import('../../store/migrate.ts');
    const { loadSecrets, rotateSealedValues } = await import('../../byok/secrets.ts');
    const db = await openStore();
    try {
      await migrateToLatest(db.kysely);
      const dataFolder = db.kind === 'pglite' ? resolveDataFolder(process.env) : null;
      const { box, sources } = await loadSecrets({ db, env: process.env, dataFolder });
      const result = await rotateSealedValues(db, box);
      context.output.data(result);
      context.output.line(
        `Re-encrypted ${result.resealed} provider key${result.resealed === 1 ? '' : 's'} with TOLLGATE_SECRET's first secret (${result.current} already were).`,
      );
      if (sources.length > 1) {
        context.output.line(
          `Only the first secret is needed now; the others (${sources.slice(1).join(', ')}) can go.`,
        );
      }
      return 0;
    } finally {
      await db.close();
    }
  },
};

export const migrate: Command = {
  path: ['migrate'],
  group: 'server',
  summary: 'apply database migrations and exit',
  async run({ context }) {
    const { migrateToLatest } = await import('../../store/migrate.ts');
    const db = await openStore();
    try {
      const applied = await migrateToLatest(db.kysely);
      context.output.data({ applied });
      context.output.line(applied.length ? `Applied: ${applied.join(', ')}` : 'Already up to date');
      return 0;
    } finally {
      await db.close();
    }
  },
};

export const audit: Command = {
  path: ['audit'],
  group: 'server',
  summary: 'check the books; exit 1 when a problem is found',
  usage: '[--json] [--sweep] [--grace SECONDS]',
  flags: [
    ['--sweep', 'first void holds past their timeout'],
    [
      '--grace SECONDS',
      `how long past its timeout an open hold is still the sweeper's to void, not a problem (default ${DEFAULT_AUDIT_GRACE_SECONDS})`,
    ],
  ],
  options: { sweep: { type: 'boolean' }, grace: { type: 'string' } },
  async run({ values }) {
    const graceSeconds =
      integerFlag(values, 'grace', audit, { min: 0, max: 31 * 24 * 3600 }) ?? DEFAULT_AUDIT_GRACE_SECONDS;
    const { migrateToLatest } = await import('../../store/migrate.ts');
    const { auditLedger } = await import('../../ledger/audit.ts');
    const { systemClock } = await import('../../shared/clock.ts');
    const db = await openStore();
    try {
      await migrateToLatest(db.kysely);
      if (values.sweep) {
        const { Ledger } = await import('../../ledger/ledger.ts');
        const { sweepOnce } = await import('../../ledger/sweeper.ts');
        const ledger = new Ledger(db, systemClock);
        await sweepOnce(db, ledger, systemClock);
        await ledger.drain();
      }
      const report = await auditLedger(db, systemClock, graceSeconds);
      if (values.json) {
        process.stdout.write(`${JSON.stringify(report, bigintAsText, 2)}\n`);
      } else {
        process.stdout.write(
          `Ledger audit at ${report.checkedAt}: ${report.ok ? 'OK — books balanced' : 'PROBLEMS FOUND'}\n`,
        );
        process.stdout.write(
          `  customers ${report.customers}, transactions ${report.transactions}, sum over all accounts ${report.totalMicros}\n`,
        );
        for (const [account, micros] of Object.entries(report.systemAccounts)) {
          process.stdout.write(`  ${account.padEnd(24)} ${micros}\n`);
        }
        for (const problem of report.problems) {
          process.stdout.write(
            `  ✗ ${problem.check}: ${problem.count} (e.g. ${JSON.stringify(problem.sample[0], bigintAsText)})\n`,
          );
        }
      }
      return report.ok ? 0 : 1;
    } finally {
      await db.close();
    }
  },
};
