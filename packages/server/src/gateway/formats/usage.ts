/**
 * Token usage in one shape for billing, whatever the upstream dialect.
 *
 * Invariant: `input_tokens` EXCLUDES cached tokens, so a price is simply
 * input × input price + cached_input × cached price + output × output price.
 * - OpenAI's `prompt_tokens` includes `prompt_tokens_details.cached_tokens`, so the cached part is
 *   subtracted.
 * - Anthropic's `input_tokens` already excludes cache reads; `cache_read_input_tokens` is the cached
 *   part, and `cache_creation_input_tokens` (writing the cache) is billed as input here.
 */
import { type SseEvent, sseJson } from './sse.ts';
import { countTextTokensUpTo } from './tokens.ts';
import type { AnthropicUsage, ApiFormat, Dialect, OpenAiUsage } from './wire-types.ts';
import { isRecord } from './wire-types.ts';

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  /**
   * The credits this call was charged (a number, as OpenRouter's `usage.cost`): set only on the billed
   * usage the client is shown, and written into every usage object the client receives.
   */
  cost?: number;
}

export const ZERO_USAGE: Readonly<Usage> = Object.freeze({
  input_tokens: 0,
  output_tokens: 0,
  cached_input_tokens: 0,
});

/** A token count from the wire: a finite, non-negative integer, or `undefined` if absent or garbage. */
function tokenCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
}

/** A field that was sent but cannot be read as a token count (negative, a string, NaN…). */
function isMalformed(value: unknown): boolean {
  return value !== undefined && value !== null && tokenCount(value) === undefined;
}

/**
 * Usage as the provider reported it, field by field: `undefined` where it said nothing usable, so that
 * each missing figure can be filled in on its own (the request's count for input, the delivered text for
 * output) instead of becoming 0. `malformed` says a field was there but unreadable.
 */
export interface ReportedUsage {
  input_tokens?: number;
  output_tokens?: number;
  cached_input_tokens?: number;
  malformed: boolean;
}

/** An OpenAI `usage` object, field by field; `null` when there is none to read. */
export function reportedUsageFromOpenAi(usage: unknown): ReportedUsage | null {
  if (!isRecord(usage)) return null;
  const prompt = tokenCount(usage.prompt_tokens);
  const completion = tokenCount(usage.completion_tokens);
  const details = isRecord(usage.prompt_tokens_details) ? usage.prompt_tokens_details : undefined;
  const malformed =
    isMalformed(usage.prompt_tokens) ||
    isMalformed(usage.completion_tokens) ||
    isMalformed(details?.cached_tokens);
  if (prompt === undefined && completion === undefined) return malformed ? { malformed } : null;
  const cached = prompt === undefined ? undefined : Math.min(tokenCount(details?.cached_tokens) ?? 0, prompt);
  return {
    input_tokens: prompt === undefined ? undefined : prompt - cached!,
    output_tokens: completion,
    cached_input_tokens: cached,
    malformed,
  };
}

/** A Responses API `usage` object, field by field: cached tokens are part of `input_tokens`, as in Chat Completions. */
export function reportedUsageFromResponses(usage: unknown): ReportedUsage | null {
  if (!isRecord(usage)) return null;
  const details = isRecord(usage.input_tokens_details) ? usage.input_tokens_details : undefined;
  return reportedUsageFromOpenAi({
    prompt_tokens: usage.input_tokens,
    completion_tokens: usage.output_tokens,
    prompt_tokens_details: details ? { cached_tokens: details.cached_tokens } : undefined,
  });
}

/** An Anthropic `usage` object, field by field; `null` when there is none to read. */
export function reportedUsageFromAnthropic(usage: unknown): ReportedUsage | null {
  if (!isRecord(usage)) return null;
  const input = tokenCount(usage.input_tokens);
  const output = tokenCount(usage.output_tokens);
  const malformed = [
    usage.input_tokens,
    usage.output_tokens,
    usage.cache_creation_input_tokens,
    usage.cache_read_input_tokens,
  ].some(isMalformed);
  if (input === undefined && output === undefined) return malformed ? { malformed } : null;
  return {
    input_tokens:
      input === undefined ? undefined : input + (tokenCount(usage.cache_creation_input_tokens) ?? 0),
    output_tokens: output,
    cached_input_tokens: input === undefined ? undefined : (tokenCount(usage.cache_read_input_tokens) ?? 0),
    malformed,
  };
}

