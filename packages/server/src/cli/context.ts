/**
 * What a client-side command runs with: where the server is, which key to send, the run limits of
 * this CLI session, and the output. Flags win over the environment.
 *
 * Run limits: every spending command sends `run_id` (TOLLGATE_RUN_ID, else one fresh id per process)
 * and `max_run_cost` (TOLLGATE_MAX_CREDITS_PER_RUN), so the server refuses work that would push the
 * run's total over the cap (402 run_limit_exceeded) — in the same transaction that would charge it.
 */
import { randomUUID } from 'node:crypto';
import { Tollgate } from '@tollgate/client';
import { type Command, type FlagValues, stringFlag, UsageError } from './command.ts';
import { Output, type Terminal } from './output.ts';

export const DEFAULT_URL = 'http://127.0.0.1:8787';

/** One run per process unless TOLLGATE_RUN_ID groups several invocations into one run. */
let processRunId: string | undefined;

export interface CliIo {
  stdout: Terminal;
  stderr: Terminal;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}

export interface RunLimits {
  run_id: string;
  max_run_cost?: string;
}

export class CliContext {
  readonly output: Output;
  readonly io: CliIo;
  private readonly values: FlagValues;
  private readonly command: Command;
  private ownCustomer: Promise<string> | undefined;

  constructor(command: Command, values: FlagValues, io: CliIo) {
    this.command = command;
    this.values = values;
    this.io = io;
    this.output = new Output({
      json: values.json === true,
      stdout: io.stdout,
      stderr: io.stderr,
      env: io.env,
    });
  }

  /** The server: --url, else TOLLGATE_URL, else http://127.0.0.1:8787. */
  get url(): string {
    const url = (stringFlag(this.values, 'url') ?? this.io.env.TOLLGATE_URL ?? DEFAULT_URL).replace(
      /\/+$/,
      '',
    );
    if (!/^https?:\/\/[^/]/.test(url)) {
      throw new UsageError(`the server URL must start with http:// or https://, got "${url}"`, this.command);
    }
    return url;
  }

  get userKey(): string {
    const key = stringFlag(this.values, 'user-key') ?? this.io.env.TOLLGATE_USER_KEY;
    if (!key) throw new UsageError('no user key: set TOLLGATE_USER_KEY or pass --user-key', this.command);
    return key;
  }

  get apiKey(): string {
    const key = stringFlag(this.values, 'api-key') ?? this.io.env.TOLLGATE_API_KEY;
    if (!key) {
      throw new UsageError(
        'no operator key: set TOLLGATE_API_KEY (admin or app secret key) or pass --api-key',
        this.command,
      );
    }
    return key;
  }

  /**
   * A client acting as the end user. The user key goes both as `X-User-Key` (user endpoints) and as
   * the bearer key, which the server accepts on the endpoints a user may call for their own customer
   * (charges, checkout, provider keys, purchases).
   */
  userClient(): Tollgate {
    const key = this.userKey;
    return new Tollgate({ baseUrl: this.url, apiKey: key, userKey: key, userAgent: 'tollgate-cli' });
  }

  /** A client with the operator's admin key or an app's secret key. */
  operatorClient(): Tollgate {
    return new Tollgate({ baseUrl: this.url, apiKey: this.apiKey, userAgent: 'tollgate-cli' });
  }

  /** A client for the endpoints that need no key. */
  publicClient(): Tollgate {
    return new Tollgate({ baseUrl: this.url, userAgent: 'tollgate-cli' });
  }

  /** The user's own customer id (`cus_…`), which the customer-scoped endpoints take. */
  customerId(client: Tollgate): Promise<string> {
    this.ownCustomer ??= client.credits.balance().then((balance) => {
      if (!balance.customer)
        throw new Error('the server did not say which customer this user key belongs to');
      return balance.customer;
    });
    return this.ownCustomer;
  }

  runLimits(): RunLimits {
    processRunId ??= `cli_${randomUUID()}`;
    const runId = this.io.env.TOLLGATE_RUN_ID?.trim() || processRunId;
    const cap = this.io.env.TOLLGATE_MAX_CREDITS_PER_RUN?.trim();
    if (cap === undefined || cap === '') return { run_id: runId };
    if (!/^\d+(\.\d{1,6})?$/.test(cap)) {
      throw new UsageError(
        `TOLLGATE_MAX_CREDITS_PER_RUN must be a number of credits (at most 6 decimals), got "${cap}"`,
        this.command,
      );
    }
    return { run_id: runId, max_run_cost: cap };
  }

  /** Reads all of stdin (for secrets piped in rather than put on the command line). */
  async readStdin(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.io.stdin)
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  }
}
