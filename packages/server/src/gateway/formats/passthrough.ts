/**
 * Client and upstream speak the same dialect: the body passes through, with three adjustments.
 * - The model id: the upstream gets its own id, the client sees the one it asked for.
 * - OpenAI streams always ask the upstream for `include_usage` (billing needs it); the usage chunk is
 *   passed to the client only if the client asked for it too.
 * - Closing frames wait for `finish()`, like the translators, so all streams are driven the same way.
 */
import { anthropicStreamErrorFrame, type GatewayErrorInput, openAiStreamErrorFrame } from './errors.ts';
import { OpenAiChunkWriter } from './openai-chunk-writer.ts';
import { withTopLevelString } from './raw-json.ts';
import { formatSseEvent, formatSseJson, OPENAI_DONE_FRAME, type SseEvent, sseJson } from './sse.ts';
import { anthropicEventFrame } from './stream-openai-to-anthropic.ts';
import {
  readUpstreamError,
  type StreamTranslationOptions,
  type StreamTranslator,
  upstreamStreamError,
} from './stream-translator.ts';
import { type Usage, usageFromAnthropic, usageFromOpenAi, usageToAnthropic } from './usage.ts';
import type { AnthropicMessagesRequest, OpenAiChatRequest } from './wire-types.ts';
import { isRecord } from './wire-types.ts';

export function openAiPassthroughRequest(
  request: OpenAiChatRequest,
  upstreamModel: string,
): OpenAiChatRequest {
  const forwarded: OpenAiChatRequest = { ...request, model: upstreamModel };
  if (request.stream) forwarded.stream_options = { ...(request.stream_options ?? {}), include_usage: true };
  return forwarded;
}

export function anthropicPassthroughRequest(
  request: AnthropicMessagesRequest,
  upstreamModel: string,
): AnthropicMessagesRequest {
  return { ...request, model: upstreamModel };
}

/** A non-stream response body of either dialect with the client's model id put back. */
export function withClientModel<Body extends { model?: unknown }>(body: Body, clientModel: string): Body {
  return isRecord(body) ? { ...body, model: clientModel } : body;
}

export class OpenAiPassthroughStream implements StreamTranslator {
  upstreamCompleted = false;
  upstreamError: { type: string; message: string } | null = null;
  closed = false;
  private readonly clientModel: string;
  private readonly includeUsage: boolean;
  private readonly createdSeconds: number | undefined;
  private lastChunk: Record<string, any> | null = null;
  private reportedUsage: Usage | null = null;
  private usageSent = false;

  private readonly secrets: readonly string[];
  constructor(options: StreamTranslationOptions) {
    this.secrets = options.secrets ?? [];
    this.clientModel = options.clientModel;
    this.includeUsage = options.includeUsage === true;
    this.createdSeconds = options.createdSeconds;
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
    this.lastChunk = chunk;
    const usage = usageFromOpenAi(chunk.usage);
    if (usage) this.reportedUsage = usage;
    const isUsageOnly = Array.isArray(chunk.choices) && chunk.choices.length === 0 && usage !== null;
    if (isUsageOnly) {
      // Held for finish(), which may replace it with the billed figures; dropped if the client did not ask.
      return [];
    }
    // Some OpenAI-compatible providers put usage on the last content chunk instead of a chunk of its own.
    if (this.includeUsage && usage) this.usageSent = true;
    // Most chunks change only in their model id: spliced into the provider's text (one line of JSON),
    // not serialised again — a stream is ~20 of them per call.
    if ((this.includeUsage || chunk.usage === undefined) && !event.data.includes('\n')) {
      const spliced = withTopLevelString(event.data, 'model', this.clientModel);
      if (spliced !== null) return [`data: ${spliced}\n\n`];
    }
    const rewritten: Record<string, unknown> = { ...chunk, model: this.clientModel };
    if (!this.includeUsage) delete rewritten.usage;
    return [formatSseJson(rewritten)];
  }

  finish(usage?: Usage): string[] {
    if (this.closed) return [];
    this.closed = true;
    const frames: string[] = [];
    const finalUsage = usage ?? this.reportedUsage;
    if (this.includeUsage && finalUsage && !this.usageSent) {
      this.usageSent = true;
      const writer = new OpenAiChunkWriter({
        model: this.clientModel,
        includeUsage: true,
        id: typeof this.lastChunk?.id === 'string' ? this.lastChunk.id : undefined,
        createdSeconds:
          typeof this.lastChunk?.created === 'number' ? this.lastChunk.created : this.createdSeconds,
      });
      frames.push(writer.usage(finalUsage));
    }
    frames.push(OPENAI_DONE_FRAME);
    return frames;
  }

  fail(error: GatewayErrorInput): string[] {
    if (this.closed) return [];
    this.closed = true;
    return [openAiStreamErrorFrame(error)];
  }
}