function filled(reported: ReportedUsage | null): Usage | null {
  if (!reported || (reported.input_tokens === undefined && reported.output_tokens === undefined)) return null;
  return {
    input_tokens: reported.input_tokens ?? 0,
    output_tokens: reported.output_tokens ?? 0,
    cached_input_tokens: reported.cached_input_tokens ?? 0,
  };
}

/** Normalizes an OpenAI `usage` object (missing figures read 0, for display); `null` when there is none. */
export function usageFromOpenAi(usage: unknown): Usage | null {
  return filled(reportedUsageFromOpenAi(usage));
}

/** Normalizes an Anthropic `usage` object (missing figures read 0, for display); `null` when there is none. */
export function usageFromAnthropic(usage: unknown): Usage | null {
  return filled(reportedUsageFromAnthropic(usage));
}

/** The usage reported in a non-stream response body of the upstream's dialect, field by field. */
export function reportedUsageFromResponse(format: Dialect, body: unknown): ReportedUsage | null {
  if (!isRecord(body)) return null;
  if (format === 'responses') return reportedUsageFromResponses(body.usage);
  return format === 'openai' ? reportedUsageFromOpenAi(body.usage) : reportedUsageFromAnthropic(body.usage);
}

/** Usage of a non-stream response body in the upstream's dialect. */
export function usageFromResponse(format: ApiFormat, body: unknown): Usage | null {
  if (!isRecord(body)) return null;
  return format === 'openai' ? usageFromOpenAi(body.usage) : usageFromAnthropic(body.usage);
}

/** The OpenAI shape of a usage, for responses served to OpenAI clients. */
export function usageToOpenAi(usage: Usage): OpenAiUsage {
  const prompt = usage.input_tokens + usage.cached_input_tokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.output_tokens,
    total_tokens: prompt + usage.output_tokens,
    prompt_tokens_details: { cached_tokens: usage.cached_input_tokens },
    ...(usage.cost !== undefined ? { cost: usage.cost } : {}),
  };
}

/**
 * The Anthropic shape of a usage. Cache writes were folded into input when normalizing and cannot be
 * told apart again, so `cache_creation_input_tokens` is 0.
 */
export function usageToAnthropic(usage: Usage): AnthropicUsage {
  return {
    input_tokens: usage.input_tokens,
    output_tokens: usage.output_tokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: usage.cached_input_tokens,
    ...(usage.cost !== undefined ? { cost: usage.cost } : {}),
  };
}

export function addUsage(left: Usage, right: Usage): Usage {
  return {
    input_tokens: left.input_tokens + right.input_tokens,
    output_tokens: left.output_tokens + right.output_tokens,
    cached_input_tokens: left.cached_input_tokens + right.cached_input_tokens,
  };
}

/**
 * What a call is billed from, given what the provider reported: each usable reported figure, else the
 * request's estimated input and the output counted from the delivered text. A reported output of 0
 * next to delivered text is not usable either — delivered output is never free.
 */
export function resolveUsage(
  reported: ReportedUsage | null,
  fallback: { inputTokens: number; countOutput: () => number; delivered: boolean },
): AccumulatedUsage {
  const inputReported = reported?.input_tokens !== undefined;
  const outputReported =
    reported?.output_tokens !== undefined && !(reported.output_tokens === 0 && fallback.delivered);
  return {
    usage: {
      input_tokens: inputReported ? reported!.input_tokens! : fallback.inputTokens,
      output_tokens: outputReported ? reported!.output_tokens! : fallback.countOutput(),
      cached_input_tokens: inputReported ? (reported!.cached_input_tokens ?? 0) : 0,
    },
    inputReported,
    outputReported,
    malformed: reported?.malformed === true,
  };
}

/** Why a usage was cut down to what the request allowed. */
export type UsageAnomaly = 'output_above_limit' | 'input_above_bound' | 'malformed_usage';

