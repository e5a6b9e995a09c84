/**
 * A chat app whose users pay with Tollgate credits, using the official `openai` SDK unchanged:
 * the base URL is Tollgate's `/v1` and the API key is the user's Tollgate key (`tg_uk_…`). Tollgate
 * forwards to the real provider with the platform's key and charges the user for the tokens used.
 */
import OpenAI from 'openai';

export interface ChatAppOptions {
  /** Where Tollgate runs, e.g. http://127.0.0.1:8787. */
  tollgateUrl: string;
  /** The signed-in user's Tollgate key. */
  userKey: string;
  /** A model from Tollgate's catalog (default `openai/gpt-4o`). */
  model?: string;
}

export type Reply =
  | { ok: true; text: string; usage?: OpenAI.CompletionUsage }
  | { ok: false; reason: 'insufficient_credits' };

export function createChatApp(options: ChatAppOptions) {
  const openai = new OpenAI({ baseURL: `${options.tollgateUrl}/v1`, apiKey: options.userKey, maxRetries: 0 });
  const model = options.model ?? 'openai/gpt-4o';

  return {
    /** One answer. An empty balance is an expected outcome (402), shown as a top-up prompt. */
    async ask(question: string): Promise<Reply> {
      try {
        const completion = await openai.chat.completions.create({
          model,
          messages: [{ role: 'user', content: question }],
        });
        return { ok: true, text: completion.choices[0]?.message.content ?? '', usage: completion.usage };
      } catch (error) {
        if (error instanceof OpenAI.APIError && error.status === 402)
          return { ok: false, reason: 'insufficient_credits' };
        throw error;
      }
    },

    /** The same, streamed: yields text as it arrives (charged once, when the stream ends). */
    async *stream(question: string): AsyncGenerator<string> {
      const stream = await openai.chat.completions.create({
        model,
        messages: [{ role: 'user', content: question }],
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const chunk of stream) {
        const text = chunk.choices[0]?.delta.content;
        if (text) yield text;
      }
    },

    /** The user's balance, from the OpenCredits-compatible endpoint (same key). */
    async balance(): Promise<number> {
      const response = await fetch(`${options.tollgateUrl}/v1/credits/balance`, {
        headers: { authorization: `Bearer ${options.userKey}` },
      });
      if (!response.ok) throw new Error(`balance: HTTP ${response.status}`);
      return ((await response.json()) as { balance: number }).balance;
    },
  };
}
