/**
 * Config text (YAML or JSON) to plain data, keeping every decimal exactly as written.
 *
 * A YAML or JSON parser would turn `0.3` into a float; we make the float tag resolve to its source
 * text instead, and integers too large for a float likewise, so money.ts parses the digits the
 * operator typed. JSON is parsed by the same YAML parser (JSON is YAML 1.2) after `JSON.parse` has
 * checked it is well-formed JSON.
 */
import { createRequire } from 'node:module';
import type { Tags } from 'yaml';
import { TollgateError } from '../shared/errors.ts';

// Read only when there is a config file: the built-in config needs no parser, and loading one costs
// start time. Required (yaml ships CommonJS), so that loadConfig stays synchronous.
let yamlModule: typeof import('yaml') | undefined;
const yamlParser = () => {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlModule;
};

export type ConfigFormat = 'yaml' | 'json';

const FLOAT_TAG = 'tag:yaml.org,2002:float';
const INT_TAG = 'tag:yaml.org,2002:int';
const DECIMAL_INT = /^[-+]?[0-9]+$/;

function keepDecimalText(tags: Tags): Tags {
  return tags.map((tag) => {
    if (typeof tag !== 'object' || !('resolve' in tag) || typeof tag.test !== 'object') return tag;
    const test = tag.test;
    if (tag.tag === FLOAT_TAG && !test.test('.inf') && !test.test('.nan')) {
      return { ...tag, resolve: (source: string) => source };
    }
    if (tag.tag === INT_TAG && test.test('10') && !tag.format) {
      const resolveInteger = (source: string) =>
        DECIMAL_INT.test(source) && !Number.isSafeInteger(Number(source)) ? source : Number(source);
      return { ...tag, resolve: resolveInteger };
    }
    return tag;
  });
}

/** Picks the format from the file name, else from the text (JSON starts with `{`). */
export function detectConfigFormat(text: string, path?: string): ConfigFormat {
  if (path && /\.json$/i.test(path)) return 'json';
  if (path && /\.ya?ml$/i.test(path)) return 'yaml';
  return text.trimStart().startsWith('{') ? 'json' : 'yaml';
}

export function parseConfigText(text: string, format: ConfigFormat, sourceName = 'config'): unknown {
  if (format === 'json') {
    try {
      JSON.parse(text);
    } catch (error) {
      throw new TollgateError('invalid_request', `${sourceName}: invalid JSON: ${(error as Error).message}`);
    }
  }
  try {
    return yamlParser().parse(text, { customTags: keepDecimalText, uniqueKeys: true }) ?? {};
  } catch (error) {
    throw new TollgateError('invalid_request', `${sourceName}: invalid YAML: ${(error as Error).message}`);
  }
}
