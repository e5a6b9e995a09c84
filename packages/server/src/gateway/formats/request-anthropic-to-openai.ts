/**
 * An Anthropic Messages request, rewritten for an OpenAI Chat Completions upstream.
 *
 * Shape differences handled here:
 * - The top-level `system` becomes a leading system message.
 * - A user turn's `tool_result` blocks become separate `tool` messages placed before the rest of that
 *   turn, because OpenAI wants tool results directly after the assistant message that called them.
 *   Images inside a tool result cannot ride on a `tool` message and follow in a user message.
 * - Thinking blocks are dropped: Chat Completions has no field to replay them in.
 * - Streaming always asks for `stream_options.include_usage`, since billing needs the usage chunk.
 */
import { TollgateError } from '../../shared/errors.ts';
import { anthropicImageToOpenAi } from './images.ts';
import type {
  AnthropicContentBlock,
  AnthropicImageBlock,
  AnthropicMessage,
  AnthropicMessagesRequest,
  AnthropicToolResultBlock,
  OpenAiChatRequest,
  OpenAiContentPart,
  OpenAiMessage,
  OpenAiTool,
  OpenAiToolCall,
  OpenAiToolChoice,
} from './wire-types.ts';
import { isRecord } from './wire-types.ts';

export interface AnthropicToOpenAiRequestOptions {
  /** The provider's own model id (the catalog's `upstream_model`). */
  upstreamModel: string;
  /**
   * OpenAI's current models take `max_completion_tokens` (reasoning models reject `max_tokens`); some
   * OpenAI-compatible providers only know `max_tokens`.
   */
  maxTokensField?: 'max_completion_tokens' | 'max_tokens';
}

/** Block types that carry no content a Chat Completions model can read back. */
const DROPPED_BLOCK_TYPES = new Set(['thinking', 'redacted_thinking']);

function invalid(message: string, param = 'messages'): TollgateError {
  return new TollgateError('invalid_request', message, { param });
}

function systemText(system: AnthropicMessagesRequest['system']): string {
  if (typeof system === 'string') return system;
  if (!Array.isArray(system)) return '';
  return system
    .filter((block) => isRecord(block) && block.type === 'text')
    .map((block) => block.text)
    .join('\n');
}

function userPart(block: AnthropicContentBlock): OpenAiContentPart | null {
  if (!isRecord(block)) throw invalid('Content blocks must be objects.');
  switch (block.type) {
    case 'text':
      return { type: 'text', text: String(block.text ?? '') };
    case 'image':
      return anthropicImageToOpenAi(block as AnthropicImageBlock);
    default:
      if (DROPPED_BLOCK_TYPES.has(block.type)) return null;
      throw invalid(`Content block type "${block.type}" is not supported by this model.`);
  }
}

/** A tool result split into what a `tool` message can hold (text) and what it cannot (images). */
function toolResultMessages(block: AnthropicToolResultBlock): {
  tool: OpenAiMessage;
  images: OpenAiContentPart[];
} {
  const texts: string[] = [];
  const images: OpenAiContentPart[] = [];
  if (typeof block.content === 'string') texts.push(block.content);
  else if (Array.isArray(block.content)) {
    for (const inner of block.content) {
      if (isRecord(inner) && inner.type === 'text') texts.push(String(inner.text ?? ''));
      else if (isRecord(inner) && inner.type === 'image')
        images.push(anthropicImageToOpenAi(inner as AnthropicImageBlock));
      else throw invalid(`Tool result block type "${String(inner?.type)}" is not supported by this model.`);
    }
  }
  return { tool: { role: 'tool', tool_call_id: block.tool_use_id, content: texts.join('\n') }, images };
}

function translateUser(message: AnthropicMessage, output: OpenAiMessage[]): void {
  if (typeof message.content === 'string') {
    output.push({ role: 'user', content: message.content });
    return;
  }
  const parts: OpenAiContentPart[] = [];
  for (const block of message.content) {
    if (isRecord(block) && block.type === 'tool_result') {
      const { tool, images } = toolResultMessages(block as AnthropicToolResultBlock);
      output.push(tool);
      parts.push(...images);
      continue;
    }
    const part = userPart(block);
    if (part) parts.push(part);
  }
  if (parts.length > 0) output.push({ role: 'user', content: parts });
}

