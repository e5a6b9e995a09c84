/**
 * The `tollgate` command. Server-side commands (serve, migrate, audit) run against the database;
 * the client-side commands (billing, models, charge, …) talk to a running server over HTTP through
 * `@tollgate/client`, exactly as an app would.
 * Exit codes: 0 ok, 1 error, 2 usage, 3 insufficient credits or run limit reached.
 */
import {
  APIConnectionError,
  AuthenticationError,
  InsufficientCreditsError,
  PaymentRequiredError,
  RunLimitExceededError,
  SpendLimitExceededError,
  TollgateError,
} from '@tollgate/client';
import { type Command, commandName, parseCommandArgs, UsageError } from './command.ts';
import { appsCreate } from './commands/apps.ts';
import { autoTopupRemove, autoTopupSet, autoTopupShow } from './commands/auto-topup.ts';
import { billing, billingBuy } from './commands/billing.ts';
import { charge } from './commands/charge.ts';
import { check, entitlements, track } from './commands/entitlements.ts';
import { giftCreate, giftRedeem } from './commands/gift.ts';
import { grant, grantVoid } from './commands/grant.ts';
import { keysList, keysRemove, keysSet } from './commands/keys.ts';
import { membersAdd, membersList, membersRemove } from './commands/members.ts';
import { models } from './commands/models.ts';
import { audit, configCheck, migrate, secretsRotate, serve } from './commands/server.ts';
import { usage, usageExport } from './commands/usage.ts';
import {
  spendLimitRemove,
  spendLimitSet,
  spendLimitShow,
  userKeysCreate,
  userKeysList,
  userKeysRevoke,
  userKeysUpdate,
} from './commands/user-keys.ts';
import { webhooksCreate, webhooksDeliveries, webhooksList, webhooksReplay } from './commands/webhooks.ts';
import { CliContext, type CliIo, DEFAULT_URL } from './context.ts';
import { Output } from './output.ts';

export const EXIT = { ok: 0, error: 1, usage: 2, payment: 3 } as const;

export const COMMANDS: Command[] = [
  billing,
  billingBuy,
  usage,
  usageExport,
  entitlements,
  check,
  models,
  charge,
  giftRedeem,
  keysSet,
  keysList,
  keysRemove,
  appsCreate,
  giftCreate,
  grant,
  grantVoid,
  track,
  webhooksCreate,
  webhooksList,
  webhooksDeliveries,
  webhooksReplay,
  userKeysCreate,
  userKeysList,
  userKeysUpdate,
  userKeysRevoke,
  spendLimitShow,
  spendLimitSet,
  spendLimitRemove,
  autoTopupShow,
  autoTopupSet,
  autoTopupRemove,
  membersAdd,
  membersList,
  membersRemove,
  serve,
  migrate,
  audit,
  configCheck,
  secretsRotate,
];

const GROUP_TITLES = {
  user: 'Your account (TOLLGATE_USER_KEY)',
  public: 'Catalog (no key)',
  operator: 'Operator (TOLLGATE_API_KEY: admin key or app secret key)',
  server: 'Server',
} as const;

export function usageText(): string {
  const width = Math.max(...COMMANDS.map((command) => commandName(command).length)) + 2;
  const sections = (['user', 'public', 'operator', 'server'] as const).map((group) => {
    const lines = COMMANDS.filter((command) => command.group === group).map(
      (command) => `  ${commandName(command).padEnd(width)}${command.summary}`,
    );
    return `${GROUP_TITLES[group]}:\n${lines.join('\n')}`;
  });
  return `Usage: tollgate <command> [flags]

${sections.join('\n\n')}

Flags for every command: --json (JSON only on stdout), -h/--help.
Client commands also take --url URL, --user-key KEY, --api-key KEY (over the environment).

Environment:
  TOLLGATE_URL                  server to talk to (default ${DEFAULT_URL})
  TOLLGATE_USER_KEY             your user key (tg_uk_…)
  TOLLGATE_API_KEY              admin key or app secret key (tg_sk_…), for operator commands
  TOLLGATE_MAX_CREDITS_PER_RUN  most credits one run may spend (the server refuses past it)
  TOLLGATE_RUN_ID               groups several invocations into one run (default: one per process)
  NO_COLOR                      no colour even on a terminal
  Server: DATABASE_URL, TOLLGATE_DATA_DIR, TOLLGATE_CONFIG, TOLLGATE_ADMIN_KEY, TOLLGATE_SECRET, PORT.

Exit codes: 0 ok, 1 error (server unreachable, key refused, …), 2 usage, 3 insufficient credits, run or spend limit.
`;
}

