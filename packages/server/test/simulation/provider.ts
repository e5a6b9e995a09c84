/**
 * A provider the simulation drives by hand: an OpenAI-format `/v1/chat/completions` that answers
 * nothing on its own. Each request it receives waits as a `ProviderCall` until the simulation decides
 * what the provider does next: send some words, finish with honest, inflated, garbage or missing usage,
 * fail before the first byte, or cut the connection midway. Every word is one token (a common short
 * English word), so the simulation knows exactly how many output tokens were sent.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Words that are one token each, also after a space, in the tokenizers the gateway counts with. */
export const ONE_TOKEN_WORDS = ['the', 'cat', 'sat', 'on', 'a', 'red', 'mat', 'and', 'dog', 'ran'] as const;

export type UsageReport =
  /** What was really sent. */
  | 'honest'
  /** Far more than was sent or allowed. */
  | 'inflated'
  /** Unusable: negative, text, 1e300, or left out. */
  | 'negative'
  | 'text'
  | 'huge'
  | 'absent';

export interface ProviderCall {
  id: number;
  body: Record<string, unknown>;
  stream: boolean;
  /** How many answers were asked for (`n`). */
  choices: number;
  /** The output limit the request reached the provider with (per answer). */
  outputLimit: number;
  /** Tokens the provider counts in the request's messages (one per word, plus per message framing). */
  promptTokens: number;
  /** Output tokens sent so far, over all answers. */
  sentTokens: number;
  /** The response started (headers, and for a stream, its first chunk). */
  started: boolean;
  /** The provider finished the response (or cut it). */
  ended: boolean;
  /** The gateway went away before the provider finished (an abort). */
  abandoned: boolean;
  response: ServerResponse;
  /** Non-streamed: the text gathered so far, per answer. */
  texts: string[];
}

export interface SimulatedProvider {
  url: string;
  /** Calls received and not yet ended, oldest first. */
  open(): ProviderCall[];
  /** The calls received so far (every one). */
  received(): number;
  sendWords(call: ProviderCall, wordsPerChoice: number, nextWord: () => string): void;
  finish(call: ProviderCall, usage: UsageReport, endWithDone: boolean): void;
  failBeforeStart(call: ProviderCall, status: 429 | 500 | 503): void;
  cut(call: ProviderCall): void;
  close(): Promise<void>;
}

/** The provider's count of a request's input: one token per word and four per message. */
export function providerPromptTokens(messages: { content: string }[]): number {
  return messages.reduce(
    (total, message) => total + 4 + message.content.split(/\s+/).filter(Boolean).length,
    0,
  );
}

export async function startSimulatedProvider(): Promise<SimulatedProvider> {
  const calls: ProviderCall[] = [];
  let nextId = 1;
  const server = createServer((request, response) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      text += chunk;
    });
    request.on('end', () => {
      if (request.url !== '/v1/chat/completions') {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error' } }));
        return;
      }
      const body = JSON.parse(text) as Record<string, unknown>;
      const limits = [body.max_tokens, body.max_completion_tokens].filter(
        (limit) => typeof limit === 'number',
      ) as number[];
      const choices = typeof body.n === 'number' ? body.n : 1;
      const call: ProviderCall = {
        id: nextId++,
        body,
        stream: body.stream === true,
        choices,
        outputLimit: limits.length > 0 ? Math.min(...limits) : Number.POSITIVE_INFINITY,
        promptTokens: providerPromptTokens(body.messages as { content: string }[]),
        sentTokens: 0,
        started: false,
        ended: false,
        abandoned: false,
        response,
        texts: Array.from({ length: choices }, () => ''),
      };
      response.on('close', () => {
        if (!call.ended) call.abandoned = true;
        call.ended = true;
      });
      calls.push(call);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const chunk = (call: ProviderCall, payload: Record<string, unknown>) =>
    `data: ${JSON.stringify({ id: `chatcmpl-${call.id}`, object: 'chat.completion.chunk', created: 0, model: call.body.model, ...payload })}\n\n`;

  const start = (call: ProviderCall) => {
    if (call.started) return;
    call.started = true;
    if (!call.stream) return;
    call.response.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let index = 0; index < call.choices; index++) {
      call.response.write(
        chunk(call, { choices: [{ index, delta: { role: 'assistant', content: '' }, finish_reason: null }] }),
      );
    }
  };

  const usageOf = (call: ProviderCall, report: UsageReport): unknown => {
    switch (report) {
      case 'honest':
        return {
          prompt_tokens: call.promptTokens,
          completion_tokens: call.sentTokens,
          total_tokens: call.promptTokens + call.sentTokens,
        };
      case 'inflated':
        return { prompt_tokens: 1_000_000, completion_tokens: 1_000_000, total_tokens: 2_000_000 };
      case 'negative':
        return { prompt_tokens: -5, completion_tokens: -call.sentTokens - 1, total_tokens: -6 };
      case 'text':
        return { prompt_tokens: 'many', completion_tokens: 'lots', total_tokens: 'all' };
      case 'huge':
        return { prompt_tokens: 1e300, completion_tokens: 1e300, total_tokens: 1e300 };
      case 'absent':
        return undefined;
    }
  };

  return {
    url: `http://127.0.0.1:${port}`,
    open: () => calls.filter((call) => !call.ended),
    received: () => calls.length,
    sendWords(call, wordsPerChoice, nextWord) {
      if (call.ended) return;
      start(call);
      for (let index = 0; index < call.choices; index++) {
        let text = '';
        for (let word = 0; word < wordsPerChoice; word++) text += ` ${nextWord()}`;
        call.sentTokens += wordsPerChoice;
        if (call.stream)
          call.response.write(
            chunk(call, { choices: [{ index, delta: { content: text }, finish_reason: null }] }),
          );
        else call.texts[index] += text;
      }
    },
    finish(call, report, endWithDone) {
      if (call.ended) return;
      start(call);
      const usage = usageOf(call, report);
      call.ended = true;
      if (call.stream) {
        for (let index = 0; index < call.choices; index++) {
          call.response.write(chunk(call, { choices: [{ index, delta: {}, finish_reason: 'stop' }] }));
        }
        if (usage !== undefined) call.response.write(chunk(call, { choices: [], usage }));
        call.response.end(endWithDone ? 'data: [DONE]\n\n' : undefined);
        return;
      }
      const answer = {
        id: `chatcmpl-${call.id}`,
        object: 'chat.completion',
        created: 0,
        model: call.body.model,
        choices: call.texts.map((text, index) => ({
          index,
          message: { role: 'assistant', content: text.trimStart() },
          finish_reason: 'stop',
        })),
        ...(usage === undefined ? {} : { usage }),
      };
      call.response.writeHead(200, { 'content-type': 'application/json' });
      call.response.end(JSON.stringify(answer));
    },
    failBeforeStart(call, status) {
      if (call.ended || call.started) return;
      call.ended = true;
      call.response.writeHead(status, {
        'content-type': 'application/json',
        ...(status === 429 ? { 'retry-after': '1' } : {}),
      });
      call.response.end(JSON.stringify({ error: { message: `simulated ${status}`, type: 'server_error' } }));
    },
    cut(call) {
      if (call.ended) return;
      call.ended = true;
      call.response.socket?.destroy();
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