export class AnthropicPassthroughStream implements StreamTranslator {
  upstreamCompleted = false;
  upstreamError: { type: string; message: string } | null = null;
  closed = false;
  private readonly clientModel: string;
  private readonly openBlocks = new Set<number>();
  /** The upstream's message_delta with usage, held for finish() to add the charged cost. */
  private heldDelta: Record<string, unknown> | null = null;
  private stopReason: string | null = null;
  private stopSequence: string | null = null;
  private readonly rawUsage: Record<string, unknown> = {};
  private inputTokensEstimate: number;

  private readonly secrets: readonly string[];
  constructor(options: StreamTranslationOptions) {
    this.secrets = options.secrets ?? [];
    this.clientModel = options.clientModel;
    this.inputTokensEstimate = options.inputTokensEstimate ?? 0;
  }

  needsInputTokensEstimate(event: SseEvent): boolean {
    if (this.closed) return false;
    const payload = sseJson(event);
    return (
      isRecord(payload) &&
      payload.type === 'message_start' &&
      isRecord(payload.message) &&
      !isRecord(payload.message.usage)
    );
  }

  useInputTokensEstimate(tokens: number): void {
    this.inputTokensEstimate = tokens;
  }

  push(event: SseEvent): string[] {
    if (this.closed) return [];
    const payload = sseJson(event);
    if (!isRecord(payload)) return [];
    switch (payload.type) {
      case 'message_start': {
        if (isRecord(payload.message)) this.mergeUsage(payload.message.usage);
        const message = isRecord(payload.message)
          ? { ...payload.message, model: this.clientModel }
          : payload.message;
        // A provider that omits usage would break clients that read it (the Anthropic SDK does):
        // the request's counted input stands in, and message_delta brings the billed figures.
        if (isRecord(message) && !isRecord(message.usage)) {
          message.usage = {
            input_tokens: this.inputTokensEstimate,
            output_tokens: 0,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
          };
        }
        return [formatSseJson({ ...payload, message }, 'message_start')];
      }
      case 'content_block_start':
        if (typeof payload.index === 'number') this.openBlocks.add(payload.index);
        break;
      case 'content_block_stop':
        if (typeof payload.index === 'number') this.openBlocks.delete(payload.index);
        break;
      case 'message_delta':
        if (isRecord(payload.delta) && typeof payload.delta.stop_reason === 'string') {
          this.stopReason = payload.delta.stop_reason;
        }
        if (isRecord(payload.delta) && typeof payload.delta.stop_sequence === 'string') {
          this.stopSequence = payload.delta.stop_sequence;
        }
        // Held for finish(): without usage it is sent with the usage that was billed, with usage it gets
        // the charged cost added.
        if (!isRecord(payload.usage)) return [];
        this.heldDelta = payload;
        this.mergeUsage(payload.usage);
        return [];
      case 'message_stop':
        // Held for finish(), so every stream closes through the same call.
        this.upstreamCompleted = true;
        return [];
      case 'error': {
        const error = isRecord(payload.error) ? payload.error : {};
        this.upstreamError = readUpstreamError(error, this.secrets);
        return this.fail(upstreamStreamError(this.upstreamError.type, this.upstreamError.message));
      }
      default:
        break;
    }
    return [formatSseEvent(event)];
  }

  /**
   * Closes the stream. After a complete upstream message only message_stop is left to send; after a cut
   * one, the open blocks are closed and a message_delta reports the usage that was billed.
   */
  finish(usage?: Usage): string[] {
    if (this.closed) return [];
    this.closed = true;
    const frames: string[] = [];
    for (const index of this.openBlocks) frames.push(anthropicEventFrame('content_block_stop', { index }));
    if (this.heldDelta) {
      const held = this.heldDelta;
      const cost = usage?.cost;
      frames.push(
        formatSseJson(
          cost === undefined ? held : { ...held, usage: { ...(held.usage as object), cost } },
          'message_delta',
        ),
      );
    } else {
      const finalUsage = usage ?? usageFromAnthropic(this.rawUsage);
      frames.push(
        anthropicEventFrame('message_delta', {
          delta: { stop_reason: this.stopReason ?? 'end_turn', stop_sequence: this.stopSequence },
          usage: finalUsage ? usageToAnthropic(finalUsage) : { output_tokens: 0 },
        }),
      );
    }
    frames.push(anthropicEventFrame('message_stop'));
    return frames;
  }

  fail(error: GatewayErrorInput): string[] {
    if (this.closed) return [];
    this.closed = true;
    return [anthropicStreamErrorFrame(error)];
  }

  private mergeUsage(usage: unknown): void {
    if (!isRecord(usage)) return;
    for (const [key, value] of Object.entries(usage)) {
      if (value !== null && value !== undefined) this.rawUsage[key] = value;
    }
  }
}
