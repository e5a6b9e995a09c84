/**
 * A provider the simulation drives by hand: OpenAI-format `/v1/chat/completions` and Anthropic-format
 * `/v1/messages`, answering nothing on their own. Each request it receives waits as a `ProviderCall` until the simulation decides
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

export type ProviderFormat = 'openai' | 'anthropic';

export interface ProviderCall {
  id: number;
  format: ProviderFormat;
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
  /**
   * What the usage report will be. Anthropic streams report input in their first event, so the
   * simulation decides the whole report when the call opens.
   */
  plannedReport: UsageReport;
}

export interface SimulatedProvider {
  url: string;
  /** Calls received and not yet ended, oldest first. */
  open(): ProviderCall[];
  /** The calls received so far (every one). */
  received(): number;
  sendWords(call: ProviderCall, wordsPerChoice: number, nextWord: () => string): void;
  /** Ends the call with a usage report (honest or a lie) and, or not, the dialect's end event. */
  finish(call: ProviderCall, usage: UsageReport, endWithDone: boolean): void;
  failBeforeStart(call: ProviderCall, status: 429 | 500 | 503): void;
  cut(call: ProviderCall): void;
  close(): Promise<void>;
}

type Content = string | { type?: string; text?: string }[] | undefined;

function wordsIn(content: Content): number {
  const text =
    typeof content === 'string' ? content : (content ?? []).map((block) => block.text ?? '').join(' ');
  return text.split(/\s+/).filter(Boolean).length;
}

/**
 * The provider's count of a request's input: one token per word and four per message (the system
 * prompt counts as one, in either dialect's place for it).
 */
export function providerPromptTokens(body: Record<string, unknown>): number {
  const messages = (body.messages ?? []) as { content: Content }[];
  const system = body.system as Content;
  const systemTokens = system === undefined ? 0 : 4 + wordsIn(system);
  return messages.reduce((total, message) => total + 4 + wordsIn(message.content), systemTokens);
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
      const format: ProviderFormat | null =
        request.url === '/v1/chat/completions'
          ? 'openai'
          : request.url === '/v1/messages'
            ? 'anthropic'
            : null;
      if (!format) {
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
        format,
        body,
        stream: body.stream === true,
        choices,
        outputLimit: limits.length > 0 ? Math.min(...limits) : Number.POSITIVE_INFINITY,
        promptTokens: providerPromptTokens(body),
        sentTokens: 0,
        started: false,
        ended: false,
        abandoned: false,
        response,
        texts: Array.from({ length: choices }, () => ''),
        plannedReport: 'honest',
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
  const event = (type: string, payload: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...payload })}\n\n`;

  const start = (call: ProviderCall, usage?: unknown) => {
    if (call.started) return;
    call.started = true;
    if (!call.stream) return;
    call.response.writeHead(200, { 'content-type': 'text/event-stream' });
    if (call.format === 'anthropic') {
      const message = {
        id: `msg_${call.id}`,
        type: 'message',
        role: 'assistant',
        model: call.body.model,
        content: [],
        stop_reason: null,
      };
      call.response.write(
        event('message_start', { message: usage === undefined ? message : { ...message, usage } }),
      );
      call.response.write(
        event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      );
      return;
    }
    for (let index = 0; index < call.choices; index++) {
      call.response.write(
        chunk(call, { choices: [{ index, delta: { role: 'assistant', content: '' }, finish_reason: null }] }),
      );
    }
  };

  /** The usage report, in the call's dialect; `undefined` leaves it out. */
  const usageOf = (call: ProviderCall, report: UsageReport): Record<string, unknown> | undefined => {
    const [input, output] = ((): [unknown, unknown] => {
      switch (report) {
        case 'honest':
          return [call.promptTokens, call.sentTokens];
        case 'inflated':
          return [1_000_000, 1_000_000];
        case 'negative':
          return [-5, -call.sentTokens - 1];
        case 'text':
          return ['many', 'lots'];
        case 'huge':
          return [1e300, 1e300];
        case 'absent':
          return [undefined, undefined];
      }
    })();
    if (input === undefined) return undefined;
    return call.format === 'anthropic'
      ? { input_tokens: input, output_tokens: output }
      : {
          prompt_tokens: input,
          completion_tokens: output,
          total_tokens: typeof input === 'number' && typeof output === 'number' ? input + output : input,
        };
  };

  return {
    url: `http://127.0.0.1:${port}`,
    open: () => calls.filter((call) => !call.ended),
    received: () => calls.length,
    sendWords(call, wordsPerChoice, nextWord) {
      if (call.ended) return;
      // Anthropic reports the input in message_start, before any text: an honest count, or the lie.
      start(call, call.format === 'anthropic' ? usageOf(call, call.plannedReport) : undefined);
      for (let index = 0; index < call.choices; index++) {
        let text = '';
        for (let word = 0; word < wordsPerChoice; word++) text += ` ${nextWord()}`;
        call.sentTokens += wordsPerChoice;
        if (!call.stream) call.texts[index] += text;
        else if (call.format === 'anthropic') {
          call.response.write(
            event('content_block_delta', { index: 0, delta: { type: 'text_delta', text } }),
          );
        } else {
          call.response.write(
            chunk(call, { choices: [{ index, delta: { content: text }, finish_reason: null }] }),
          );
        }
      }
    },
    finish(call, report, endWithDone) {
      if (call.ended) return;
      call.plannedReport = report;
      start(call, call.format === 'anthropic' ? usageOf(call, report) : undefined);
      const usage = usageOf(call, report);
      call.ended = true;
      if (call.stream && call.format === 'anthropic') {
        call.response.write(event('content_block_stop', { index: 0 }));
        const output = usage === undefined ? undefined : { output_tokens: usage.output_tokens };
        call.response.write(
          event('message_delta', {
            delta: { stop_reason: 'end_turn' },
            ...(output ? { usage: output } : {}),
          }),
        );
        call.response.end(endWithDone ? event('message_stop', {}) : undefined);
        return;
      }
      if (call.stream) {
        for (let index = 0; index < call.choices; index++) {
          call.response.write(chunk(call, { choices: [{ index, delta: {}, finish_reason: 'stop' }] }));
        }
        if (usage !== undefined) call.response.write(chunk(call, { choices: [], usage }));
        call.response.end(endWithDone ? 'data: [DONE]\n\n' : undefined);
        return;
      }
      const answer =
        call.format === 'anthropic'
          ? {
              id: `msg_${call.id}`,
              type: 'message',
              role: 'assistant',
              model: call.body.model,
              content: [{ type: 'text', text: call.texts[0]!.trimStart() }],
              stop_reason: 'end_turn',
              ...(usage === undefined ? {} : { usage }),
            }
          : {
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
