/** A non-stream OpenAI Chat Completions response, served to an Anthropic Messages client. */
import type { ResponseTranslationOptions } from './response-anthropic-to-openai.ts';
import { openAiFinishToAnthropic } from './stop-reasons.ts';
import { parseToolInput } from './tool-input.ts';
import { usageFromOpenAi, usageToAnthropic, ZERO_USAGE } from './usage.ts';
import type { AnthropicContentBlock, AnthropicMessagesResponse, OpenAiChatResponse } from './wire-types.ts';
import { isRecord } from './wire-types.ts';

export function openAiResponseToAnthropic(
  response: OpenAiChatResponse,
  options: Pick<ResponseTranslationOptions, 'clientModel'>,
): AnthropicMessagesResponse {
  const choice = Array.isArray(response.choices) ? response.choices[0] : undefined;
  const message = isRecord(choice?.message) ? choice.message : undefined;
  const content: AnthropicContentBlock[] = [];
  if (typeof message?.content === 'string' && message.content.length > 0) {
    content.push({ type: 'text', text: message.content });
  }
  const refused = typeof message?.refusal === 'string' && message.refusal.length > 0;
  if (refused) content.push({ type: 'text', text: message!.refusal as string });
  for (const call of Array.isArray(message?.tool_calls) ? message.tool_calls : []) {
    if (!isRecord(call) || !isRecord(call.function)) continue;
    content.push({
      type: 'tool_use',
      id: String(call.id),
      name: String(call.function.name),
      input: parseToolInput(call.function.arguments),
    });
  }
  return {
    id: response.id,
    type: 'message',
    role: 'assistant',
    model: options.clientModel,
    content,
    stop_reason: refused ? 'refusal' : openAiFinishToAnthropic(choice?.finish_reason),
    stop_sequence: null,
    usage: usageToAnthropic(usageFromOpenAi(response.usage) ?? ZERO_USAGE),
  };
}
