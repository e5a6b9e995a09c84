/**
 * Loading the config: the only I/O in this folder. Everything past reading the file is pure, so
 * `parseConfig` serves tests and any caller that already holds the data.
 */
import { readFileSync } from 'node:fs';
import { TollgateError } from '../shared/errors.ts';
import { createConfigSchema, knownConfigKeys } from './config-schema.ts';
import { DEFAULT_RAW_CONFIG } from './default-config.ts';
import { mergeWithDefaults } from './merge-config.ts';
import { type ConfigFormat, detectConfigFormat, parseConfigText } from './parse-config-text.ts';
import type { TollgateConfig } from './types.ts';

export type Environment = Record<string, string | undefined>;

/**
 * Reads, validates and normalizes the config file at `path` (YAML or JSON, by extension or
 * content); without a path, the built-in default. The caller resolves the path (`--config`, then
 * `TOLLGATE_CONFIG`). Invalid content throws TollgateError('invalid_request') naming the field.
 */
export function loadConfig(path?: string, env: Environment = process.env): TollgateConfig {
  if (path === undefined || path === '') return parseConfig({}, env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (error as Error).message;
    throw new TollgateError('invalid_request', `config file ${path}: ${reason}`, { param: 'config' });
  }
  return parseConfigSource(text, { path, env });
}

export function parseConfigSource(
  text: string,
  options: { path?: string; format?: ConfigFormat; env?: Environment } = {},
): TollgateConfig {
  const format = options.format ?? detectConfigFormat(text, options.path);
  const data = parseConfigText(text, format, options.path ?? 'config');
  return parseConfig(data, options.env ?? process.env, options.path ?? null);
}

/** Validates already-parsed config data (the file's sections over the built-in default). */
export function parseConfig(
  data: unknown,
  env: Environment = process.env,
  sourcePath: string | null = null,
): TollgateConfig {
  const merged = mergeWithDefaults(data, DEFAULT_RAW_CONFIG);
  const result = createConfigSchema(env, sourcePath).safeParse(merged);
  if (result.success) return result.data;
  const issues = result.error.issues.flatMap((issue) => {
    if (issue.code !== 'unrecognized_keys')
      return [{ path: formatPath(issue.path, merged), message: issue.message }];
    // One line per unknown key, with the nearest known one: `singup_bonus` → did you mean "signup_bonus"?
    const known = knownConfigKeys(issue.path);
    return issue.keys.map((key) => {
      const suggestion = closestKey(key, known);
      return {
        path: formatPath([...issue.path, key], merged),
        message: `unknown key${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`,
      };
    });
  });
  // Every problem at once, each with its path, so one edit fixes them all.
  const lines = issues.map((issue) => `  ${issue.path}: ${issue.message}`);
  const message =
    issues.length === 1
      ? `${sourcePath ? `${sourcePath}: ` : ''}${issues[0]!.path}: ${issues[0]!.message}`
      : `${sourcePath ?? 'the config'} has ${issues.length} problems:\n${lines.join('\n')}`;
  throw new TollgateError('invalid_request', message, { param: issues[0]!.path, issues });
}

/** The known key a mistyped one probably meant: one starts the other, or within a few edits. */
export function closestKey(key: string, known: string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  // `maximum` for `max`, `timeout` for `timeout_seconds`: one is the start of the other.
  const prefix = known.find((candidate) => key.startsWith(candidate) || candidate.startsWith(key));
  if (prefix) return prefix;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { key: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(key.length / 3)) ? best.key : undefined;
}

/** Levenshtein distance with transpositions counted as one edit (`modle` → `model`). */
function editDistance(from: string, to: string): number {
  const rows = Array.from({ length: from.length + 1 }, (_, row) =>
    Array.from({ length: to.length + 1 }, (_, column) => (row === 0 ? column : column === 0 ? row : 0)),
  );
  for (let row = 1; row <= from.length; row += 1) {
    for (let column = 1; column <= to.length; column += 1) {
      const cost = from[row - 1] === to[column - 1] ? 0 : 1;
      let distance = Math.min(
        rows[row - 1]![column]! + 1,
        rows[row]![column - 1]! + 1,
        rows[row - 1]![column - 1]! + cost,
      );
      if (row > 1 && column > 1 && from[row - 1] === to[column - 2] && from[row - 2] === to[column - 1]) {
        distance = Math.min(distance, rows[row - 2]![column - 2]! + 1);
      }
      rows[row]![column] = distance;
    }
  }
  return rows[from.length]![to.length]!;
}

/** `['models', 3, 'price', 'per_call']` → `models[3].price.per_call` (naming the model's id too). */
function formatPath(path: readonly PropertyKey[], data: Record<string, unknown>): string {
  if (path.length === 0) return 'config';
  let text = '';
  for (const segment of path) {
    text += typeof segment === 'number' ? `[${segment}]` : `${text ? '.' : ''}${String(segment)}`;
  }
  const [section, index] = path;
  if (section === 'models' && typeof index === 'number' && Array.isArray(data.models)) {
    const id = (data.models[index] as { id?: unknown } | undefined)?.id;
    if (typeof id === 'string') text += ` (model ${id})`;
  }
  return text;
}
