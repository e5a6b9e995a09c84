/**
 * Responses API streams (`stream: true` on `/v1/responses`), in the event sequence OpenAI sends:
 *
 *   response.created, response.in_progress,
 *   per output item: response.output_item.added, then
 *     a message:       response.content_part.added, response.output_text.delta…, response.output_text.done,
 *                      response.content_part.done
 *     a function call: response.function_call_arguments.delta…, response.function_call_arguments.done
 *     reasoning:       response.reasoning_summary_part.added, response.reasoning_summary_text.delta…,
 *                      response.reasoning_summary_text.done, response.reasoning_summary_part.done
 *   response.output_item.done; and last response.completed (or response.incomplete) with the usage.
 *
 * Every event carries a `sequence_number`. The closing event waits for `finish()`, so its usage is the
 * usage that was billed, with the charged `cost`. A failure mid-stream ends with an `error` event (which
 * also carries an `error` object, so SDKs that throw on one do) and never with response.completed.
 */
import { type GatewayErrorInput, renderOpenAiError } from './errors.ts';
import {
  type ClientTool,
  clientToolCallName,
  customToolInput,
  itemId,
  responseEnvelope,
  responseId,
  responseStatus,
  translatedToolNames,
  usageToResponses,
} from './openai-responses.ts';
import { formatSseJson, type SseEvent, sseJson } from './sse.ts';
import {
  readUpstreamError,
  type StreamTranslationOptions,
  type StreamTranslator,
  upstreamStreamError,
} from './stream-translator.ts';
import { type Usage, usageFromAnthropic } from './usage.ts';
import { isRecord } from './wire-types.ts';

/** The `error` event of a failed Responses stream. */
function responsesErrorFrame(error: GatewayErrorInput, sequenceNumber: number): string {
  const rendered = renderOpenAiError(error).error;
  return formatSseJson(
    {
      type: 'error',
      code: rendered.type,
      message: rendered.message,
      param: rendered.param,
      sequence_number: sequenceNumber,
      error: rendered,
    },
    'error',
  );
}

interface OpenItem {
  kind: 'message' | 'function_call' | 'custom_tool_call' | 'reasoning';
  id: string;
  outputIndex: number;
  text: string;
  callId?: string;
  /** The client's naming fields of a tool call: `name`, and `namespace` when it has one. */
  naming?: { name: string; namespace?: string };
}

/** An Anthropic Messages stream, served to a Responses API client. */
export class AnthropicToResponsesStream implements StreamTranslator {
  upstreamCompleted = false;
  upstreamError: { type: string; message: string } | null = null;
  closed = false;
  private readonly clientModel: string;
  private readonly request: Record<string, unknown>;
  private readonly secrets: readonly string[];
  private readonly id = responseId();
  private readonly createdSeconds: number;
  private sequence = 0;
  private started = false;
  private readonly open = new Map<number, OpenItem>();
  private readonly output: Record<string, unknown>[] = [];
  private nextOutputIndex = 0;
  private stopReason: unknown = null;
  private readonly rawUsage: Record<string, unknown> = {};
  private readonly tools: Map<string, ClientTool>;

  constructor(options: StreamTranslationOptions) {
    this.clientModel = options.clientModel;
    this.request = options.request ?? {};
    this.tools = translatedToolNames(this.request);
    this.secrets = options.secrets ?? [];
    this.createdSeconds = options.createdSeconds ?? Math.floor(Date.now() / 1000);
  }

  private frame(type: string, fields: Record<string, unknown>): string {
    return formatSseJson({ type, ...fields, sequence_number: this.sequence++ }, type);
  }

  private envelope(status: string): Record<string, unknown> {
    return responseEnvelope(this.request, {
      id: this.id,
      model: this.clientModel,
      createdSeconds: this.createdSeconds,
      status,
    });
  }

  private start(): string[] {
    if (this.started) return [];
    this.started = true;
    const response = this.envelope('in_progress');
    return [this.frame('response.created', { response }), this.frame('response.in_progress', { response })];
  }

  push(event: SseEvent): string[] {
    if (this.closed) return [];
    const payload = sseJson(event);
    if (!isRecord(payload)) return [];
    switch (payload.type) {
      case 'message_start':
        if (isRecord(payload.message)) this.mergeUsage(payload.message.usage);
        return this.start();
      case 'content_block_start':
        return [...this.start(), ...this.openBlock(payload.index, payload.content_block)];
      case 'content_block_delta':
        return this.delta(payload.index, payload.delta);
      case 'content_block_stop':
        return this.closeBlock(payload.index);
      case 'message_delta':
        if (isRecord(payload.delta) && payload.delta.stop_reason) this.stopReason = payload.delta.stop_reason;
        this.mergeUsage(payload.usage);
        return [];
      case 'message_stop':
        this.upstreamCompleted = true;
        return [];
      case 'error': {
        this.upstreamError = readUpstreamError(isRecord(payload.error) ? payload.error : {}, this.secrets);
        return this.fail(upstreamStreamError(this.upstreamError.type, this.upstreamError.message));
      }
      default:
        return [];
    }
  }