export function commandHelp(command: Command): string {
  const flags: Array<[string, string]> = [...(command.flags ?? [])];
  if (command.group !== 'server') {
    flags.push(['--url URL', `server (default TOLLGATE_URL or ${DEFAULT_URL})`]);
    if (command.group === 'user') flags.push(['--user-key KEY', 'your user key (default TOLLGATE_USER_KEY)']);
    if (command.group === 'operator' || command.path[0] === 'keys') {
      flags.push(['--api-key KEY', 'admin or app secret key (default TOLLGATE_API_KEY)']);
    }
  }
  flags.push(['--json', 'print JSON only'], ['-h, --help', 'show this help']);
  const width = Math.max(...flags.map(([flag]) => flag.length)) + 2;
  return `Usage: tollgate ${commandName(command)}${command.usage ? ` ${command.usage}` : ''}

${command.summary[0]!.toUpperCase()}${command.summary.slice(1)}.

Flags:
${flags.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`).join('\n')}
${command.details ? `\n${command.details}\n` : ''}`;
}

/** The command named by the leading words of argv, and the arguments after them. */
export function findCommand(argv: string[]): { command: Command; args: string[] } {
  const [first, second] = argv;
  const two = COMMANDS.find(
    (command) => command.path.length === 2 && command.path[0] === first && command.path[1] === second,
  );
  if (two) return { command: two, args: argv.slice(2) };
  const one = COMMANDS.find((command) => command.path.length === 1 && command.path[0] === first);
  if (one) return { command: one, args: argv.slice(1) };
  const family = COMMANDS.filter((command) => command.path[0] === first);
  if (family.length > 0) {
    const names = family.map((command) => command.path[1]).join(', ');
    const message =
      second === undefined || second.startsWith('-')
        ? `tollgate ${first} needs a subcommand: ${names}`
        : `unknown subcommand: tollgate ${first} ${second} (try: ${names})`;
    throw new UsageError(message);
  }
  throw new UsageError(`unknown command: ${first}`);
}

const defaultIo = (): CliIo => {
  exitQuietlyOnClosedPipe();
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
};

/**
 * `tollgate models | head`: once the reader has gone, there is nobody to print to — stop quietly
 * (exit 0, as other command-line tools do) instead of an EPIPE stack trace.
 */
function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
  }
}

export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(usageText());
    return EXIT.usage;
  }
  if (first === 'help' || first === '--help' || first === '-h') {
    if (rest.length === 0) {
      io.stdout.write(usageText());
      return EXIT.ok;
    }
    return main([...rest, '--help'], io);
  }

  const wantsJson = argv.includes('--json');
  let command: Command | undefined;
  let output = new Output({ json: wantsJson, stdout: io.stdout, stderr: io.stderr, env: io.env });
  try {
    const found = findCommand(argv);
    command = found.command;
    const { values, positionals } = parseCommandArgs(command, found.args);
    if (values.help) {
      io.stdout.write(commandHelp(command));
      return EXIT.ok;
    }
    const context = new CliContext(command, values, io);
    output = context.output;
    return await command.run({ values, positionals, context });
  } catch (error) {
    return reportError(error, output, io, command);
  }
}

/** One place that turns a failure into a message (or JSON) and an exit code. */
function reportError(error: unknown, output: Output, io: CliIo, command: Command | undefined): number {
  if (error instanceof UsageError) {
    const about = error.command ?? command;
    output.failure(
      `${error.message}\nRun "tollgate ${about ? `${commandName(about)} ` : ''}--help" for usage.`,
      { code: 'usage', message: error.message },
    );
    return EXIT.usage;
  }
  if (error instanceof TollgateError) {
    const body = { code: error.code, message: error.message, status: error.status, ...error.details };
    output.failure(describeApiError(error, io), body);
    return error instanceof PaymentRequiredError ? EXIT.payment : EXIT.error;
  }
  const message = error instanceof Error ? error.message : String(error);
  output.failure(message, { code: 'error', message });
  return EXIT.error;
}

function describeApiError(error: TollgateError, io: CliIo): string {
  if (error instanceof InsufficientCreditsError) {
    const shortBy =
      error.required !== undefined && error.available !== undefined
        ? ` (needs ${error.required} credits, ${error.available} available)`
        : '';
    return `insufficient credits${shortBy}. Buy more with: tollgate billing buy --amount 10`;
  }
  if (error instanceof RunLimitExceededError) {
    const cap = io.env.TOLLGATE_MAX_CREDITS_PER_RUN;
    return `run limit reached: ${error.message}${cap ? ` (TOLLGATE_MAX_CREDITS_PER_RUN=${cap})` : ''}`;
  }
  if (error instanceof SpendLimitExceededError) {
    const resets = error.resetsAt ? `; it resets ${error.resetsAt.toISOString()}` : '';
    return `spend limit reached: ${error.spent ?? '?'} of ${error.limit ?? '?'} credits spent this ${error.period ?? 'period'}${resets}`;
  }
  if (error instanceof APIConnectionError) {
    const reason = rootCause(error);
    return `cannot reach Tollgate: ${error.message}${reason ? ` (${reason})` : ''}. Is the server running? Set TOLLGATE_URL or pass --url.`;
  }
  if (error instanceof AuthenticationError) {
    return `the server refused the key (${error.code}): ${error.message}`;
  }
  return `${error.code}: ${error.message}`;
}

/** The innermost cause's code or message (fetch hides ECONNREFUSED two levels down). */
function rootCause(error: Error): string | undefined {
  let current: unknown = error.cause;
  let found: string | undefined;
  for (let depth = 0; current instanceof Error && depth < 5; depth += 1) {
    found = (current as Error & { code?: string }).code ?? current.message;
    current = current.cause;
  }
  return found;
}
