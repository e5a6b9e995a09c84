/**
 * The simulation's side of a server process: start it, ask it things over IPC, kill it (SIGKILL: no
 * drain, no settling) and start it again on the same database.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ServerProcessSettings, ServerRequest } from './server-process.ts';

const SERVER_PROCESS = fileURLToPath(new URL('./server-process.ts', import.meta.url));
// A PGlite start after a SIGKILL replays its write-ahead log: slow on a busy machine.
const START_TIMEOUT_MS = 180_000;
const REQUEST_TIMEOUT_MS = 30_000;

export class ServerHandle {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(settings: ServerProcessSettings, env: Record<string, string>): Promise<ServerHandle> {
    const child = fork(SERVER_PROCESS, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...env, TOLLGATE_SIMULATION: JSON.stringify(settings) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-8_000);
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), START_TIMEOUT_MS);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code} while starting: ${stderr}`));
      });
      child.on('message', (message: { ready?: string }) => {
        if (message.ready) {
          clearTimeout(timer);
          resolve(message.ready);
        }
      });
    });
    child.removeAllListeners('exit');
    const handle = new ServerHandle(child, url);
    handle.stderr = stderr;
    child.stderr?.on('data', (chunk: Buffer) => {
      handle.stderr = (handle.stderr + chunk.toString()).slice(-8_000);
    });
    child.on('message', (message: { id?: number; result?: unknown; error?: string }) => {
      if (message.id === undefined) return;
      const waiter = handle.waiting.get(message.id);
      handle.waiting.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.result);
    });
    child.once('exit', () => {
      for (const waiter of handle.waiting.values())
        waiter.reject(new Error(`server exited: ${handle.stderr}`));
      handle.waiting.clear();
    });
    return handle;
  }

  ask<Result>(request: ServerRequest): Promise<Result> {
    const id = this.nextId++;
    return new Promise<Result>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`server did not answer ${request.type} within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.waiting.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as Result);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send({ id, request });
    });
  }

  query<Row>(sql: string, parameters: unknown[] = []): Promise<Row[]> {
    return this.ask<Row[]>({ type: 'query', sql, parameters });
  }

  /** A crash: SIGKILL, then wait until the process is gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}
