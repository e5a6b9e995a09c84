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
import { countTextTokens } from './tokens.ts';
import type { AnthropicUsage, ApiFormat, OpenAiUsage } from './wire-types.ts';
import { isRecord } from './wire-types.ts';

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
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

/** Normalizes an OpenAI `usage` object; `null` when there is none to read. */
export function usageFromOpenAi(usage: unknown): Usage | null {
  if (!isRecord(usage)) return null;
  const prompt = tokenCount(usage.prompt_tokens);
  const completion = tokenCount(usage.completion_tokens);
  if (prompt === undefined && completion === undefined) return null;
  const details = isRecord(usage.prompt_tokens_details) ? usage.prompt_tokens_details : undefined;
  const cached = Math.min(tokenCount(details?.cached_tokens) ?? 0, prompt ?? 0);
  return {
    input_tokens: (prompt ?? 0) - cached,
    output_tokens: completion ?? 0,
    cached_input_tokens: cached,
  };
}

/** Normalizes an Anthropic `usage` object; `null` when there is none to read. */
export function usageFromAnthropic(usage: unknown): Usage | null {
  if (!isRecord(usage)) return null;
  const input = tokenCount(usage.input_tokens);
  const output = tokenCount(usage.output_tokens);
  if (input === undefined && output === undefined) return null;
  return {
    input_tokens: (input ?? 0) + (tokenCount(usage.cache_creation_input_tokens) ?? 0),
    output_tokens: output ?? 0,
    cached_input_tokens: tokenCount(usage.cache_read_input_tokens) ?? 0,
  };
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
  };
}

export function addUsage(left: Usage, right: Usage): Usage {
  return {
    input_tokens: left.input_tokens + right.input_tokens,
    output_tokens: left.output_tokens + right.output_tokens,
    cached_input_tokens: left.cached_input_tokens + right.cached_input_tokens,
  };
}

export interface UsageAccumulatorOptions {
  /** The upstream's dialect: which events to read. */
  format: ApiFormat;
  /** Input tokens counted from the request, used when the stream never reports them. */
  inputTokensEstimate?: number;
}

export interface AccumulatedUsage {
  usage: Usage;
  /** False when the upstream never reported input tokens and the request's count stood in. */
  inputReported: boolean;
  /** False when the upstream never reported final output tokens and the streamed text was counted. */
  outputReported: boolean;
}

/**
 * Reads usage from an upstream stream, one event at a time, and keeps the generated text so that a
 * stream cut short (client gone, upstream died, provider omitted usage) can still be billed for what
 * was produced: an upstream that dies before its final report cannot make the output free.
 */
export class UsageAccumulator {
  private readonly format: ApiFormat;
  private readonly inputTokensEstimate: number;
  private readonly textPieces: string[] = [];
  private reportedInput: number | undefined;
  private reportedCacheCreation = 0;
  private reportedCacheRead = 0;
  private reportedOutput: number | undefined;
  /** Anthropic's message_start carries a provisional output count (usually 1); only message_delta is final. */
  private provisionalOutput = 0;
  private openAiUsage: Usage | null = null;

  constructor(options: UsageAccumulatorOptions) {
    this.format = options.format;
    this.inputTokensEstimate = options.inputTokensEstimate ?? 0;
  }

  push(event: SseEvent): void {
    const payload = sseJson(event);
    if (!isRecord(payload)) return;
    if (this.format === 'openai') this.pushOpenAi(payload);
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

  /** The usage to bill now. Call once the stream has ended or been abandoned. */
  result(): AccumulatedUsage {
    if (this.format === 'openai') {
      if (this.openAiUsage)
        return { usage: { ...this.openAiUsage }, inputReported: true, outputReported: true };
      return {
        usage: {
          input_tokens: this.inputTokensEstimate,
          output_tokens: this.countedOutput(),
          cached_input_tokens: 0,
        },
        inputReported: false,
        outputReported: false,
      };
    }
    const inputReported = this.reportedInput !== undefined;
    const outputReported = this.reportedOutput !== undefined;
    const output = outputReported
      ? this.reportedOutput!
      : Math.max(this.provisionalOutput, this.countedOutput());
    return {
      usage: {
        input_tokens: inputReported
          ? this.reportedInput! + this.reportedCacheCreation
          : this.inputTokensEstimate,
        output_tokens: output,
        cached_input_tokens: inputReported ? this.reportedCacheRead : 0,
      },
      inputReported,
      outputReported,
    };
  }

  private countedOutput(): number {
    const text = this.streamedText();
    return text.length === 0 ? 0 : countTextTokens(text);
  }

  private pushOpenAi(chunk: Record<string, any>): void {
    const usage = usageFromOpenAi(chunk.usage);
    if (usage) this.openAiUsage = usage;
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
        const output = tokenCount(usage.output_tokens);
        if (output !== undefined) this.reportedOutput = output;
        break;
      }
      default:
        break;
    }
  }

  private mergeAnthropicInput(usage: Record<string, any>): void {
    const input = tokenCount(usage.input_tokens);
    if (input !== undefined) this.reportedInput = input;
    const creation = tokenCount(usage.cache_creation_input_tokens);
    if (creation !== undefined) this.reportedCacheCreation = creation;
    const read = tokenCount(usage.cache_read_input_tokens);
    if (read !== undefined) this.reportedCacheRead = read;
  }
}
