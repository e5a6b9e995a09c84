/**
 * An Anthropic Messages event stream, served to an OpenAI Chat Completions streaming client.
 *
 * message_start → a first chunk with `role: "assistant"`; text_delta → `content`; a tool_use block →
 * a `tool_calls` entry (its own index, counted from 0) whose `arguments` grow with each input_json_delta;
 * message_delta → remembered stop reason and usage; message_stop → upstream complete. `finish()` then
 * writes the finish_reason chunk, the usage chunk when the client asked for it, and `data: [DONE]`.
 * Thinking blocks have no Chat Completions field and are not forwarded.
 */
import { type GatewayErrorInput, openAiStreamErrorFrame } from './errors.ts';
import { OpenAiChunkWriter } from './openai-chunk-writer.ts';
import { type SseEvent, sseJson } from './sse.ts';
import { anthropicStopToOpenAi } from './stop-reasons.ts';
import {
  readUpstreamError,
  type StreamTranslationOptions,
  type StreamTranslator,
  upstreamStreamError,
} from './stream-translator.ts';
import { type Usage, usageFromAnthropic } from './usage.ts';
import { isRecord } from './wire-types.ts';

export class AnthropicToOpenAiStream implements StreamTranslator {
  upstreamCompleted = false;
  upstreamError: { type: string; message: string } | null = null;
  closed = false;
  private readonly writer: OpenAiChunkWriter;
  private readonly includeUsage: boolean;
  private started = false;
  private stopReason: string | null = null;
  /** Anthropic content-block index → OpenAI tool_calls index, for tool_use blocks only. */
  private readonly toolIndexByBlock = new Map<number, number>();
  private reportedUsage: Usage | null = null;
  private readonly rawUsage: Record<string, unknown> = {};

  private readonly secrets: readonly string[];
  constructor(options: StreamTranslationOptions) {
    this.secrets = options.secrets ?? [];
    this.includeUsage = options.includeUsage === true;
    this.writer = new OpenAiChunkWriter({
      model: options.clientModel,
      includeUsage: this.includeUsage,
      createdSeconds: options.createdSeconds,
    });
  }

  push(event: SseEvent): string[] {
    if (this.closed) return [];
    const payload = sseJson(event);
    if (!isRecord(payload)) return [];
    const frames: string[] = [];
    switch (payload.type) {
      case 'message_start':
        if (isRecord(payload.message)) {
          if (typeof payload.message.id === 'string') this.writer.id = payload.message.id;
          this.mergeUsage(payload.message.usage);
        }
        this.start(frames);
        break;
      case 'content_block_start':
        this.start(frames);
        this.blockStart(payload, frames);
        break;
      case 'content_block_delta':
        this.start(frames);
        this.blockDelta(payload, frames);
        break;
      case 'message_delta':
        if (isRecord(payload.delta) && typeof payload.delta.stop_reason === 'string') {
          this.stopReason = payload.delta.stop_reason;
        }
        this.mergeUsage(payload.usage);
        break;
      case 'message_stop':
        this.upstreamCompleted = true;
        break;
      case 'error': {
        const error = isRecord(payload.error) ? payload.error : {};
        this.upstreamError = readUpstreamError(error, this.secrets);
        return this.fail(upstreamStreamError(this.upstreamError.type, this.upstreamError.message));
      }
      default:
        // ping, content_block_stop and event types added later carry nothing an OpenAI client needs.
        break;
    }
    return frames;
  }

  finish(usage?: Usage): string[] {
    if (this.closed) return [];
    this.closed = true;
    const frames: string[] = [];
    this.start(frames);
    frames.push(this.writer.delta({}, anthropicStopToOpenAi(this.stopReason)));
    if (this.includeUsage) {
      frames.push(
        this.writer.usage(
          usage ?? this.reportedUsage ?? { input_tokens: 0, output_tokens: 0, cached_input_tokens: 0 },
        ),
      );
    }
    frames.push(this.writer.done());
    return frames;
  }

  fail(error: GatewayErrorInput): string[] {
    if (this.closed) return [];
    this.closed = true;
    return [openAiStreamErrorFrame(error)];
  }

  private start(frames: string[]): void {
    if (this.started) return;
    this.started = true;
    frames.push(this.writer.delta({ role: 'assistant', content: '' }));
  }

  private blockStart(payload: Record<string, any>, frames: string[]): void {
    const block = payload.content_block;
    if (!isRecord(block) || typeof payload.index !== 'number') return;
    if (block.type === 'text' && typeof block.text === 'string' && block.text.length > 0) {
      frames.push(this.writer.delta({ content: block.text }));
    } else if (block.type === 'tool_use') {
      const toolIndex = this.toolIndexByBlock.size;
      this.toolIndexByBlock.set(payload.index, toolIndex);
      frames.push(
        this.writer.delta({
          tool_calls: [
            {
              index: toolIndex,
              id: String(block.id),
              type: 'function',
              function: { name: String(block.name), arguments: '' },
            },
          ],
        }),
      );
    }
  }

  private blockDelta(payload: Record<string, any>, frames: string[]): void {
    const delta = payload.delta;
    if (!isRecord(delta)) return;
    if (delta.type === 'text_delta' && typeof delta.text === 'string' && delta.text.length > 0) {
      frames.push(this.writer.delta({ content: delta.text }));
    } else if (
      delta.type === 'input_json_delta' &&
      typeof delta.partial_json === 'string' &&
      delta.partial_json
    ) {
      const toolIndex = this.toolIndexByBlock.get(payload.index);
      if (toolIndex === undefined) return;
      frames.push(
        this.writer.delta({
          tool_calls: [{ index: toolIndex, function: { arguments: delta.partial_json } }],
        }),
      );
    }
  }

  /** message_start and message_delta usage are cumulative snapshots: later fields replace earlier ones. */
  private mergeUsage(usage: unknown): void {
    if (!isRecord(usage)) return;
    for (const [key, value] of Object.entries(usage)) {
      if (value !== null && value !== undefined) this.rawUsage[key] = value;
    }
    this.reportedUsage = usageFromAnthropic(this.rawUsage);
  }
}
