/**
 * An OpenAI Chat Completions chunk stream, served to an Anthropic Messages streaming client.
 *
 * The first chunk opens the message (message_start; input tokens are not known until OpenAI's final
 * usage chunk, so it carries the request's counted estimate and message_delta carries the real
 * figures). `content` deltas become a text block; each new `tool_calls` index becomes a tool_use block
 * fed by input_json_delta. A block is closed when another kind of content starts. `finish()` closes
 * the open block and writes message_delta (stop reason, usage) and message_stop.
 */
import { randomToken } from '../../shared/ids.ts';
import { anthropicStreamErrorFrame, type GatewayErrorInput } from './errors.ts';
import { formatSseJson, type SseEvent, sseJson } from './sse.ts';
import { openAiFinishToAnthropic } from './stop-reasons.ts';
import {
  readUpstreamError,
  type StreamTranslationOptions,
  type StreamTranslator,
  upstreamStreamError,
} from './stream-translator.ts';
import { type Usage, usageFromOpenAi, usageToAnthropic } from './usage.ts';
import { isRecord } from './wire-types.ts';

/** One Anthropic stream event: the SSE event name repeats the payload's `type`, as Anthropic sends it. */
export function anthropicEventFrame(type: string, fields: Record<string, unknown> = {}): string {
  return formatSseJson({ type, ...fields }, type);
}

interface OpenBlock {
  index: number;
  kind: 'text' | 'tool';
}

export class OpenAiToAnthropicStream implements StreamTranslator {
  upstreamCompleted = false;
  upstreamError: { type: string; message: string } | null = null;
  closed = false;
  private readonly clientModel: string;
  private readonly inputTokensEstimate: number;
  private started = false;
  private openBlock: OpenBlock | null = null;
  private nextBlockIndex = 0;
  /** OpenAI tool_calls index → Anthropic content-block index. */
  private readonly blockByToolIndex = new Map<number, number>();
  private finishReason: string | null = null;
  private reportedUsage: Usage | null = null;

  private readonly secrets: readonly string[];
  constructor(options: StreamTranslationOptions) {
    this.secrets = options.secrets ?? [];
    this.clientModel = options.clientModel;
    this.inputTokensEstimate = options.inputTokensEstimate ?? 0;
  }

  push(event: SseEvent): string[] {
    if (this.closed) return [];
    if (event.data === '[DONE]') {
      this.upstreamCompleted = true;
      return [];
    }
    const chunk = sseJson(event);
    if (!isRecord(chunk)) return [];
    if (chunk.error !== undefined) {
      const error = isRecord(chunk.error) ? chunk.error : { message: String(chunk.error) };
      this.upstreamError = readUpstreamError(error, this.secrets);
      return this.fail(upstreamStreamError(this.upstreamError.type, this.upstreamError.message));
    }
    const frames: string[] = [];
    this.start(frames, typeof chunk.id === 'string' ? chunk.id : undefined);
    const usage = usageFromOpenAi(chunk.usage);
    if (usage) this.reportedUsage = usage;
    // Chat Completions can return n > 1 choices; an Anthropic message has one, so only choice 0 is used.
    const choice = Array.isArray(chunk.choices)
      ? chunk.choices.find((entry: any) => entry?.index === 0 || entry?.index === undefined)
      : undefined;
    if (!isRecord(choice)) return frames;
    const delta = isRecord(choice.delta) ? choice.delta : {};
    for (const text of [delta.content, delta.refusal]) {
      if (typeof text === 'string' && text.length > 0) this.text(text, frames);
    }
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls) if (isRecord(call)) this.toolCall(call, frames);
    }
    if (typeof choice.finish_reason === 'string') {
      this.finishReason = choice.finish_reason;
      this.closeBlock(frames);
    }
    return frames;
  }

  finish(usage?: Usage): string[] {
    if (this.closed) return [];
    this.closed = true;
    const frames: string[] = [];
    this.start(frames);
    this.closeBlock(frames);
    const finalUsage = usage ??
      this.reportedUsage ?? {
        input_tokens: this.inputTokensEstimate,
        output_tokens: 0,
        cached_input_tokens: 0,
      };
    frames.push(
      anthropicEventFrame('message_delta', {
        delta: { stop_reason: openAiFinishToAnthropic(this.finishReason), stop_sequence: null },
        usage: usageToAnthropic(finalUsage),
      }),
    );
    frames.push(anthropicEventFrame('message_stop'));
    return frames;
  }

  fail(error: GatewayErrorInput): string[] {
    if (this.closed) return [];
    this.closed = true;
    return [anthropicStreamErrorFrame(error)];
  }

  private start(frames: string[], upstreamId?: string): void {
    if (this.started) return;
    this.started = true;
    frames.push(
      anthropicEventFrame('message_start', {
        message: {
          id: upstreamId ?? `msg_${randomToken(12)}`,
          type: 'message',
          role: 'assistant',
          model: this.clientModel,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: this.inputTokensEstimate,
            output_tokens: 0,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
          },
        },
      }),
    );
  }

  private text(text: string, frames: string[]): void {
    if (this.openBlock?.kind !== 'text') {
      this.closeBlock(frames);
      this.openBlock = { index: this.nextBlockIndex++, kind: 'text' };
      frames.push(
        anthropicEventFrame('content_block_start', {
          index: this.openBlock.index,
          content_block: { type: 'text', text: '' },
        }),
      );
    }
    frames.push(
      anthropicEventFrame('content_block_delta', {
        index: this.openBlock.index,
        delta: { type: 'text_delta', text },
      }),
    );
  }

  private toolCall(call: Record<string, any>, frames: string[]): void {
    const toolIndex = typeof call.index === 'number' ? call.index : 0;
    const fn = isRecord(call.function) ? call.function : {};
    let blockIndex = this.blockByToolIndex.get(toolIndex);
    if (blockIndex === undefined) {
      this.closeBlock(frames);
      blockIndex = this.nextBlockIndex++;
      this.blockByToolIndex.set(toolIndex, blockIndex);
      this.openBlock = { index: blockIndex, kind: 'tool' };
      frames.push(
        anthropicEventFrame('content_block_start', {
          index: blockIndex,
          content_block: {
            type: 'tool_use',
            id: typeof call.id === 'string' ? call.id : `toolu_${randomToken(12)}`,
            name: typeof fn.name === 'string' ? fn.name : '',
            input: {},
          },
        }),
      );
    }
    // OpenAI sends one tool call after another; should a provider interleave them, the delta still
    // names its own block index, which the SDKs accumulate by index.
    if (typeof fn.arguments === 'string' && fn.arguments.length > 0) {
      frames.push(
        anthropicEventFrame('content_block_delta', {
          index: blockIndex,
          delta: { type: 'input_json_delta', partial_json: fn.arguments },
        }),
      );
    }
  }

  private closeBlock(frames: string[]): void {
    if (!this.openBlock) return;
    frames.push(anthropicEventFrame('content_block_stop', { index: this.openBlock.index }));
    this.openBlock = null;
  }
}
