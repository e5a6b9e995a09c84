/** Builds the `chat.completion.chunk` frames of one OpenAI stream with a fixed id, created and model. */
import { randomToken } from '../../shared/ids.ts';
import { formatSseJson, OPENAI_DONE_FRAME } from './sse.ts';
import { type Usage, usageToOpenAi } from './usage.ts';
import type { OpenAiChunk, OpenAiFinishReason } from './wire-types.ts';

export class OpenAiChunkWriter {
  id: string;
  private readonly created: number;
  private readonly model: string;
  private readonly includeUsage: boolean;

  constructor(options: { model: string; includeUsage: boolean; createdSeconds?: number; id?: string }) {
    this.id = options.id ?? `chatcmpl-${randomToken(12)}`;
    this.created = options.createdSeconds ?? Math.floor(Date.now() / 1000);
    this.model = options.model;
    this.includeUsage = options.includeUsage;
  }

  delta(
    delta: OpenAiChunk['choices'][number]['delta'],
    finishReason: OpenAiFinishReason | null = null,
  ): string {
    return this.frame([{ index: 0, delta, logprobs: null, finish_reason: finishReason }]);
  }

  /** The extra chunk `include_usage` asks for: empty `choices`, the whole request's usage. */
  usage(usage: Usage): string {
    const chunk: OpenAiChunk = { ...this.base(), choices: [], usage: usageToOpenAi(usage) };
    return formatSseJson(chunk);
  }

  done(): string {
    return OPENAI_DONE_FRAME;
  }

  private frame(choices: OpenAiChunk['choices']): string {
    const chunk: OpenAiChunk = { ...this.base(), choices };
    // With include_usage every other chunk carries `usage: null`, as OpenAI documents.
    if (this.includeUsage) chunk.usage = null;
    return formatSseJson(chunk);
  }

  private base(): Pick<OpenAiChunk, 'id' | 'object' | 'created' | 'model'> {
    return { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model };
  }
}