/**
 * Usage cut down to what the request could have cost: output to the output limit it was sent with
 * (times the number of answers), input plus cached input to the request's input bound (cached first,
 * so a cut never raises the price when cached input is the cheaper rate). The hold was sized from the
 * same two figures, so a bounded usage never costs more than the hold. Reported figures above them are
 * the provider's anomalies; counted ones are our own estimate and are cut silently.
 */
export function boundUsage(
  resolved: AccumulatedUsage,
  limits: { inputTokens: number; outputTokens: number },
): { usage: Usage; anomalies: UsageAnomaly[] } {
  const anomalies: UsageAnomaly[] = [];
  if (resolved.malformed) anomalies.push('malformed_usage');
  const usage = { ...resolved.usage };
  if (usage.output_tokens > limits.outputTokens) {
    if (resolved.outputReported) anomalies.push('output_above_limit');
    usage.output_tokens = limits.outputTokens;
  }
  if (usage.input_tokens + usage.cached_input_tokens > limits.inputTokens) {
    if (resolved.inputReported) anomalies.push('input_above_bound');
    usage.cached_input_tokens = Math.min(usage.cached_input_tokens, limits.inputTokens);
    usage.input_tokens = limits.inputTokens - usage.cached_input_tokens;
  }
  return { usage, anomalies };
}

export interface UsageAccumulatorOptions {
  /** The upstream's dialect: which events to read. */
  format: Dialect;
  /** Input tokens counted from the request, used when the stream never reports them. */
  inputTokensEstimate?: number;
}

export interface AccumulatedUsage {
  usage: Usage;
  /** False when the upstream never reported input tokens and the request's count stood in. */
  inputReported: boolean;
  /** False when the upstream never reported usable output tokens and the streamed text was counted. */
  outputReported: boolean;
  /** Some reported figure was there but unreadable (negative, a string, NaN). */
  malformed: boolean;
}

/**
 * Reads usage from an upstream stream, one event at a time, and keeps the generated text so that a
 * stream cut short (client gone, upstream died, provider omitted usage) can still be billed for what
 * was produced: an upstream that dies before its final report cannot make the output free.
 */
export class UsageAccumulator {
  private readonly format: Dialect;
  private readonly inputTokensEstimate: number;
  private readonly textPieces: string[] = [];
  private readonly reported: ReportedUsage = { malformed: false };
  private reportedCacheCreation = 0;
  /** Anthropic's message_start carries a provisional output count (usually 1); only message_delta is final. */
  private provisionalOutput = 0;

  constructor(options: UsageAccumulatorOptions) {
    this.format = options.format;
    this.inputTokensEstimate = options.inputTokensEstimate ?? 0;
  }

  push(event: SseEvent): void {
    const payload = sseJson(event);
    if (!isRecord(payload)) return;
    if (this.format === 'openai') this.pushOpenAi(payload);
    else if (this.format === 'responses') this.pushResponses(payload);
    else this.pushAnthropic(payload);
  }

  /** The generated text so far: content, tool-call arguments and reasoning, in arrival order. */
  streamedText(): string {
    if (this.textPieces.length > 1) {
      const joined = this.textPieces.join('');
      this.textPieces.length = 0;
      this.textPieces.push(joined);
    }
    return this.textPieces[0] ?? '';
  }

  /**
   * The usage to bill now. Call once the stream has ended or been abandoned. `maxOutputTokens` stops
   * counting the text once it is reached (the bill is cut there anyway).
   */
  result(maxOutputTokens = Number.POSITIVE_INFINITY): AccumulatedUsage {
    const text = this.streamedText();
    const counted = () =>
      Math.max(this.provisionalOutput, text.length === 0 ? 0 : countTextTokensUpTo(text, maxOutputTokens));
    const reported: ReportedUsage = {
      ...this.reported,
      input_tokens:
        this.reported.input_tokens === undefined
          ? undefined
          : this.reported.input_tokens + this.reportedCacheCreation,
    };
    return resolveUsage(reported, {
      inputTokens: this.inputTokensEstimate,
      countOutput: counted,
      delivered: text.length > 0,
    });
  }

