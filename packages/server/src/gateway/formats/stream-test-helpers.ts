/**
 * Test helpers shared by the stream translator tests: drive a translator with upstream bytes cut into
 * awkward pieces, and fold a client stream back into what an SDK would assemble from it.
 */
import { type SseEvent, SseParser } from './sse.ts';
import type { StreamTranslator } from './stream-translator.ts';
import type { Usage } from './usage.ts';

/** Feeds upstream SSE text to a translator in pieces of `pieceBytes` bytes; returns the client frames. */
export function driveTranslator(
  translator: StreamTranslator,
  upstreamText: string,
  options: { pieceBytes?: number; finishUsage?: Usage; finish?: boolean } = {},
): string[] {
  const bytes = new TextEncoder().encode(upstreamText);
  const pieceBytes = options.pieceBytes ?? 7;
  const parser = new SseParser();
  const frames: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += pieceBytes) {
    for (const event of parser.push(bytes.subarray(offset, offset + pieceBytes)))
      frames.push(...translator.push(event));
  }
  for (const event of parser.end()) frames.push(...translator.push(event));
  if (options.finish !== false) frames.push(...translator.finish(options.finishUsage));
  return frames;
}

export function parseFrames(frames: string[]): SseEvent[] {
  const parser = new SseParser();
  return [...parser.push(frames.join('')), ...parser.end()];
}

export interface AssembledOpenAiStream {
  ids: Set<string>;
  models: Set<string>;
  role: string | undefined;
  content: string;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  finishReason: string | null;
  usage: any;
  usageChunkCount: number;
  sawDone: boolean;
  error: any;
  /** Every frame after [DONE] is a protocol error. */
  framesAfterDone: number;
}

/** Folds OpenAI chunk frames the way the openai SDK's stream helpers do. */
export function assembleOpenAiStream(frames: string[]): AssembledOpenAiStream {
  const result: AssembledOpenAiStream = {
    ids: new Set(),
    models: new Set(),
    role: undefined,
    content: '',
    toolCalls: [],
    finishReason: null,
    usage: undefined,
    usageChunkCount: 0,
    sawDone: false,
    error: undefined,
    framesAfterDone: 0,
  };
  for (const event of parseFrames(frames)) {
    if (result.sawDone) result.framesAfterDone += 1;
    if (event.data === '[DONE]') {
      result.sawDone = true;
      continue;
    }
    const chunk = JSON.parse(event.data);
    if (chunk.error) {
      result.error = chunk.error;
      continue;
    }
    result.ids.add(chunk.id);
    result.models.add(chunk.model);
    if (chunk.object !== 'chat.completion.chunk') throw new Error(`unexpected object ${chunk.object}`);
    if (chunk.usage) {
      result.usage = chunk.usage;
      result.usageChunkCount += 1;
    }
    for (const choice of chunk.choices) {
      const delta = choice.delta ?? {};
      if (delta.role) result.role = delta.role;
      if (typeof delta.content === 'string') result.content += delta.content;
      for (const call of delta.tool_calls ?? []) {
        const existing = result.toolCalls[call.index];
        if (!existing)
          result.toolCalls[call.index] = { id: call.id, name: call.function?.name ?? '', arguments: '' };
        result.toolCalls[call.index].arguments += call.function?.arguments ?? '';
      }
      if (choice.finish_reason) result.finishReason = choice.finish_reason;
    }
  }
  return result;
}

export interface AssembledAnthropicStream {
  eventTypes: string[];
  message: any;
  blocks: any[];
  stopReason: string | null;
  usage: any;
  error: any;
}

/**
 * Folds Anthropic events the way the SDK's MessageStream does, and checks the sequence rules on the way:
 * event name equals payload type, blocks are started before deltas and stopped once, indexes count up.
 */
export function assembleAnthropicStream(frames: string[]): AssembledAnthropicStream {
  const result: AssembledAnthropicStream = {
    eventTypes: [],
    message: undefined,
    blocks: [],
    stopReason: null,
    usage: undefined,
    error: undefined,
  };
  const open = new Set<number>();
  const partialJson = new Map<number, string>();
  for (const event of parseFrames(frames)) {
    const payload = JSON.parse(event.data);
    if (event.event !== payload.type) throw new Error(`event name ${event.event} ≠ type ${payload.type}`);
    result.eventTypes.push(payload.type);
    switch (payload.type) {
      case 'message_start':
        result.message = payload.message;
        result.usage = { ...payload.message.usage };
        break;
      case 'content_block_start':
        if (payload.index !== result.blocks.length)
          throw new Error(`block index ${payload.index} out of order`);
        result.blocks.push(structuredClone(payload.content_block));
        open.add(payload.index);
        break;
      case 'content_block_delta': {
        if (!open.has(payload.index)) throw new Error(`delta for closed block ${payload.index}`);
        const block = result.blocks[payload.index];
        if (payload.delta.type === 'text_delta') block.text += payload.delta.text;
        if (payload.delta.type === 'input_json_delta') {
          partialJson.set(payload.index, (partialJson.get(payload.index) ?? '') + payload.delta.partial_json);
        }
        break;
      }
      case 'content_block_stop':
        if (!open.delete(payload.index)) throw new Error(`stop for block ${payload.index} that is not open`);
        if (partialJson.has(payload.index))
          result.blocks[payload.index].input = JSON.parse(partialJson.get(payload.index)!);
        break;
      case 'message_delta':
        result.stopReason = payload.delta.stop_reason;
        for (const [key, value] of Object.entries(payload.usage ?? {}))
          if (value !== null) result.usage[key] = value;
        break;
      case 'error':
        result.error = payload.error;
        break;
      default:
        break;
    }
  }
  if (open.size > 0 && !result.error) throw new Error(`blocks left open: ${[...open]}`);
  return result;
}
