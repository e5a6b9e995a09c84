/**
 * Loading the config: the only I/O in this folder. Everything past reading the file is pure, so
 * `parseConfig` serves tests and any caller that already holds the data.
 */
import { readFileSync } from 'node:fs';
import { TollgateError } from '../shared/errors.ts';
import { createConfigSchema } from './config-schema.ts';
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
  const issues = result.error.issues.map((issue) => ({
    path: formatPath(issue.path, merged),
    message: issue.message,
  }));
  const [first] = issues;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  throw new TollgateError('invalid_request', `${first.path}: ${first.message}${more}`, {
    param: first.path,
    issues,
  });
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
