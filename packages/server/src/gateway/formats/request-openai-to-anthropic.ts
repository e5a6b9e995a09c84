/**
 * An OpenAI Chat Completions request, rewritten for an Anthropic Messages upstream.
 *
 * Shape differences handled here:
 * - `system` / `developer` messages anywhere in the list become the top-level `system` (Anthropic has no
 *   system turns), in order.
 * - Consecutive same-role turns are merged, because tool results must all sit in ONE user turn right
 *   after the assistant turn that called the tools, and `tool` messages arrive one per result.
 * - `max_tokens` is mandatory upstream: the client's `max_completion_tokens`/`max_tokens`, else the
 *   model's default.
 */
import { TollgateError } from '../../shared/errors.ts';
import { openAiImageToAnthropic } from './images.ts';
import { parseToolInput } from './tool-input.ts';
import type {
  AnthropicContentBlock,
  AnthropicMessage,
  AnthropicMessagesRequest,
  AnthropicTextBlock,
  AnthropicTool,
  AnthropicToolChoice,
  OpenAiChatRequest,
  OpenAiContentPart,
  OpenAiMessage,
  OpenAiToolChoice,
} from './wire-types.ts';
import { isRecord } from './wire-types.ts';

/** Used when neither the client nor the catalog names a limit. */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 4_096;

export interface OpenAiToAnthropicRequestOptions {
  /** The provider's own model id (the catalog's `upstream_model`). */
  upstreamModel: string;
  /** `max_tokens` when the client sets none: the catalog's `max_tokens` for the model. */
  defaultMaxTokens?: number;
}

function invalid(message: string, param = 'messages'): TollgateError {
  return new TollgateError('invalid_request', message, { param });
}

/** Text of content that may only be text (system, developer and tool messages). */
function textOf(content: OpenAiMessage['content'], role: string): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  const texts: string[] = [];
  for (const part of content) {
    if (isRecord(part) && part.type === 'text' && typeof part.text === 'string') texts.push(part.text);
    else throw invalid(`A ${role} message may only contain text parts.`);
  }
  return texts.join('\n');
}

function userBlocks(content: OpenAiMessage['content']): AnthropicContentBlock[] | string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: OpenAiContentPart): AnthropicContentBlock => {
    if (!isRecord(part)) throw invalid('Message content parts must be objects.');
    switch (part.type) {
      case 'text':
        return { type: 'text', text: String(part.text ?? '') };
      case 'image_url':
        return openAiImageToAnthropic(part as Extract<OpenAiContentPart, { type: 'image_url' }>);
      default:
        throw invalid(`Content part type "${part.type}" is not supported by this model.`);
    }
  });
}

function assistantBlocks(message: OpenAiMessage): AnthropicContentBlock[] {
  const blocks: AnthropicContentBlock[] = [];
  const content = message.content;
  if (typeof content === 'string') {
    if (content.length > 0) blocks.push({ type: 'text', text: content });
  } else if (Array.isArray(content)) {
    for (const part of content) {
      if (!isRecord(part)) continue;
      if (part.type === 'text' && typeof part.text === 'string' && part.text.length > 0) {
        blocks.push({ type: 'text', text: part.text });
      } else if (part.type === 'refusal' && typeof part.refusal === 'string' && part.refusal.length > 0) {
        blocks.push({ type: 'text', text: part.refusal });
      }
    }
  }
  for (const call of message.tool_calls ?? []) {
    if (!isRecord(call) || !isRecord(call.function)) throw invalid('tool_calls entries need a function.');
    blocks.push({
      type: 'tool_use',
      id: String(call.id),
      name: String(call.function.name),
      input: parseToolInput(call.function.arguments),
    });
  }
  return blocks;
}

/** Appends a turn, merging it into the previous one when the role repeats. */
function appendTurn(
  turns: AnthropicMessage[],
  role: 'user' | 'assistant',
  content: AnthropicContentBlock[] | string,
) {
  const previous = turns[turns.length - 1];
  if (previous?.role !== role) {
    turns.push({ role, content });
    return;
  }
  const asBlocks = (value: AnthropicContentBlock[] | string): AnthropicContentBlock[] =>
    typeof value === 'string' ? (value.length > 0 ? [{ type: 'text', text: value }] : []) : value;
  previous.content = [...asBlocks(previous.content), ...asBlocks(content)];
}

