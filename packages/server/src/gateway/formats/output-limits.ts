/**
 * The output a request may make the provider generate, read and rewritten in one place, so that no
 * limit the request carries escapes the hold.
 *
 * - Every answer the provider generates is billed: `n` answers (or `best_of` candidates) may each use
 *   the whole limit, so the worst case is choices × limit. Both are bounded (1…128, OpenAI's own
 *   ceiling for `n`); anything else is refused.
 * - A request may name its limit in several fields (`max_tokens` and `max_completion_tokens`, and
 *   `max_output_tokens`, which OpenAI-compatible providers take). A provider honours whichever it
 *   knows, so when the gateway lowers the limit, every one of them is set to the lowered value.
 * - Anthropic's extended thinking spends `thinking.budget_tokens` out of `max_tokens` and must stay
 *   below it (and at 1,024 or more): a lowered request keeps a budget below the new limit, or drops
 *   thinking when no valid budget is left.
 */
import { TollgateError } from '../../shared/errors.ts';
import type { Dialect } from './wire-types.ts';
import { isRecord } from './wire-types.ts';

/** The most answers one request may ask for (`n`, `best_of`). */
export const MAX_CHOICES = 128;
/** The largest output limit a request may name at all (before the catalog's limit applies). */
export const MAX_OUTPUT_TOKENS = 10_000_000;
/** Anthropic refuses a thinking budget below this. */
export const MIN_THINKING_BUDGET_TOKENS = 1_024;

const OPENAI_LIMIT_FIELDS = ['max_tokens', 'max_completion_tokens', 'max_output_tokens'] as const;
const ANTHROPIC_LIMIT_FIELDS = ['max_tokens'] as const;
/**
 * The Responses API's limit is `max_output_tokens`, which a lowered body always carries; Chat
 * Completions' fields are read (and lowered) too, for an OpenAI-compatible upstream that honours them.
 */
const RESPONSES_LIMIT_FIELDS = ['max_output_tokens', 'max_tokens', 'max_completion_tokens'] as const;
const CHOICE_FIELDS = ['n', 'best_of'] as const;

export interface OutputLimits {
  /** How many answers the provider generates; each may use the whole limit. */
  choices: number;
  /** The smallest limit the request names, or undefined when it names none. */
  requestedMaxTokens: number | undefined;
}

function limitFields(format: Dialect): readonly string[] {
  if (format === 'responses') return RESPONSES_LIMIT_FIELDS;
  return format === 'openai' ? OPENAI_LIMIT_FIELDS : ANTHROPIC_LIMIT_FIELDS;
}

function positiveInteger(body: Record<string, unknown>, field: string, maximum: number): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > maximum) {
    throw new TollgateError('invalid_request', `${field} must be an integer from 1 to ${maximum}`, {
      param: field,
    });
  }
  return value;
}

/** Reads (and validates) how much output a request body may ask for, in the dialect it arrived in. */
export function readOutputLimits(format: Dialect, body: Record<string, unknown>): OutputLimits {
  let requestedMaxTokens: number | undefined;
  for (const field of limitFields(format)) {
    const value = positiveInteger(body, field, MAX_OUTPUT_TOKENS);
    if (value !== undefined) requestedMaxTokens = Math.min(requestedMaxTokens ?? value, value);
  }
  // Read in both dialects: an upstream that honours them would multiply the output all the same.
  let choices = 1;
  for (const field of CHOICE_FIELDS)
    choices = Math.max(choices, positiveInteger(body, field, MAX_CHOICES) ?? 1);
  return { choices, requestedMaxTokens };
}

/**
 * The body with every output limit it carries set to `maxTokens` (per answer); an OpenAI body without
 * `max_tokens` or `max_completion_tokens` gets `max_tokens`, an Anthropic one always has it. A thinking budget that would no longer
 * fit below the limit is lowered, or thinking is dropped when no budget of at least 1,024 fits.
 */
export function withOutputLimit(
  format: Dialect,
  body: Record<string, unknown>,
  maxTokens: number,
): Record<string, unknown> {
  const lowered: Record<string, unknown> = { ...body };
  let named = false;
  for (const field of limitFields(format)) {
    if (lowered[field] === undefined || lowered[field] === null) {
      delete lowered[field];
      continue;
    }
    lowered[field] = maxTokens;
    // `max_output_tokens` alone is not a Chat Completions field: the limit also goes where OpenAI reads it.
    named ||= format === 'responses' ? field === 'max_output_tokens' : field !== 'max_output_tokens';
  }
  if (!named) lowered[format === 'responses' ? 'max_output_tokens' : 'max_tokens'] = maxTokens;
  const thinking = lowered.thinking;
  if (format === 'anthropic' && isRecord(thinking) && thinking.type === 'enabled') {
    const budget = typeof thinking.budget_tokens === 'number' ? thinking.budget_tokens : undefined;
    if (budget !== undefined && budget >= maxTokens) {
      if (maxTokens - 1 >= MIN_THINKING_BUDGET_TOKENS)
        lowered.thinking = { ...thinking, budget_tokens: maxTokens - 1 };
      else delete lowered.thinking;
    }
  }
  return lowered;
}
