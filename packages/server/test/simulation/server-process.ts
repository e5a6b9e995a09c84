/**
 * One Tollgate server as the simulation runs it: a child process (so that a crash is a real SIGKILL,
 * mid-write and mid-stream) on the simulation's database, with a clock the simulation moves. It answers
 * the simulation's questions over the IPC channel: set the clock, sweep, query the database, audit.
 *
 * Started by `server-handle.ts` with `--import tsx`; its settings come in TOLLGATE_SIMULATION (JSON).
 */
import { createTollgate } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { auditLedger } from '../../src/ledger/audit.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { openDatabase } from '../../src/store/database.ts';

export interface ServerProcessSettings {
  configPath: string;
  /** PGlite data folder (PostgreSQL when `databaseUrl` is set). */
  dataDir: string;
  databaseUrl?: string;
  schema?: string;
  clockMilliseconds: number;
}

export type ServerRequest =
  | { type: 'clock'; milliseconds: number }
  | { type: 'sweep' }
  | { type: 'query'; sql: string; parameters?: unknown[] }
  | { type: 'audit'; graceSeconds: number };

const settings = JSON.parse(process.env.TOLLGATE_SIMULATION ?? '{}') as ServerProcessSettings;
const clock = new ManualClock(new Date(settings.clockMilliseconds));
const database = await openDatabase(
  settings.databaseUrl
    ? { url: settings.databaseUrl, schema: settings.schema, poolSize: 4 }
    : { dataDir: settings.dataDir },
);
const tollgate = await createTollgate({
  database,
  clock,
  config: loadConfig(settings.configPath, process.env),
  sweeper: false,
  logger: false,
  announce: () => {},
});
const url = await tollgate.listen(0, '127.0.0.1');

/** IPC carries JSON: amounts (bigint) travel as text. */
function plain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_, inner) => (typeof inner === 'bigint' ? inner.toString() : inner)),
  );
}

async function answer(request: ServerRequest): Promise<unknown> {
  switch (request.type) {
    case 'clock':
      clock.set(new Date(request.milliseconds));
      return null;
    case 'sweep':
      return tollgate.sweep();
    case 'query':
      return tollgate.db.query(request.sql, request.parameters ?? []);
    case 'audit':
      return auditLedger(tollgate.db, clock, request.graceSeconds);
  }
}

process.on('message', (message: { id: number; request: ServerRequest }) => {
  answer(message.request).then(
    (result) => process.send?.({ id: message.id, result: plain(result) }),
    (error: Error) => process.send?.({ id: message.id, error: String(error?.stack ?? error) }),
  );
});
process.send?.({ ready: url });
