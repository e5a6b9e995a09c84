/**
 * Why generation ended, in each dialect. The two vocabularies do not line up one-to-one, so each
 * direction is its own table: OpenAI's `stop` covers both a natural end and a matched stop sequence,
 * and Anthropic's `refusal` / `pause_turn` have no OpenAI twin.
 */
import type { AnthropicStopReason, OpenAiFinishReason } from './wire-types.ts';

const ANTHROPIC_TO_OPENAI: Record<string, OpenAiFinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
  // A paused server-tool turn has produced all it will in this response.
  pause_turn: 'stop',
};

const OPENAI_TO_ANTHROPIC: Record<string, AnthropicStopReason> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

export function anthropicStopToOpenAi(reason: string | null | undefined): OpenAiFinishReason {
  return (reason && ANTHROPIC_TO_OPENAI[reason]) || 'stop';
}

/** OpenAI does not say whether `stop` came from a stop sequence, so `stop` always maps to `end_turn`. */
export function openAiFinishToAnthropic(reason: string | null | undefined): AnthropicStopReason {
  return (reason && OPENAI_TO_ANTHROPIC[reason]) || 'end_turn';
}
