/**
 * The embedded database's folder: where it is, and that only one process uses it.
 *
 * Where (the same for `npm start`, `npx tollgate serve|audit|migrate`, from the repository root or
 * from packages/server): `TOLLGATE_DATA_DIR` when set (relative to the directory the command was
 * started from); otherwise `.tollgate` in the project root — the nearest folder, from the directory
 * the command was started from (`INIT_CWD` under npm scripts, else the current directory) upwards,
 * that holds a lock file (package-lock.json, yarn.lock, pnpm-lock.yaml, bun.lock(b)) or `.git`;
 * the starting directory itself when there is none.
 *
 * Who: PGlite is one Postgres process inside ours; a second process opening the same folder corrupts
 * it. `lockDataFolder` writes `tollgate.lock` (PID, host, command, start time) into the folder with
 * an exclusive create; a lock whose process is gone (same host) is stale and taken over.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const PROJECT_MARKERS = [
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'bun.lockb',
  'bun.lock',
  '.git',
];
export const LOCK_FILE_NAME = 'tollgate.lock';

/** Where the command was started from: npm scripts run in the package's folder but keep the caller's in INIT_CWD. */
export function startDirectory(env: Record<string, string | undefined>, cwd = process.cwd()): string {
  return env.INIT_CWD ? resolve(env.INIT_CWD) : cwd;
}

export function findProjectRoot(from: string): string {
  let directory = resolve(from);
  for (;;) {
    if (PROJECT_MARKERS.some((marker) => existsSync(join(directory, marker)))) return directory;
    const parent = dirname(directory);
    if (parent === directory) return resolve(from);
    directory = parent;
  }
}

export function resolveDataFolder(env: Record<string, string | undefined>, cwd = process.cwd()): string {
  const start = startDirectory(env, cwd);
  if (env.TOLLGATE_DATA_DIR) return resolve(start, env.TOLLGATE_DATA_DIR);
  return join(findProjectRoot(start), '.tollgate');
}

/**
 * Databases in `.tollgate` folders this rule no longer picks (the current and the starting
 * directory, where older versions put them): a server announcing them saves an operator from
 * wondering where their customers went.
 */
export function strayDataFolders(env: Record<string, string | undefined>, cwd = process.cwd()): string[] {
  const chosen = resolveDataFolder(env, cwd);
  const candidates = [...new Set([join(cwd, '.tollgate'), join(startDirectory(env, cwd), '.tollgate')])];
  return candidates.filter((folder) => folder !== chosen && existsSync(join(folder, 'PG_VERSION')));
}

/** Another live process holds the folder. */
export class DataFolderInUseError extends Error {
  constructor(
    readonly folder: string,
    readonly holder: LockHolder,
  ) {
    const since = holder.startedAt ? ` since ${holder.startedAt}` : '';
    const what = holder.command ? ` (tollgate ${holder.command}${since})` : '';
    super(
      `the data folder ${folder} is in use by PID ${holder.pid}${holder.host && holder.host !== hostname() ? ` on ${holder.host}` : ''}${what}. ` +
        'Stop that process first, or set TOLLGATE_DATA_DIR to another folder. ' +
        'To check the books of a running server, call GET /v1/admin/audit (client: admin.audit()).',
    );
    this.name = 'DataFolderInUseError';
  }
}

export interface LockHolder {
  pid: number;
  host?: string;
  command?: string;
  startedAt?: string;
}

export interface DataFolderLock {
  release(): void;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): LockHolder | null {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return Number.isInteger(parsed.pid) ? parsed : null;
  } catch {
    return null;
  }
}

/** Takes the folder for this process, or throws `DataFolderInUseError` naming the holder. */
export function lockDataFolder(folder: string, command = process.argv[2] ?? 'server'): DataFolderLock {
  mkdirSync(folder, { recursive: true });
  const path = join(folder, LOCK_FILE_NAME);
  const mine: LockHolder = {
    pid: process.pid,
    host: hostname(),
    command,
    startedAt: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      writeFileSync(path, `${JSON.stringify(mine)}\n`, { flag: 'wx', mode: 0o644 });
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        // Only our own lock: a process that found ours stale and took over keeps its own.
        if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
      };
      process.once('exit', release);
      return {
        release() {
          process.off('exit', release);
          release();
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readHolder(path);
    const sameHost = holder?.host === undefined || holder.host === hostname();
    if (holder && holder.pid !== process.pid && (!sameHost || processAlive(holder.pid))) {
      throw new DataFolderInUseError(folder, holder);
    }
    // Stale (its process is gone), unreadable (a crash mid-write) or our own: take it over.
    rmSync(path, { force: true });
  }
  throw new Error(`could not lock the data folder ${folder}`);
}