  private pushOpenAi(chunk: Record<string, any>): void {
    const usage = reportedUsageFromOpenAi(chunk.usage);
    if (usage) this.merge(usage);
    if (!Array.isArray(chunk.choices)) return;
    for (const choice of chunk.choices) {
      const delta = isRecord(choice) ? choice.delta : undefined;
      if (!isRecord(delta)) continue;
      if (typeof delta.content === 'string') this.textPieces.push(delta.content);
      if (typeof delta.refusal === 'string') this.textPieces.push(delta.refusal);
      // Reasoning text is billed as output by providers that stream it (a common extension).
      if (typeof delta.reasoning_content === 'string') this.textPieces.push(delta.reasoning_content);
      if (Array.isArray(delta.tool_calls)) {
        for (const call of delta.tool_calls) {
          const fn = isRecord(call) ? call.function : undefined;
          if (!isRecord(fn)) continue;
          if (typeof fn.name === 'string') this.textPieces.push(fn.name);
          if (typeof fn.arguments === 'string') this.textPieces.push(fn.arguments);
        }
      }
    }
  }

  private pushResponses(event: Record<string, any>): void {
    const type = typeof event.type === 'string' ? event.type : '';
    if (type.endsWith('.delta') && typeof event.delta === 'string') {
      // Text, refusals, reasoning (summary or full), function and custom tool-call arguments.
      this.textPieces.push(event.delta);
      return;
    }
    if (
      type === 'response.output_item.added' &&
      isRecord(event.item) &&
      typeof event.item.name === 'string'
    ) {
      this.textPieces.push(event.item.name);
      return;
    }
    if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
      const usage = reportedUsageFromResponses(isRecord(event.response) ? event.response.usage : undefined);
      if (usage) this.merge(usage);
    }
  }

  private pushAnthropic(event: Record<string, any>): void {
    switch (event.type) {
      case 'message_start': {
        const usage = isRecord(event.message) ? event.message.usage : undefined;
        if (isRecord(usage)) {
          this.mergeAnthropicInput(usage);
          this.provisionalOutput = tokenCount(usage.output_tokens) ?? 0;
        }
        break;
      }
      case 'content_block_start': {
        const block = event.content_block;
        if (isRecord(block) && block.type === 'tool_use' && typeof block.name === 'string') {
          this.textPieces.push(block.name);
        }
        if (isRecord(block) && block.type === 'text' && typeof block.text === 'string' && block.text) {
          this.textPieces.push(block.text);
        }
        break;
      }
      case 'content_block_delta': {
        const delta = event.delta;
        if (!isRecord(delta)) break;
        if (delta.type === 'text_delta' && typeof delta.text === 'string') this.textPieces.push(delta.text);
        else if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
          this.textPieces.push(delta.partial_json);
        } else if (delta.type === 'thinking_delta' && typeof delta.thinking === 'string') {
          this.textPieces.push(delta.thinking);
        }
        break;
      }
      case 'message_delta': {
        // message_delta usage is cumulative: its fields replace what message_start said.
        const usage = event.usage;
        if (!isRecord(usage)) break;
        this.mergeAnthropicInput(usage);
        if (isMalformed(usage.output_tokens)) this.reported.malformed = true;
        const output = tokenCount(usage.output_tokens);
        if (output !== undefined) this.reported.output_tokens = output;
        break;
      }
      default:
        break;
    }
  }

  private merge(usage: ReportedUsage): void {
    if (usage.malformed) this.reported.malformed = true;
    if (usage.input_tokens !== undefined) {
      this.reported.input_tokens = usage.input_tokens;
      this.reported.cached_input_tokens = usage.cached_input_tokens;
    }
    if (usage.output_tokens !== undefined) this.reported.output_tokens = usage.output_tokens;
  }

  private mergeAnthropicInput(usage: Record<string, any>): void {
    for (const field of ['input_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const) {
      if (isMalformed(usage[field])) this.reported.malformed = true;
    }
    const input = tokenCount(usage.input_tokens);
    if (input !== undefined) this.reported.input_tokens = input;
    const creation = tokenCount(usage.cache_creation_input_tokens);
    if (creation !== undefined) this.reportedCacheCreation = creation;
    const read = tokenCount(usage.cache_read_input_tokens);
    if (read !== undefined) this.reported.cached_input_tokens = read;
  }
}
