/**
 * The shape of a CLI command and the checks every command gets for free: flags parsed strictly
 * (an unknown flag is a usage error), required arguments present, `--help` printed from the same
 * description that drives the parsing.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { CliContext } from './context.ts';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type FlagValues = Record<string, string | boolean | undefined>;

/** Who a command talks as: the end user's key, the operator's key, nobody, or the local server. */
export type CommandGroup = 'user' | 'operator' | 'public' | 'server';

export interface CommandInput {
  values: FlagValues;
  positionals: string[];
  context: CliContext;
}

export interface Command {
  /** The words after `tollgate`, e.g. `['billing', 'buy']`. */
  path: string[];
  group: CommandGroup;
  summary: string;
  /** What follows the command words in the usage line, e.g. `--amount USD [--no-open]`. */
  usage?: string;
  /** `[flag, explanation]` lines of `--help`. */
  flags?: Array<[string, string]>;
  options?: OptionSpec;
  /** Names of positional arguments; a name ending in `?` is optional. */
  positionals?: string[];
  /** Extra lines for `--help` (examples, environment). */
  details?: string;
  /** Resolves to the exit code. */
  run(input: CommandInput): Promise<number>;
}

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: Command,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Flags every command accepts. */
export const COMMON_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

/** Flags of the commands that talk to a server over HTTP. */
export const CLIENT_OPTIONS = {
  url: { type: 'string' },
  'user-key': { type: 'string' },
  'api-key': { type: 'string' },
} as const satisfies OptionSpec;

export function commandName(command: Command): string {
  return command.path.join(' ');
}

export function optionsOf(command: Command): OptionSpec {
  return {
    ...COMMON_OPTIONS,
    ...(command.group === 'server' ? {} : CLIENT_OPTIONS),
    ...(command.options ?? {}),
  };
}

/** Parses a command's arguments; a parse failure becomes a `UsageError`. */
export function parseCommandArgs(
  command: Command,
  args: string[],
): { values: FlagValues; positionals: string[] } {
  let parsed: ReturnType<typeof parseArgs>;
  const options = optionsOf(command);
  try {
    parsed = parseArgs({
      args: joinNegativeValues(args, options),
      allowPositionals: true,
      strict: true,
      options,
    });
  } catch (error) {
    throw new UsageError(parseErrorMessage(error), command);
  }
  const values = parsed.values as FlagValues;
  if (values.help) return { values, positionals: parsed.positionals };

  const names = command.positionals ?? [];
  const required = names.filter((name) => !name.endsWith('?'));
  if (parsed.positionals.length < required.length) {
    throw new UsageError(`missing argument ${required[parsed.positionals.length]!.toUpperCase()}`, command);
  }
  if (parsed.positionals.length > names.length) {
    const extra = parsed.positionals[names.length]!;
    throw new UsageError(
      names.length === 0 && command.path.length === 1
        ? `unknown subcommand or argument: ${extra}`
        : `unexpected argument: ${extra}`,
      command,
    );
  }
  return { values, positionals: parsed.positionals };
}

/**
 * `--amount -5`: Node's parser takes `-5` for a flag and calls the value ambiguous. A string flag
 * followed by a negative number gets it as its value (`--amount=-5`).
 */
export function joinNegativeValues(args: string[], options: OptionSpec): string[] {
  const joined: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index]!;
    const next = args[index + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${arg}=${next}`);
      index += 1;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

function parseErrorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Node's text ends with advice about '--' that does not apply to these commands.
  return message
    .replace(/\. To specify a positional argument.*$/s, '')
    .replace(/^Unknown option/, 'unknown flag');
}

/** Reads a string flag that the command cannot do without. */
export function requireFlag(values: FlagValues, name: string, command: Command): string {
  const value = values[name];
  if (typeof value !== 'string' || value.trim() === '')
    throw new UsageError(`--${name} is required`, command);
  return value.trim();
}

export function stringFlag(values: FlagValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A whole number flag within bounds, or undefined when not given. */
export function integerFlag(
  values: FlagValues,
  name: string,
  command: Command,
  bounds: { min: number; max: number },
): number | undefined {
  const text = stringFlag(values, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < bounds.min || value > bounds.max) {
    throw new UsageError(`--${name} must be a whole number from ${bounds.min} to ${bounds.max}`, command);
  }
  return value;
}

/** A decimal flag (credits, dollars, a rate) kept as its exact text; `signed` allows a leading minus. */
export function decimalFlag(
  values: FlagValues,
  name: string,
  command: Command,
  options: { maxDecimals?: number; signed?: boolean; positive?: boolean } = {},
): string | undefined {
  const text = stringFlag(values, name)?.trim();
  if (text === undefined) return undefined;
  const maxDecimals = options.maxDecimals ?? 6;
  const pattern = new RegExp(`^${options.signed ? '-?' : ''}\\d+(\\.\\d{1,${maxDecimals}})?$`);
  if (!pattern.test(text)) {
    throw new UsageError(
      `--${name} must be a number with at most ${maxDecimals} decimals, got "${text}"`,
      command,
    );
  }
  if (options.positive && !/[1-9]/.test(text))
    throw new UsageError(`--${name} must be greater than 0`, command);
  return text;
}