function translateAssistant(message: AnthropicMessage, output: OpenAiMessage[]): void {
  if (typeof message.content === 'string') {
    output.push({ role: 'assistant', content: message.content });
    return;
  }
  const texts: string[] = [];
  const toolCalls: OpenAiToolCall[] = [];
  for (const block of message.content) {
    if (!isRecord(block)) continue;
    if (block.type === 'text') texts.push(String(block.text ?? ''));
    else if (block.type === 'tool_use') {
      toolCalls.push({
        id: String(block.id),
        type: 'function',
        function: { name: String(block.name), arguments: JSON.stringify(block.input ?? {}) },
      });
    } else if (!DROPPED_BLOCK_TYPES.has(block.type)) {
      throw invalid(`Assistant block type "${block.type}" is not supported by this model.`);
    }
  }
  const translated: OpenAiMessage = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null };
  if (toolCalls.length > 0) translated.tool_calls = toolCalls;
  if (translated.content !== null || toolCalls.length > 0) output.push(translated);
}

function translateTools(request: AnthropicMessagesRequest): OpenAiTool[] | undefined {
  if (!Array.isArray(request.tools) || request.tools.length === 0) return undefined;
  return request.tools.map((tool): OpenAiTool => {
    // Server tools (web search, code execution, …) run inside Anthropic and have no OpenAI twin.
    if (!isRecord(tool) || (tool.type !== undefined && tool.type !== 'custom')) {
      throw invalid(`Tool type "${String(tool?.type)}" is not supported by this model.`, 'tools');
    }
    const definition: OpenAiTool['function'] = {
      name: tool.name,
      parameters: tool.input_schema ?? { type: 'object', properties: {} },
    };
    if (tool.description) definition.description = tool.description;
    return { type: 'function', function: definition };
  });
}

function translateToolChoice(request: AnthropicMessagesRequest): OpenAiToolChoice | undefined {
  const choice = request.tool_choice;
  if (!isRecord(choice)) return undefined;
  switch (choice.type) {
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      return { type: 'function', function: { name: choice.name } };
    default:
      throw invalid('Unsupported tool_choice.', 'tool_choice');
  }
}

export function anthropicRequestToOpenAi(
  request: AnthropicMessagesRequest,
  options: AnthropicToOpenAiRequestOptions,
): OpenAiChatRequest {
  const messages: OpenAiMessage[] = [];
  const system = systemText(request.system);
  if (system.length > 0) messages.push({ role: 'system', content: system });
  for (const message of request.messages) {
    if (message.role === 'user') translateUser(message, messages);
    else if (message.role === 'assistant') translateAssistant(message, messages);
    // Newer API versions also accept system turns inside `messages`.
    else if (message.role === 'system') {
      messages.push({
        role: 'system',
        content: systemText(message.content as AnthropicMessagesRequest['system']),
      });
    } else throw invalid(`Message role "${message.role}" is not supported.`);
  }

  const translated: OpenAiChatRequest = { model: options.upstreamModel, messages };
  translated[options.maxTokensField ?? 'max_completion_tokens'] = request.max_tokens;
  if (Array.isArray(request.stop_sequences) && request.stop_sequences.length > 0)
    translated.stop = request.stop_sequences;
  if (typeof request.temperature === 'number') translated.temperature = request.temperature;
  if (typeof request.top_p === 'number') translated.top_p = request.top_p;
  const tools = translateTools(request);
  if (tools) {
    translated.tools = tools;
    const toolChoice = translateToolChoice(request);
    if (toolChoice) translated.tool_choice = toolChoice;
    const choice = request.tool_choice;
    if (isRecord(choice) && choice.type !== 'none' && choice.disable_parallel_tool_use) {
      translated.parallel_tool_calls = false;
    }
  }
  const userId = request.metadata?.user_id;
  if (typeof userId === 'string' && userId) translated.user = userId;
  if (request.stream) {
    translated.stream = true;
    translated.stream_options = { include_usage: true };
  }
  return translated;
}
