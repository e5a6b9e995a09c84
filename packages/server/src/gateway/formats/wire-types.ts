/**
 * The parts of the OpenAI Chat Completions and Anthropic Messages wire formats that the gateway reads or
 * writes. Deliberately partial: fields we do not touch stay `unknown` behind an index signature so a
 * request passes through unchanged when client and upstream speak the same dialect. The official SDK
 * packages are dev-only, so the server keeps its own types instead of importing theirs.
 */

/** An upstream provider's format (and the dialect of the two chat endpoints). */
export type ApiFormat = 'openai' | 'anthropic';
/**
 * A wire dialect: Chat Completions (`openai`), Messages (`anthropic`) or OpenAI's Responses API
 * (`responses`, a client dialect that an OpenAI-format upstream also speaks).
 */
export type Dialect = ApiFormat | 'responses';

// ───────────────────────────── OpenAI Chat Completions ─────────────────────────────

export interface OpenAiTextPart {
  type: 'text';
  text: string;
}

export interface OpenAiImagePart {
  type: 'image_url';
  image_url: { url: string; detail?: 'auto' | 'low' | 'high' | string };
}

export interface OpenAiRefusalPart {
  type: 'refusal';
  refusal: string;
}

/** Parts we do not translate (`input_audio`, `file`) are kept so the same-dialect path forwards them. */
export interface OpenAiOtherPart {
  type: string;
  [key: string]: unknown;
}

export type OpenAiContentPart = OpenAiTextPart | OpenAiImagePart | OpenAiRefusalPart | OpenAiOtherPart;

export interface OpenAiToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface OpenAiMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function' | string;
  content?: string | OpenAiContentPart[] | null;
  name?: string;
  tool_calls?: OpenAiToolCall[];
  tool_call_id?: string;
  refusal?: string | null;
  [key: string]: unknown;
}

export interface OpenAiTool {
  type: 'function';
  function: {
    name: string;
    description?: string;
    parameters?: Record<string, unknown>;
    strict?: boolean | null;
  };
}

export type OpenAiToolChoice =
  | 'none'
  | 'auto'
  | 'required'
  | { type: 'function'; function: { name: string } };

export interface OpenAiChatRequest {
  model: string;
  messages: OpenAiMessage[];
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  stop?: string | string[] | null;
  temperature?: number | null;
  top_p?: number | null;
  n?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean | null; [key: string]: unknown } | null;
  tools?: OpenAiTool[];
  tool_choice?: OpenAiToolChoice;
  parallel_tool_calls?: boolean | null;
  user?: string;
  [key: string]: unknown;
}

export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number | null; [key: string]: unknown } | null;
  completion_tokens_details?: Record<string, unknown> | null;
}

export type OpenAiFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export interface OpenAiChatResponse {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: {
      role: 'assistant';
      content: string | null;
      refusal?: string | null;
      tool_calls?: OpenAiToolCall[];
      [key: string]: unknown;
    };
    logprobs?: unknown;
    finish_reason: OpenAiFinishReason | null;
  }>;
  usage?: OpenAiUsage | null;
  [key: string]: unknown;
}

export interface OpenAiToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

export interface OpenAiChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: {
      role?: 'assistant';
      content?: string | null;
      refusal?: string | null;
      tool_calls?: OpenAiToolCallDelta[];
      [key: string]: unknown;
    };
    logprobs?: unknown;
    finish_reason: OpenAiFinishReason | null;
  }>;
  usage?: OpenAiUsage | null;
  [key: string]: unknown;
}

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

// ───────────────────────────── Anthropic Messages ─────────────────────────────

export interface AnthropicTextBlock {
  type: 'text';
  text: string;
  [key: string]: unknown;
}

export type AnthropicImageSource =
  | { type: 'base64'; media_type: string; data: string }
  | { type: 'url'; url: string }
  | { type: string; [key: string]: unknown };

export interface AnthropicImageBlock {
  type: 'image';
  source: AnthropicImageSource;
  [key: string]: unknown;
}

export interface AnthropicToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
  [key: string]: unknown;
}

export interface AnthropicToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | Array<AnthropicTextBlock | AnthropicImageBlock | AnthropicOtherBlock>;
  is_error?: boolean;
  [key: string]: unknown;
}

/** thinking, redacted_thinking, document, server tools… — forwarded as-is or dropped when translating. */
export interface AnthropicOtherBlock {
  type: string;
  [key: string]: unknown;
}

export type AnthropicContentBlock =
  | AnthropicTextBlock
  | AnthropicImageBlock
  | AnthropicToolUseBlock
  | AnthropicToolResultBlock
  | AnthropicOtherBlock;

export interface AnthropicMessage {
  role: 'user' | 'assistant' | string;
  content: string | AnthropicContentBlock[];
}

export interface AnthropicTool {
  name: string;
  description?: string;
  input_schema?: Record<string, unknown>;
  type?: string;
  [key: string]: unknown;
}

export type AnthropicToolChoice =
  | { type: 'auto'; disable_parallel_tool_use?: boolean }
  | { type: 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' };

export interface AnthropicMessagesRequest {
  model: string;
  messages: AnthropicMessage[];
  max_tokens: number;
  system?: string | AnthropicTextBlock[];
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stream?: boolean;
  tools?: AnthropicTool[];
  tool_choice?: AnthropicToolChoice;
  metadata?: { user_id?: string | null; [key: string]: unknown };
  [key: string]: unknown;
}

export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  [key: string]: unknown;
}

export type AnthropicStopReason =
  | 'end_turn'
  | 'max_tokens'
  | 'stop_sequence'
  | 'tool_use'
  | 'pause_turn'
  | 'refusal'
  | 'model_context_window_exceeded';

export interface AnthropicMessagesResponse {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: AnthropicContentBlock[];
  stop_reason: AnthropicStopReason | string | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
  [key: string]: unknown;
}

export interface AnthropicErrorBody {
  type: 'error';
  /** `code`: Tollgate's stable error code, beside Anthropic's `type`. */
  error: { type: string; code?: string; message: string };
}

/** Narrowing helper: the wire is JSON, so "is this a plain object" is the check we need everywhere. */
export function isRecord(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
