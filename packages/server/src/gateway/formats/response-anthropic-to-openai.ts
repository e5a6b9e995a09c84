/** A non-stream Anthropic Messages response, served to an OpenAI Chat Completions client. */
import { anthropicStopToOpenAi } from './stop-reasons.ts';
import { usageFromAnthropic, usageToOpenAi, ZERO_USAGE } from './usage.ts';
import type { AnthropicMessagesResponse, OpenAiChatResponse, OpenAiToolCall } from './wire-types.ts';
import { isRecord } from './wire-types.ts';

export interface ResponseTranslationOptions {
  /** The model id the client asked for (e.g. `anthropic/claude-sonnet-4`), echoed back instead of the provider's. */
  clientModel: string;
  /** Unix seconds for OpenAI's `created`; injectable so tests are deterministic. */
  createdSeconds?: number;
}

export function anthropicResponseToOpenAi(
  response: AnthropicMessagesResponse,
  options: ResponseTranslationOptions,
): OpenAiChatResponse {
  const texts: string[] = [];
  const toolCalls: OpenAiToolCall[] = [];
  for (const block of Array.isArray(response.content) ? response.content : []) {
    if (!isRecord(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
    else if (block.type === 'tool_use') {
      toolCalls.push({
        id: String(block.id),
        type: 'function',
        function: { name: String(block.name), arguments: JSON.stringify(block.input ?? {}) },
      });
    }
    // Thinking blocks are not part of Chat Completions' answer shape.
  }
  const message: OpenAiChatResponse['choices'][number]['message'] = {
    role: 'assistant',
    content: texts.length > 0 ? texts.join('') : null,
    refusal: null,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: response.id,
    object: 'chat.completion',
    created: options.createdSeconds ?? Math.floor(Date.now() / 1000),
    model: options.clientModel,
    choices: [
      { index: 0, message, logprobs: null, finish_reason: anthropicStopToOpenAi(response.stop_reason) },
    ],
    usage: usageToOpenAi(usageFromAnthropic(response.usage) ?? ZERO_USAGE),
  };
}
