/**
 * The gateway's view of the formats folder: pick the right translation for a (client dialect,
 * upstream dialect) pair without knowing which module does it.
 */

import {
  anthropicResponseToResponses,
  responsesPassthroughRequest,
  responsesRequestView,
  translatableChat,
} from './openai-responses.ts';
import {
  AnthropicPassthroughStream,
  anthropicPassthroughRequest,
  OpenAiPassthroughStream,
  openAiPassthroughRequest,
  withClientModel,
} from './passthrough.ts';
import { anthropicRequestToOpenAi } from './request-anthropic-to-openai.ts';
import { openAiRequestToAnthropic } from './request-openai-to-anthropic.ts';
import { anthropicResponseToOpenAi } from './response-anthropic-to-openai.ts';
import { openAiResponseToAnthropic } from './response-openai-to-anthropic.ts';
import { AnthropicToOpenAiStream } from './stream-anthropic-to-openai.ts';
import { OpenAiToAnthropicStream } from './stream-openai-to-anthropic.ts';
import { AnthropicToResponsesStream, ResponsesPassthroughStream } from './stream-responses.ts';
import type { StreamTranslationOptions, StreamTranslator } from './stream-translator.ts';
import type {
  AnthropicMessagesRequest,
  AnthropicMessagesResponse,
  ApiFormat,
  Dialect,
  OpenAiChatRequest,
  OpenAiChatResponse,
} from './wire-types.ts';

export type ClientRequest = OpenAiChatRequest | AnthropicMessagesRequest;
export type UpstreamResponse = OpenAiChatResponse | AnthropicMessagesResponse;

export interface RequestTranslationOptions {
  upstreamModel: string;
  /** Anthropic upstreams need `max_tokens`; the catalog's value for the model when the client sets none. */
  defaultMaxTokens?: number;
  /** OpenAI upstreams: which field carries the token limit (see request-anthropic-to-openai.ts). */
  maxTokensField?: 'max_completion_tokens' | 'max_tokens';
}

/** The dialect of the upstream call: a Responses client is served from an OpenAI upstream's Responses API. */
export function upstreamDialect(client: Dialect, upstream: ApiFormat): Dialect {
  return client === 'responses' && upstream === 'openai' ? 'responses' : upstream;
}

export function translateRequest(
  client: Dialect,
  upstream: ApiFormat,
  request: ClientRequest,
  options: RequestTranslationOptions,
): ClientRequest {
  if (client === 'responses') {
    const body = request as unknown as Record<string, unknown>;
    if (upstream === 'openai')
      return responsesPassthroughRequest(body, options.upstreamModel) as ClientRequest;
    return openAiRequestToAnthropic(translatableChat(responsesRequestView(body)), options);
  }
  if (client === 'openai') {
    return upstream === 'openai'
      ? openAiPassthroughRequest(request as OpenAiChatRequest, options.upstreamModel)
      : openAiRequestToAnthropic(request as OpenAiChatRequest, options);
  }
  return upstream === 'anthropic'
    ? anthropicPassthroughRequest(request as AnthropicMessagesRequest, options.upstreamModel)
    : anthropicRequestToOpenAi(request as AnthropicMessagesRequest, options);
}

export function translateResponse(
  client: Dialect,
  upstream: ApiFormat,
  body: UpstreamResponse,
  options: { clientModel: string; createdSeconds?: number; request?: Record<string, unknown> },
): UpstreamResponse {
  if (client === 'responses') {
    if (upstream === 'openai') return withClientModel(body, options.clientModel);
    return anthropicResponseToResponses(
      body as AnthropicMessagesResponse,
      options.request ?? {},
      options,
    ) as never;
  }
  if (client === upstream) return withClientModel(body, options.clientModel);
  return client === 'openai'
    ? anthropicResponseToOpenAi(body as AnthropicMessagesResponse, options)
    : openAiResponseToAnthropic(body as OpenAiChatResponse, options);
}

export function createStreamTranslator(
  client: Dialect,
  upstream: ApiFormat,
  options: StreamTranslationOptions,
): StreamTranslator {
  if (client === 'responses') {
    return upstream === 'openai'
      ? new ResponsesPassthroughStream(options)
      : new AnthropicToResponsesStream(options);
  }
  if (client === 'openai') {
    return upstream === 'openai'
      ? new OpenAiPassthroughStream(options)
      : new AnthropicToOpenAiStream(options);
  }
  return upstream === 'anthropic'
    ? new AnthropicPassthroughStream(options)
    : new OpenAiToAnthropicStream(options);
}

export * from './errors.ts';
export * from './openai-responses.ts';
export * from './output-limits.ts';
export * from './sse.ts';
export type { StreamTranslationOptions, StreamTranslator } from './stream-translator.ts';
export * from './tokens.ts';
export * from './usage.ts';
export type * from './wire-types.ts';
export { isRecord } from './wire-types.ts';