  private openBlock(index: unknown, block: unknown): string[] {
    if (typeof index !== 'number' || !isRecord(block)) return [];
    const outputIndex = this.nextOutputIndex;
    if (block.type === 'text') {
      const item: OpenItem = { kind: 'message', id: itemId('msg'), outputIndex, text: '' };
      this.open.set(index, item);
      this.nextOutputIndex += 1;
      const frames = [
        this.frame('response.output_item.added', {
          output_index: outputIndex,
          item: { type: 'message', id: item.id, status: 'in_progress', role: 'assistant', content: [] },
        }),
        this.frame('response.content_part.added', {
          item_id: item.id,
          output_index: outputIndex,
          content_index: 0,
          part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
        }),
      ];
      if (typeof block.text === 'string' && block.text)
        frames.push(...this.delta(index, { type: 'text_delta', text: block.text }));
      return frames;
    }
    if (block.type === 'tool_use') {
      // A custom tool's string input is the one field of the JSON the model streams: sent whole at the end.
      const { custom, fields } = clientToolCallName(this.tools, String(block.name));
      const item: OpenItem = {
        kind: custom ? 'custom_tool_call' : 'function_call',
        id: itemId(custom ? 'ctc' : 'fc'),
        outputIndex,
        text: '',
        callId: String(block.id),
        naming: fields,
      };
      this.open.set(index, item);
      this.nextOutputIndex += 1;
      return [
        this.frame('response.output_item.added', {
          output_index: outputIndex,
          item: {
            type: item.kind,
            id: item.id,
            call_id: item.callId,
            ...fields,
            ...(custom ? { input: '' } : { arguments: '' }),
            status: 'in_progress',
          },
        }),
      ];
    }
    if (block.type === 'thinking') {
      const item: OpenItem = { kind: 'reasoning', id: itemId('rs'), outputIndex, text: '' };
      this.open.set(index, item);
      this.nextOutputIndex += 1;
      return [
        this.frame('response.output_item.added', {
          output_index: outputIndex,
          item: { type: 'reasoning', id: item.id, summary: [] },
        }),
        this.frame('response.reasoning_summary_part.added', {
          item_id: item.id,
          output_index: outputIndex,
          summary_index: 0,
          part: { type: 'summary_text', text: '' },
        }),
      ];
    }
    // redacted_thinking and anything else carry nothing a Responses client can read.
    return [];
  }

  private delta(index: unknown, delta: unknown): string[] {
    if (typeof index !== 'number' || !isRecord(delta)) return [];
    const item = this.open.get(index);
    if (!item) return [];
    const common = { item_id: item.id, output_index: item.outputIndex };
    if (item.kind === 'message' && delta.type === 'text_delta' && typeof delta.text === 'string') {
      item.text += delta.text;
      return [
        this.frame('response.output_text.delta', {
          ...common,
          content_index: 0,
          delta: delta.text,
          logprobs: [],
        }),
      ];
    }
    if (
      item.kind === 'custom_tool_call' &&
      delta.type === 'input_json_delta' &&
      typeof delta.partial_json === 'string'
    ) {
      item.text += delta.partial_json;
      return [];
    }
    if (
      item.kind === 'function_call' &&
      delta.type === 'input_json_delta' &&
      typeof delta.partial_json === 'string'
    ) {
      if (!delta.partial_json) return [];
      item.text += delta.partial_json;
      return [this.frame('response.function_call_arguments.delta', { ...common, delta: delta.partial_json })];
    }
    if (item.kind === 'reasoning' && delta.type === 'thinking_delta' && typeof delta.thinking === 'string') {
      item.text += delta.thinking;
      return [
        this.frame('response.reasoning_summary_text.delta', {
          ...common,
          summary_index: 0,
          delta: delta.thinking,
        }),
      ];
    }
    return [];
  }

  private closeBlock(index: unknown): string[] {
    if (typeof index !== 'number') return [];
    const item = this.open.get(index);
    if (!item) return [];
    this.open.delete(index);
    const common = { item_id: item.id, output_index: item.outputIndex };
    const frames: string[] = [];
    let done: Record<string, unknown>;
    if (item.kind === 'message') {
      const part = { type: 'output_text', text: item.text, annotations: [], logprobs: [] };
      frames.push(
        this.frame('response.output_text.done', {
          ...common,
          content_index: 0,
          text: item.text,
          logprobs: [],
        }),
        this.frame('response.content_part.done', { ...common, content_index: 0, part }),
      );
      done = { type: 'message', id: item.id, status: 'completed', role: 'assistant', content: [part] };
    } else if (item.kind === 'function_call') {
      const args = item.text || '{}';
      frames.push(
        this.frame('response.function_call_arguments.done', { ...common, ...item.naming, arguments: args }),
      );
      done = {
        type: 'function_call',
        id: item.id,
        call_id: item.callId,
        ...item.naming,
        arguments: args,
        status: 'completed',
      };
    } else if (item.kind === 'custom_tool_call') {
      const input = customToolInput(item.text || '{}');
      frames.push(
        this.frame('response.custom_tool_call_input.delta', { ...common, delta: input }),
        this.frame('response.custom_tool_call_input.done', { ...common, input }),
      );
      done = {
        type: 'custom_tool_call',
        id: item.id,
        call_id: item.callId,
        ...item.naming,
        input,
        status: 'completed',
      };
    } else {
      const part = { type: 'summary_text', text: item.text };
      frames.push(
        this.frame('response.reasoning_summary_text.done', { ...common, summary_index: 0, text: item.text }),
        this.frame('response.reasoning_summary_part.done', { ...common, summary_index: 0, part }),
      );
      done = { type: 'reasoning', id: item.id, summary: [part] };
    }
    this.output[item.outputIndex] = done;
    frames.push(this.frame('response.output_item.done', { output_index: item.outputIndex, item: done }));
    return frames;
  }