function translateTools(request: OpenAiChatRequest): AnthropicTool[] | undefined {
  if (!Array.isArray(request.tools) || request.tools.length === 0) return undefined;
  return request.tools.map((tool) => {
    if (!isRecord(tool) || tool.type !== 'function' || !isRecord(tool.function)) {
      throw invalid('Only function tools are supported.', 'tools');
    }
    const definition = tool.function;
    const translated: AnthropicTool = {
      name: definition.name,
      // Anthropic requires a schema; a function without parameters takes none.
      input_schema: definition.parameters ?? { type: 'object', properties: {} },
    };
    if (definition.description) translated.description = definition.description;
    return translated;
  });
}

function translateToolChoice(request: OpenAiChatRequest): AnthropicToolChoice | undefined {
  const choice: OpenAiToolChoice | undefined = request.tool_choice;
  const disableParallel = request.parallel_tool_calls === false;
  let translated: AnthropicToolChoice | undefined;
  if (choice === 'auto') translated = { type: 'auto' };
  else if (choice === 'none') translated = { type: 'none' };
  else if (choice === 'required') translated = { type: 'any' };
  else if (isRecord(choice) && isRecord(choice.function) && typeof choice.function.name === 'string') {
    translated = { type: 'tool', name: choice.function.name };
  } else if (choice !== undefined && choice !== null) {
    throw invalid('Unsupported tool_choice.', 'tool_choice');
  }
  if (disableParallel && request.tools?.length) {
    translated ??= { type: 'auto' };
    if (translated.type !== 'none') translated.disable_parallel_tool_use = true;
  }
  return translated;
}

export function openAiRequestToAnthropic(
  request: OpenAiChatRequest,
  options: OpenAiToAnthropicRequestOptions,
): AnthropicMessagesRequest {
  if (request.n !== undefined && request.n !== null && request.n !== 1) {
    throw invalid('Only n = 1 is supported by this model.', 'n');
  }
  const systemTexts: string[] = [];
  const turns: AnthropicMessage[] = [];
  for (const message of request.messages) {
    switch (message.role) {
      case 'system':
      case 'developer':
        systemTexts.push(textOf(message.content, message.role));
        break;
      case 'user':
        appendTurn(turns, 'user', userBlocks(message.content));
        break;
      case 'assistant': {
        const blocks = assistantBlocks(message);
        // An empty assistant turn is rejected upstream and carries nothing.
        if (blocks.length > 0) appendTurn(turns, 'assistant', blocks);
        break;
      }
      case 'tool':
        if (typeof message.tool_call_id !== 'string') throw invalid('A tool message needs tool_call_id.');
        appendTurn(turns, 'user', [
          {
            type: 'tool_result',
            tool_use_id: message.tool_call_id,
            content: textOf(message.content, 'tool'),
          },
        ]);
        break;
      default:
        throw invalid(`Message role "${message.role}" is not supported.`);
    }
  }

  const translated: AnthropicMessagesRequest = {
    model: options.upstreamModel,
    messages: turns,
    max_tokens:
      request.max_completion_tokens ??
      request.max_tokens ??
      options.defaultMaxTokens ??
      DEFAULT_ANTHROPIC_MAX_TOKENS,
  };
  const system = systemTexts.filter((text) => text.length > 0);
  if (system.length === 1) translated.system = system[0];
  else if (system.length > 1)
    translated.system = system.map((text): AnthropicTextBlock => ({ type: 'text', text }));
  if (typeof request.stop === 'string') translated.stop_sequences = [request.stop];
  else if (Array.isArray(request.stop) && request.stop.length > 0) translated.stop_sequences = request.stop;
  // OpenAI's temperature runs 0–2, Anthropic's 0–1; clamping keeps every valid request valid.
  if (typeof request.temperature === 'number')
    translated.temperature = Math.min(1, Math.max(0, request.temperature));
  if (typeof request.top_p === 'number') translated.top_p = request.top_p;
  const tools = translateTools(request);
  if (tools) translated.tools = tools;
  const toolChoice = translateToolChoice(request);
  if (toolChoice) translated.tool_choice = toolChoice;
  if (typeof request.user === 'string' && request.user) translated.metadata = { user_id: request.user };
  if (request.stream) translated.stream = true;
  return translated;
}