  finish(usage?: Usage): string[] {
    if (this.closed) return [];
    const frames = this.start();
    for (const index of [...this.open.keys()]) frames.push(...this.closeBlock(index));
    this.closed = true;
    const status = responseStatus(this.stopReason);
    const finalUsage = usage ?? usageFromAnthropic(this.rawUsage);
    const response = {
      ...this.envelope(status.status),
      ...status,
      output: this.output.filter(Boolean),
      usage: finalUsage ? usageToResponses(finalUsage) : null,
    };
    frames.push(
      this.frame(status.status === 'completed' ? 'response.completed' : 'response.incomplete', { response }),
    );
    return frames;
  }

  fail(error: GatewayErrorInput): string[] {
    if (this.closed) return [];
    this.closed = true;
    return [responsesErrorFrame(error, this.sequence++)];
  }

  private mergeUsage(usage: unknown): void {
    if (!isRecord(usage)) return;
    for (const [key, value] of Object.entries(usage))
      if (value !== null && value !== undefined) this.rawUsage[key] = value;
  }
}

const TERMINAL_EVENTS = new Set(['response.completed', 'response.incomplete']);

/**
 * A Responses stream from an OpenAI-format upstream, passed through: the client's model id put back in
 * every `response` object, and the closing event (response.completed / response.incomplete) held for
 * `finish()`, which sends it with the billed usage and its cost. response.failed and `error` events are
 * the upstream's failure: passed on (scrubbed) and the stream is closed.
 */
export class ResponsesPassthroughStream implements StreamTranslator {
  upstreamCompleted = false;
  upstreamError: { type: string; message: string } | null = null;
  closed = false;
  private readonly clientModel: string;
  private readonly secrets: readonly string[];
  private terminal: Record<string, any> | null = null;
  private lastSequence = -1;

  constructor(options: StreamTranslationOptions) {
    this.clientModel = options.clientModel;
    this.secrets = options.secrets ?? [];
  }

  push(event: SseEvent): string[] {
    if (this.closed) return [];
    const payload = sseJson(event);
    if (!isRecord(payload)) return [];
    const type = typeof payload.type === 'string' ? payload.type : (event.event ?? '');
    if (typeof payload.sequence_number === 'number') this.lastSequence = payload.sequence_number;
    if (type === 'error' || type === 'response.failed') {
      const response = isRecord(payload.response) ? payload.response : {};
      const error = isRecord(payload.error)
        ? payload.error
        : isRecord(response.error)
          ? response.error
          : payload;
      this.upstreamError = readUpstreamError(error, this.secrets);
      return this.fail(upstreamStreamError(this.upstreamError.type, this.upstreamError.message));
    }
    const rewritten = isRecord(payload.response)
      ? { ...payload, response: { ...payload.response, model: this.clientModel } }
      : payload;
    if (TERMINAL_EVENTS.has(type)) {
      this.upstreamCompleted = true;
      this.terminal = rewritten;
      return [];
    }
    return [formatSseJson(rewritten, type || undefined)];
  }

  finish(usage?: Usage): string[] {
    if (this.closed) return [];
    this.closed = true;
    const terminal = this.terminal ?? {
      type: 'response.completed',
      response: { object: 'response', status: 'completed', model: this.clientModel, output: [] },
      sequence_number: this.lastSequence + 1,
    };
    const response = isRecord(terminal.response) ? terminal.response : {};
    const reported = isRecord(response.usage) ? response.usage : {};
    const shown = usage ? { ...reported, ...usageToResponses(usage) } : reported;
    // The provider's reasoning-token detail is kept: the billed figures do not split output.
    if (usage && isRecord(reported.output_tokens_details))
      shown.output_tokens_details = reported.output_tokens_details;
    return [formatSseJson({ ...terminal, response: { ...response, usage: shown } }, String(terminal.type))];
  }

  fail(error: GatewayErrorInput): string[] {
    if (this.closed) return [];
    this.closed = true;
    return [responsesErrorFrame(error, this.lastSequence + 1)];
  }
}
