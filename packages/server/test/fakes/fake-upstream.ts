/**
 * A local stand-in for the AI providers the gateway calls: OpenAI Chat Completions, OpenAI Responses
 * (refusing what OpenAI refuses: a missing model or input, Chat Completions parameters, `max_output_tokens`
 * below 16, nested tool definitions, a tool output without its call), Anthropic Messages and fal's queue API, on 127.0.0.1 with a random port. It records every request (with the key it was
 * sent, so a bring-your-own-key test can check which key reached the provider) and misbehaves on
 * demand, so the gateway's failure paths can be tested without a network.
 *
 * Choosing a behavior, most specific first:
 *   1. the `x-fake-behavior` header (a behavior name) and `x-fake-settings` header (JSON settings);
 *   2. a model id ending in `:<behavior>` (`gpt-4o:error500`) — survives a gateway that drops headers;
 *   3. `queueBehavior(settings)`: applies to the next request only, first in first out;
 *   4. `setBehavior(settings)` / the start options: every request.
 *
 * Key checks (what Tollgate asks before it stores a customer's key) accept only the keys configured
 * with `acceptedKeys` / `acceptKey`, and answer any other key with 401 and an error that quotes it,
 * as providers do: `GET /v1/models` (OpenAI with `Authorization: Bearer`, Anthropic with `x-api-key`),
 * `GET …/key` (OpenRouter's key info), and fal's status of a request that does not exist (404 for an
 * accepted key).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

export const FAKE_BEHAVIORS = [
  'normal',
  /** 500 with the provider's error body (before any stream starts). */
  'error500',
  /** 429 with `retry-after: 1`. */
  'error429',
  /** 401, as for a bad provider key. */
  'error401',
  /** Never answers; the socket stays open until the client gives up or the fake closes. */
  'hang',
  /** Streams: a few chunks, then the socket is destroyed. Non-stream: the socket is destroyed at once. */
  'stream_then_error',
  /** Streams without any usage report (no OpenAI usage chunk; no Anthropic usage fields). */
  'stream_no_usage',
  /** A successful answer with no text (and 0 output tokens unless overridden). */
  'empty',
  /** Streams with a pause between chunks (`chunkDelayMilliseconds`), so a client can leave midway. */
  'slow_stream',
  /** 401 whose message quotes the key it was sent, as careless providers do. */
  'error401_echo',
  /** Streams a few chunks (`chunksBeforeError`), then an in-stream error event quoting the key it was sent. */
  'stream_error_echo',
] as const;

export type FakeBehavior = (typeof FAKE_BEHAVIORS)[number];
export type FalStatus = 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

export interface FakeUsage {
  /** Input tokens NOT served from cache (Tollgate's normalized meaning). */
  input_tokens?: number;
  output_tokens?: number;
  cached_input_tokens?: number;
}

export interface FakeBehaviorSettings {
  behavior?: FakeBehavior;
  /** Reported usage; fields left out keep their defaults (10 input, one output token per word, 0 cached). */
  usage?: FakeUsage;
  /** The answer (default "Hello from the fake upstream."). */
  outputText?: string;
  /** Instead of `outputText`: an answer of this many words, "word1 word2 …". */
  outputWordCount?: number;
  /** Pause between stream chunks in `slow_stream` (default 50 ms). */
  chunkDelayMilliseconds?: number;
  /** Content chunks sent before `stream_then_error` cuts the socket (default 2). */
  chunksBeforeError?: number;
  /** Answer with a call to the first tool when tools are given (default: only when tool_choice forces it). */
  toolCall?: boolean;
  /** Responses: answer with the text as a message item before the tool call (default: the call alone). */
  toolCallWithText?: boolean;
  /** Arguments of that tool call (default `{"location":"Paris"}`). */
  toolArguments?: Record<string, unknown>;
  /**
   * Chat and messages: the `usage` object exactly as sent, garbage on purpose (negative, strings,
   * 1e300); `null` leaves usage out. Replaces OpenAI's usage (body and usage chunk) and Anthropic's
   * (body, message_start and message_delta).
   */
  rawUsage?: unknown;
  /** Chat and messages streams: end after the usage, but without `[DONE]` / `message_stop`. */
  omitEndMarker?: boolean;
  /** Chat and messages streams: after this many frames, wait for `resume()` before sending the rest. */
  pauseAfterFrames?: number;
  /** Chat and messages: extra response headers of the provider's own (they must never reach a client). */
  responseHeaders?: Record<string, string>;
  /** fal: the statuses successive polls return; the last one repeats (default IN_QUEUE, IN_PROGRESS, COMPLETED). */
  falStatuses?: FalStatus[];
  /** fal: the result body (default: images, or a video for video-looking model paths). */
  falResult?: unknown;
  /** fal: the `error` of a FAILED status (default "The fake generation failed."), e.g. one that quotes the key. */
  falError?: string;
}

export interface FakeUpstreamOptions extends FakeBehaviorSettings {
  /** Keys the key-check routes accept (every other key gets 401). */
  acceptedKeys?: string[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** `authorization` header as sent (`Bearer sk-…` for OpenAI, `Key …` for fal). */
  authorization: string | undefined;
  /** `x-api-key` header as sent (Anthropic). */
  apiKey: string | undefined;
  /** The key itself, whichever header carried it. */
  credential: string | undefined;
  body: any;
  rawBody: string;
  behavior: FakeBehavior;
  /** The client went away before the response was complete. */
  clientDisconnected: boolean;
  /** The fake finished writing its response. */
  completed: boolean;
}

export interface FakeUpstream {
  /** Base URL without a trailing slash; OpenAI clients use `${url}/v1`, Anthropic clients `url`. */
  url: string;
  requests: RecordedRequest[];
  /** Replaces the settings every request starts from. */
  setBehavior(settings: FakeBehaviorSettings): void;
  /** Settings for the next request only (queued, first in first out). */
  queueBehavior(settings: FakeBehaviorSettings): void;
  /** Makes the key-check routes accept `key` from now on. */
  acceptKey(key: string): void;
  /** Lets every stream waiting at `pauseAfterFrames` go on. */
  resume(): void;
  close(): Promise<void>;
}

const DEFAULT_OUTPUT_TEXT = 'Hello from the fake upstream.';
const DEFAULT_INPUT_TOKENS = 10;
const DEFAULT_CHUNK_DELAY_MILLISECONDS = 50;
const DEFAULT_TOOL_ARGUMENTS = { location: 'Paris' };
const DEFAULT_FAL_STATUSES: FalStatus[] = ['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED'];
const VIDEO_MODEL_PATTERN = /video|veo|kling|luma|seedance|hunyuan|minimax|wan-/i;

interface ResolvedSettings extends FakeBehaviorSettings {
  behavior: FakeBehavior;
}

interface FalJob {
  id: string;
  modelPath: string;
  input: any;
  statuses: FalStatus[];
  polls: number;
  result: unknown;
  error: string | undefined;
}

interface Exchange {
  request: IncomingMessage;
  response: ServerResponse;
  recorded: RecordedRequest;
  settings: ResolvedSettings;
  baseUrl: string;
  /** Resolves at the next `resume()`. */
  resumed(): Promise<void>;
}

export async function startFakeUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const { acceptedKeys: initialKeys = [], ...behavior } = options;
  const acceptedKeys = new Set(initialKeys);
  let globalSettings: FakeBehaviorSettings = { ...behavior };
  const queued: FakeBehaviorSettings[] = [];
  const requests: RecordedRequest[] = [];
  const falJobs = new Map<string, FalJob>();
  /** Responses output items kept for `item_reference` (as OpenAI keeps them unless `store: false`). */
  const storedItems = new Map<string, any>();
  let baseUrl = '';
  let resume: () => void = () => {};
  let resumed = new Promise<void>((resolve) => {
    resume = resolve;
  });

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent)
        sendJson(response, 500, { error: { message: String(error), type: 'fake_error' } });
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const rawBody = await readBody(request);
    let body: any;
    try {
      body = rawBody ? JSON.parse(rawBody) : undefined;
    } catch {
      body = undefined;
    }
    const settings = resolveSettings(request.headers, body, queued.shift(), globalSettings);
    const authorization = header(request.headers, 'authorization');
    const apiKey = header(request.headers, 'x-api-key');
    const recorded: RecordedRequest = {
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      headers: request.headers,
      authorization,
      apiKey,
      credential: apiKey ?? authorization?.replace(/^(Bearer|Key)\s+/i, ''),
      body,
      rawBody,
      behavior: settings.behavior,
      clientDisconnected: false,
      completed: false,
    };
    requests.push(recorded);
    response.on('close', () => {
      if (!response.writableFinished) recorded.clientDisconnected = true;
    });
    response.on('finish', () => {
      recorded.completed = true;
    });
    const exchange: Exchange = { request, response, recorded, settings, baseUrl, resumed: () => resumed };
    const path = new URL(recorded.path, baseUrl).pathname;

    if (recorded.method === 'POST' && path === '/v1/chat/completions') return openAiChat(exchange);
    if (recorded.method === 'POST' && path === '/v1/responses') return openAiResponses(exchange, storedItems);
    if (recorded.method === 'POST' && path === '/v1/messages') return anthropicMessages(exchange);
    if (recorded.method === 'POST' && path === '/v1/messages/count_tokens')
      return anthropicCountTokens(exchange);
    if (recorded.method === 'POST' && path === '/v1/embeddings') return openAiEmbeddings(exchange);
    if (recorded.method === 'GET' && path.startsWith('/files/')) return sendFile(response, path);
    if (recorded.method === 'GET' && path === '/v1/models') return modelsKeyCheck(exchange, acceptedKeys);
    if (recorded.method === 'GET' && path.endsWith('/key')) return openRouterKeyCheck(exchange, acceptedKeys);
    const falRequest = /^(?:\/(.+))?\/requests\/([^/]+)(\/status|\/cancel)?$/.exec(path);
    if (falRequest) return falRequestRoute(exchange, falJobs, falRequest[2], falRequest[3], acceptedKeys);
    if (recorded.method === 'POST' && path.length > 1 && !path.startsWith('/v1/')) {
      return falSubmit(exchange, falJobs, path.slice(1));
    }
    sendJson(response, 404, {
      error: { message: `No fake route for ${recorded.method} ${path}`, type: 'not_found' },
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}`;

  return {
    url: baseUrl,
    requests,
    setBehavior(settings) {
      globalSettings = { ...settings };
    },
    queueBehavior(settings) {
      queued.push({ ...settings });
    },
    acceptKey(key) {
      acceptedKeys.add(key);
    },
    resume() {
      const release = resume;
      resumed = new Promise<void>((resolve) => {
        resume = resolve;
      });
      release();
    },
    async close() {
      // Hanging and slow responses would otherwise keep close() waiting forever.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ───────────────────────────── settings ─────────────────────────────

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isBehavior(value: unknown): value is FakeBehavior {
  return typeof value === 'string' && (FAKE_BEHAVIORS as readonly string[]).includes(value);
}

function resolveSettings(
  headers: IncomingHttpHeaders,
  body: any,
  queued: FakeBehaviorSettings | undefined,
  global: FakeBehaviorSettings,
): ResolvedSettings {
  let headerSettings: FakeBehaviorSettings = {};
  const settingsHeader = header(headers, 'x-fake-settings');
  if (settingsHeader) headerSettings = JSON.parse(settingsHeader) as FakeBehaviorSettings;
  const merged: FakeBehaviorSettings = { ...global, ...queued, ...headerSettings };
  const modelSuffix =
    typeof body?.model === 'string' ? body.model.slice(body.model.lastIndexOf(':') + 1) : undefined;
  const headerBehavior = header(headers, 'x-fake-behavior');
  const behavior =
    [headerBehavior, headerSettings.behavior, modelSuffix, merged.behavior].find(isBehavior) ?? 'normal';
  return { ...merged, behavior };
}

function outputText(settings: ResolvedSettings): string {
  if (settings.behavior === 'empty') return '';
  if (settings.outputWordCount !== undefined) {
    return Array.from({ length: settings.outputWordCount }, (_, index) => `word${index + 1}`).join(' ');
  }
  return settings.outputText ?? DEFAULT_OUTPUT_TEXT;
}

/** Word-sized stream pieces that keep their trailing spaces, so the pieces join back into the text. */
function textPieces(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

interface PlannedAnswer {
  pieces: string[];
  truncated: boolean;
  tool: { id: string; name: string; arguments: string } | null;
  usage: Required<FakeUsage>;
}

/** What to answer: the text (cut at the request's token limit, one token per word), a tool call, usage. */
function planAnswer(
  settings: ResolvedSettings,
  body: any,
  maxTokens: number | undefined,
  forcedTool: string | null,
) {
  let pieces = textPieces(outputText(settings));
  let truncated = false;
  if (typeof maxTokens === 'number' && pieces.length > maxTokens) {
    pieces = pieces.slice(0, maxTokens);
    truncated = true;
  }
  const tools = Array.isArray(body?.tools) ? body.tools : [];
  const firstToolName =
    tools.length > 0 ? String(tools[0]?.function?.name ?? tools[0]?.name ?? 'tool') : null;
  const toolName = forcedTool ?? (settings.toolCall ? firstToolName : null);
  const tool = toolName
    ? {
        id: randomUUID().replaceAll('-', '').slice(0, 24),
        name: toolName,
        arguments: JSON.stringify(settings.toolArguments ?? DEFAULT_TOOL_ARGUMENTS),
      }
    : null;
  const wordCount = pieces.filter((piece) => piece.trim().length > 0).length;
  const usage: Required<FakeUsage> = {
    input_tokens: settings.usage?.input_tokens ?? DEFAULT_INPUT_TOKENS,
    output_tokens: settings.usage?.output_tokens ?? wordCount + (tool ? 5 : 0),
    cached_input_tokens: settings.usage?.cached_input_tokens ?? 0,
  };
  return { pieces, truncated, tool, usage } satisfies PlannedAnswer;
}

// ───────────────────────────── transport helpers ─────────────────────────────

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

function sendFile(response: ServerResponse, path: string): void {
  const bytes = Buffer.from(`fake file ${path}`);
  const type = path.endsWith('.mp4') ? 'video/mp4' : 'image/jpeg';
  response.writeHead(200, { 'content-type': type, 'content-length': bytes.length });
  response.end(bytes);
}

function startSse(response: ServerResponse, headers: Record<string, string> = {}): void {
  response.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...headers,
  });
  response.flushHeaders();
}

/** The usage object to send: the planned one, or `rawUsage` as given (undefined: leave it out). */
function usageToSend(settings: ResolvedSettings, planned: object): unknown {
  if (!('rawUsage' in settings)) return planned;
  return settings.rawUsage === null ? undefined : settings.rawUsage;
}

/**
 * Writes frames one by one, pausing between them when asked. Stops early (returning false) when the
 * client has gone, or — for `stream_then_error` — destroys the socket after `cutAfter` frames.
 */
async function writeFrames(exchange: Exchange, frames: string[], cutAfter?: number): Promise<boolean> {
  const { response, settings } = exchange;
  const pause =
    settings.behavior === 'slow_stream'
      ? (settings.chunkDelayMilliseconds ?? DEFAULT_CHUNK_DELAY_MILLISECONDS)
      : 0;
  for (let index = 0; index < frames.length; index += 1) {
    if (response.destroyed) return false;
    if (cutAfter !== undefined && index >= cutAfter) {
      response.socket?.destroy();
      return false;
    }
    if (settings.pauseAfterFrames !== undefined && index === settings.pauseAfterFrames) {
      await Promise.race([exchange.resumed(), new Promise((resolve) => response.once('close', resolve))]);
      if (response.destroyed) return false;
    }
    // Waiting for each write to reach the socket keeps frames apart on the wire, and makes sure the
    // frames before a `stream_then_error` cut are really delivered before the socket dies.
    await new Promise<void>((resolve) => response.write(frames[index], () => resolve()));
    if (pause > 0) await delay(pause);
  }
  return !response.destroyed;
}

/** Handles the behaviors that answer before any content: errors, hangs, cut sockets. True if handled. */
function answeredEarly(exchange: Exchange, dialect: 'openai' | 'anthropic', streaming: boolean): boolean {
  const { response, settings } = exchange;
  const errorFor = (status: number, openAiType: string, anthropicType: string, message: string) =>
    dialect === 'openai'
      ? { error: { message, type: openAiType, param: null, code: status === 401 ? 'invalid_api_key' : null } }
      : { type: 'error', error: { type: anthropicType, message } };
  switch (settings.behavior) {
    case 'error500':
      sendJson(response, 500, errorFor(500, 'server_error', 'api_error', 'The fake upstream had an error.'));
      return true;
    case 'error429':
      sendJson(
        response,
        429,
        errorFor(429, 'rate_limit_error', 'rate_limit_error', 'Rate limited by the fake.'),
        {
          'retry-after': '1',
        },
      );
      return true;
    case 'error401':
      sendJson(
        response,
        401,
        errorFor(401, 'invalid_request_error', 'authentication_error', 'Invalid API key.'),
      );
      return true;
    case 'error401_echo':
      sendJson(
        response,
        401,
        errorFor(
          401,
          'invalid_request_error',
          'authentication_error',
          `Incorrect API key provided: ${exchange.recorded.credential}. Check the key and retry.`,
        ),
        { 'x-echoed-key': String(exchange.recorded.credential) },
      );
      return true;
    case 'hang':
      return true;
    case 'stream_then_error':
      if (!streaming) {
        response.socket?.destroy();
        return true;
      }
      return false;
    default:
      return false;
  }
}

// ───────────────────────────── OpenAI ─────────────────────────────

function openAiUsage(usage: Required<FakeUsage>) {
  const prompt = usage.input_tokens + usage.cached_input_tokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.output_tokens,
    total_tokens: prompt + usage.output_tokens,
    prompt_tokens_details: { cached_tokens: usage.cached_input_tokens, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function forcedOpenAiTool(body: any): string | null {
  const tools = Array.isArray(body?.tools) ? body.tools : [];
  if (tools.length === 0) return null;
  if (body.tool_choice === 'required') return String(tools[0]?.function?.name);
  if (body.tool_choice?.type === 'function') return String(body.tool_choice.function?.name);
  return null;
}

async function openAiChat(exchange: Exchange): Promise<void> {
  const { response, settings } = exchange;
  const body = exchange.recorded.body ?? {};
  const streaming = body.stream === true;
  if (answeredEarly(exchange, 'openai', streaming)) return;
  const answer = planAnswer(
    settings,
    body,
    body.max_completion_tokens ?? body.max_tokens,
    forcedOpenAiTool(body),
  );
  // `n` answers, each the same; the usage sums them (as OpenAI's does) unless the settings fix it.
  const choiceCount = Number.isInteger(body.n) && body.n > 1 ? (body.n as number) : 1;
  if (settings.usage?.output_tokens === undefined) answer.usage.output_tokens *= choiceCount;
  const indexes = Array.from({ length: choiceCount }, (_, index) => index);
  const id = `chatcmpl-${randomUUID().replaceAll('-', '')}`;
  const created = Math.floor(Date.now() / 1000);
  const model = String(body.model ?? 'fake-model');
  const finishReason = answer.tool ? 'tool_calls' : answer.truncated ? 'length' : 'stop';
  const text = answer.pieces.join('');
  const toolCall = answer.tool
    ? {
        id: `call_${answer.tool.id}`,
        type: 'function',
        function: { name: answer.tool.name, arguments: answer.tool.arguments },
      }
    : null;
  const usage = usageToSend(settings, openAiUsage(answer.usage));

  if (!streaming) {
    sendJson(
      response,
      200,
      {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: indexes.map((index) => ({
          index,
          message: {
            role: 'assistant',
            content: toolCall ? null : text,
            refusal: null,
            annotations: [],
            ...(toolCall ? { tool_calls: [toolCall] } : {}),
          },
          logprobs: null,
          finish_reason: finishReason,
        })),
        ...(usage === undefined ? {} : { usage }),
        service_tier: 'default',
        system_fingerprint: 'fp_fake',
      },
      settings.responseHeaders,
    );
    return;
  }

  const includeUsage = body.stream_options?.include_usage === true && settings.behavior !== 'stream_no_usage';
  const chunk = (choices: unknown[], chunkUsage?: unknown) =>
    `data: ${JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      service_tier: 'default',
      system_fingerprint: 'fp_fake',
      choices,
      ...(includeUsage ? { usage: chunkUsage ?? null } : {}),
    })}\n\n`;
  const delta = (value: object, finish: string | null = null) =>
    chunk(indexes.map((index) => ({ index, delta: value, logprobs: null, finish_reason: finish })));

  const frames = [delta({ role: 'assistant', content: '', refusal: null })];
  if (toolCall) {
    const half = Math.ceil(toolCall.function.arguments.length / 2);
    frames.push(
      delta({
        tool_calls: [
          {
            index: 0,
            id: toolCall.id,
            type: 'function',
            function: { name: toolCall.function.name, arguments: '' },
          },
        ],
      }),
      delta({
        tool_calls: [{ index: 0, function: { arguments: toolCall.function.arguments.slice(0, half) } }],
      }),
      delta({ tool_calls: [{ index: 0, function: { arguments: toolCall.function.arguments.slice(half) } }] }),
    );
  } else {
    for (const piece of answer.pieces) frames.push(delta({ content: piece }));
  }
  if (settings.behavior === 'stream_error_echo') {
    const cut = 1 + (settings.chunksBeforeError ?? 2);
    frames.splice(
      cut,
      frames.length,
      `data: ${JSON.stringify({
        error: {
          message: `Incorrect API key provided: ${exchange.recorded.credential}`,
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      })}\n\n`,
    );
  } else {
    frames.push(delta({}, finishReason));
    if (includeUsage && usage !== undefined) frames.push(chunk([], usage));
    if (!settings.omitEndMarker) frames.push('data: [DONE]\n\n');
  }

  startSse(response, settings.responseHeaders);
  const cutAfter =
    settings.behavior === 'stream_then_error' ? 1 + (settings.chunksBeforeError ?? 2) : undefined;
  if (await writeFrames(exchange, frames, cutAfter)) response.end();
}

// ───────────────────────────── OpenAI Responses ─────────────────────────────

/** Parameters of Chat Completions that the Responses API refuses (as OpenAI does: 400 unsupported). */
const CHAT_ONLY_PARAMETERS = [
  'messages',
  'max_tokens',
  'max_completion_tokens',
  'n',
  'stream_options',
  'functions',
];

/** What OpenAI refuses before generating anything: the same checks, the same 400 shape. */
function responsesRequestProblem(
  body: any,
  storedItems: Map<string, any>,
): { message: string; param: string | null } | null {
  if (typeof body !== 'object' || body === null)
    return { message: 'We could not parse the JSON body.', param: null };
  if (typeof body.model !== 'string' || body.model.length === 0)
    return { message: "Missing required parameter: 'model'.", param: 'model' };
  for (const field of CHAT_ONLY_PARAMETERS) {
    if (field in body) return { message: `Unsupported parameter: '${field}'.`, param: field };
  }
  if (body.input === undefined && body.previous_response_id === undefined)
    return { message: "Missing required parameter: 'input'.", param: 'input' };
  if (body.max_output_tokens !== undefined && body.max_output_tokens !== null) {
    if (!Number.isInteger(body.max_output_tokens) || body.max_output_tokens < 16)
      return {
        message: "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16.",
        param: 'max_output_tokens',
      };
  }
  const tools = Array.isArray(body.tools) ? body.tools : [];
  for (let index = 0; index < tools.length; index += 1) {
    const tool = tools[index];
    if (tool?.type === 'function' && (typeof tool.name !== 'string' || tool.name.length === 0))
      return {
        message: `Missing required parameter: 'tools[${index}].name'.`,
        param: `tools[${index}].name`,
      };
    if (tool?.type === 'function' && tool.function !== undefined)
      return { message: `Unknown parameter: 'tools[${index}].function'.`, param: `tools[${index}].function` };
  }
  // Without a stored response, every tool output answers a call made earlier in the same input.
  const calls = new Set<string>();
  const items = Array.isArray(body.input) ? body.input : [];
  for (let index = 0; index < items.length; index += 1) {
    const item = items[index];
    if (typeof item !== 'object' || item === null)
      return { message: `Invalid type for 'input[${index}]'.`, param: `input[${index}]` };
    if (item.type === 'item_reference') {
      const stored = storedItems.get(item.id);
      if (!stored) return { message: `Item with id '${item.id}' not found.`, param: 'input' };
      if (stored.type === 'function_call') calls.add(stored.call_id);
      continue;
    }
    if (item.type === 'function_call') {
      if (
        typeof item.call_id !== 'string' ||
        typeof item.name !== 'string' ||
        typeof item.arguments !== 'string'
      )
        return {
          message: `Missing required parameter: 'input[${index}].call_id'.`,
          param: `input[${index}]`,
        };
      calls.add(item.call_id);
    }
    if (item.type === 'function_call_output') {
      if (body.previous_response_id === undefined && !calls.has(item.call_id))
        return {
          message: `No tool call found for function call output with call_id ${item.call_id}.`,
          param: 'input',
        };
      if (typeof item.output !== 'string' && !Array.isArray(item.output))
        return {
          message: `Missing required parameter: 'input[${index}].output'.`,
          param: `input[${index}].output`,
        };
    }
    const isMessage = item.type === undefined || item.type === 'message';
    if (isMessage && !['user', 'assistant', 'system', 'developer'].includes(item.role))
      return {
        message: `Invalid value: '${item.role}'. Supported values are: 'assistant', 'system', 'developer', and 'user'.`,
        param: `input[${index}].role`,
      };
  }
  return null;
}

function forcedResponsesTool(body: any): string | null {
  const tools = Array.isArray(body?.tools) ? body.tools.filter((tool: any) => tool?.type === 'function') : [];
  if (tools.length === 0) return null;
  if (body.tool_choice === 'required') return String(tools[0]?.name);
  if (body.tool_choice?.type === 'function') return String(body.tool_choice.name);
  return null;
}

function responsesUsage(usage: Required<FakeUsage>) {
  const input = usage.input_tokens + usage.cached_input_tokens;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage.cached_input_tokens },
    output_tokens: usage.output_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + usage.output_tokens,
  };
}

async function openAiResponses(exchange: Exchange, storedItems: Map<string, any>): Promise<void> {
  const { response, settings } = exchange;
  const body = exchange.recorded.body;
  const problem = responsesRequestProblem(body, storedItems);
  if (problem) {
    sendJson(response, 400, {
      error: { message: problem.message, type: 'invalid_request_error', param: problem.param, code: null },
    });
    return;
  }
  const streaming = body.stream === true;
  if (answeredEarly(exchange, 'openai', streaming)) return;
  const answer = planAnswer(settings, body, body.max_output_tokens ?? undefined, forcedResponsesTool(body));
  if (answer.tool && !forcedResponsesTool(body)) {
    // planAnswer reads Chat Completions' nested tools; Responses tools are flat.
    answer.tool.name = String(
      body.tools.find((tool: any) => tool?.type === 'function')?.name ?? answer.tool.name,
    );
  }
  const id = `resp_${randomUUID().replaceAll('-', '')}`;
  const created = Math.floor(Date.now() / 1000);
  const model = String(body.model);
  const text = answer.pieces.join('');
  const messageId = `msg_${randomUUID().replaceAll('-', '')}`;
  const output: any[] = [];
  // A model may say something before it calls a tool: the text comes first, as its own message item.
  if (text.length > 0 && (!answer.tool || settings.toolCallWithText)) {
    output.push({
      type: 'message',
      id: messageId,
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
    });
  }
  if (answer.tool) {
    output.push({
      type: 'function_call',
      id: `fc_${answer.tool.id}`,
      call_id: `call_${answer.tool.id}`,
      name: answer.tool.name,
      arguments: answer.tool.arguments,
      status: 'completed',
    });
  }
  if (body.store !== false) for (const item of output) storedItems.set(item.id, item);
  const usage = usageToSend(settings, responsesUsage(answer.usage));
  const envelope = (status: string) => ({
    id,
    object: 'response',
    created_at: created,
    status,
    background: false,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    model,
    output: [] as any[],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: null },
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: body.text ?? { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    usage: null as unknown,
    user: null,
  });
  const finalStatus = answer.truncated && !answer.tool ? 'incomplete' : 'completed';
  const final = { ...envelope(finalStatus), output, usage: usage ?? null };

  if (!streaming) {
    sendJson(response, 200, final, settings.responseHeaders);
    return;
  }

  let sequence = 0;
  const event = (type: string, fields: object) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...fields, sequence_number: sequence++ })}\n\n`;
  const frames = [
    event('response.created', { response: envelope('in_progress') }),
    event('response.in_progress', { response: envelope('in_progress') }),
  ];
  output.forEach((item, outputIndex) => {
    if (item.type === 'function_call') {
      const json: string = item.arguments;
      const half = Math.ceil(json.length / 2);
      const common = { item_id: item.id, output_index: outputIndex };
      frames.push(
        event('response.output_item.added', {
          output_index: outputIndex,
          item: { ...item, arguments: '', status: 'in_progress' },
        }),
        event('response.function_call_arguments.delta', { ...common, delta: json.slice(0, half) }),
        event('response.function_call_arguments.delta', { ...common, delta: json.slice(half) }),
        event('response.function_call_arguments.done', { ...common, name: item.name, arguments: json }),
        event('response.output_item.done', { output_index: outputIndex, item }),
      );
      return;
    }
    const common = { item_id: item.id, output_index: outputIndex, content_index: 0 };
    frames.push(
      event('response.output_item.added', {
        output_index: outputIndex,
        item: { ...item, status: 'in_progress', content: [] },
      }),
      event('response.content_part.added', {
        ...common,
        part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
      }),
    );
    for (const piece of answer.pieces)
      frames.push(event('response.output_text.delta', { ...common, delta: piece, logprobs: [] }));
    frames.push(
      event('response.output_text.done', { ...common, text, logprobs: [] }),
      event('response.content_part.done', { ...common, part: item.content[0] }),
      event('response.output_item.done', { output_index: outputIndex, item }),
    );
  });
  if (settings.behavior === 'stream_error_echo') {
    frames.splice(
      3 + (settings.chunksBeforeError ?? 2),
      frames.length,
      event('error', {
        code: 'invalid_api_key',
        message: `Incorrect API key provided: ${exchange.recorded.credential}`,
        param: null,
      }),
    );
  } else if (!settings.omitEndMarker) {
    const withUsage = settings.behavior !== 'stream_no_usage';
    frames.push(
      event(finalStatus === 'completed' ? 'response.completed' : 'response.incomplete', {
        response: { ...final, usage: withUsage ? (usage ?? null) : null },
      }),
    );
  }
  startSse(response, settings.responseHeaders);
  // created, in_progress, output_item.added (and content_part.added) come before the first delta.
  const cutAfter =
    settings.behavior === 'stream_then_error' ? 4 + (settings.chunksBeforeError ?? 2) : undefined;
  if (await writeFrames(exchange, frames, cutAfter)) response.end();
}

// ───────────────────────────── Anthropic ─────────────────────────────

function forcedAnthropicTool(body: any): string | null {
  const tools = Array.isArray(body?.tools) ? body.tools : [];
  if (tools.length === 0) return null;
  if (body.tool_choice?.type === 'any') return String(tools[0]?.name);
  if (body.tool_choice?.type === 'tool') return String(body.tool_choice.name);
  return null;
}

/** Beta body fields Anthropic refuses unless the request names their beta in `anthropic-beta`. */
const ANTHROPIC_BETA_FIELDS: Record<string, string> = { context_management: 'context-management-' };

/**
 * What the real Messages API refuses before it generates anything (a 400 `invalid_request_error`):
 * no `anthropic-version`, a missing model, messages or `max_tokens`, a thinking budget below 1,024 or
 * not below `max_tokens`, a beta field without its beta header. Null when the request is valid.
 */
export function anthropicRefusal(
  headers: IncomingHttpHeaders,
  body: any,
  endpoint: 'messages' | 'count_tokens',
): string | null {
  if (!header(headers, 'anthropic-version')) return 'anthropic-version: header is required';
  if (typeof body?.model !== 'string' || body.model.length === 0) return 'model: Field required';
  if (!Array.isArray(body.messages)) return 'messages: Field required';
  if (endpoint === 'messages' && !(Number.isInteger(body.max_tokens) && body.max_tokens >= 1))
    return 'max_tokens: Field required';
  const thinking = body.thinking;
  if (thinking?.type === 'enabled') {
    const budget = thinking.budget_tokens;
    if (!Number.isInteger(budget)) return 'thinking.enabled.budget_tokens: Field required';
    if (budget < 1024) return 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024';
    if (endpoint === 'messages' && budget >= body.max_tokens)
      return '`max_tokens` must be greater than `thinking.budget_tokens`.';
  }
  const betas = (header(headers, 'anthropic-beta') ?? '').split(',').map((beta) => beta.trim());
  for (const [field, beta] of Object.entries(ANTHROPIC_BETA_FIELDS)) {
    if (body[field] !== undefined && !betas.some((named) => named.startsWith(beta)))
      return `${field}: Extra inputs are not permitted`;
  }
  return null;
}

function sendAnthropicRefusal(response: ServerResponse, message: string): void {
  sendJson(response, 400, { type: 'error', error: { type: 'invalid_request_error', message } });
}

/** Words and punctuation runs of every string in the request: the fake's deterministic token count. */
export function fakeCountTokens(value: unknown): number {
  if (typeof value === 'string') return (value.match(/\w+|[^\w\s]+/g) ?? []).length;
  if (Array.isArray(value)) return value.reduce((total: number, item) => total + fakeCountTokens(item), 0);
  if (value && typeof value === 'object')
    return Object.values(value).reduce((total: number, item) => total + fakeCountTokens(item), 0);
  return 0;
}

/** `POST /v1/messages/count_tokens`: validated like a message, answered with a deterministic count. */
function anthropicCountTokens(exchange: Exchange): void {
  const { response, settings } = exchange;
  const body = exchange.recorded.body ?? {};
  const refusal = anthropicRefusal(exchange.request.headers, body, 'count_tokens');
  if (refusal) {
    sendAnthropicRefusal(response, refusal);
    return;
  }
  if (answeredEarly(exchange, 'anthropic', false)) return;
  const counted =
    settings.usage?.input_tokens ??
    fakeCountTokens([body.system, body.messages, body.tools]) + 3 * body.messages.length;
  sendJson(response, 200, { input_tokens: counted }, settings.responseHeaders);
}

async function anthropicMessages(exchange: Exchange): Promise<void> {
  const { response, settings } = exchange;
  const body = exchange.recorded.body ?? {};
  const refusal = anthropicRefusal(exchange.request.headers, body, 'messages');
  if (refusal) {
    sendAnthropicRefusal(response, refusal);
    return;
  }
  const streaming = body.stream === true;
  if (answeredEarly(exchange, 'anthropic', streaming)) return;
  const answer = planAnswer(settings, body, body.max_tokens, forcedAnthropicTool(body));
  const id = `msg_fake${randomUUID().replaceAll('-', '').slice(0, 20)}`;
  const model = String(body.model ?? 'fake-model');
  const stopReason = answer.tool ? 'tool_use' : answer.truncated ? 'max_tokens' : 'end_turn';
  const text = answer.pieces.join('');
  const usage = {
    input_tokens: answer.usage.input_tokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: answer.usage.cached_input_tokens,
    output_tokens: answer.usage.output_tokens,
    service_tier: 'standard',
  };
  const toolBlock = answer.tool
    ? {
        type: 'tool_use',
        id: `toolu_${answer.tool.id}`,
        name: answer.tool.name,
        input: JSON.parse(answer.tool.arguments),
      }
    : null;

  const sentUsage = usageToSend(settings, usage);
  if (!streaming) {
    const content: unknown[] = [];
    if (text.length > 0) content.push({ type: 'text', text });
    if (toolBlock) content.push(toolBlock);
    sendJson(
      response,
      200,
      {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content,
        stop_reason: stopReason,
        stop_sequence: null,
        ...(sentUsage === undefined ? {} : { usage: sentUsage }),
      },
      settings.responseHeaders,
    );
    return;
  }

  const withUsage = settings.behavior !== 'stream_no_usage' && sentUsage !== undefined;
  const raw = 'rawUsage' in settings;
  const event = (type: string, fields: object = {}) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`;
  const frames = [
    event('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        ...(withUsage ? { usage: raw ? sentUsage : { ...usage, output_tokens: 1 } } : {}),
      },
    }),
  ];
  let index = 0;
  if (answer.pieces.length > 0) {
    frames.push(
      event('content_block_start', { index, content_block: { type: 'text', text: '' } }),
      event('ping'),
    );
    for (const piece of answer.pieces) {
      frames.push(event('content_block_delta', { index, delta: { type: 'text_delta', text: piece } }));
    }
    frames.push(event('content_block_stop', { index }));
    index += 1;
  }
  if (toolBlock && answer.tool) {
    const json = answer.tool.arguments;
    const half = Math.ceil(json.length / 2);
    frames.push(
      event('content_block_start', { index, content_block: { ...toolBlock, input: {} } }),
      event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } }),
      event('content_block_delta', {
        index,
        delta: { type: 'input_json_delta', partial_json: json.slice(0, half) },
      }),
      event('content_block_delta', {
        index,
        delta: { type: 'input_json_delta', partial_json: json.slice(half) },
      }),
      event('content_block_stop', { index }),
    );
  }
  if (settings.behavior === 'stream_error_echo') {
    // message_start, content_block_start and ping come before the first text delta.
    frames.splice(
      3 + (settings.chunksBeforeError ?? 2),
      frames.length,
      event('error', {
        error: {
          type: 'authentication_error',
          message: `invalid x-api-key: ${exchange.recorded.credential}`,
        },
      }),
    );
  } else {
    frames.push(
      event('message_delta', {
        delta: { stop_reason: stopReason, stop_sequence: null },
        ...(withUsage ? { usage: raw ? sentUsage : { output_tokens: answer.usage.output_tokens } } : {}),
      }),
    );
    if (!settings.omitEndMarker) frames.push(event('message_stop'));
  }

  startSse(response, settings.responseHeaders);
  // message_start, content_block_start and ping come before the first text delta.
  const cutAfter =
    settings.behavior === 'stream_then_error' ? 3 + (settings.chunksBeforeError ?? 2) : undefined;
  if (await writeFrames(exchange, frames, cutAfter)) response.end();
}

// ───────────────────────────── OpenAI embeddings ─────────────────────────────

/**
 * `POST /v1/embeddings`: refuses what OpenAI refuses (no model, an empty or missing input, more than
 * 2,048 items, a bad `encoding_format` or `dimensions`), answers one vector per item — as float lists,
 * or base64 little-endian float32 when asked (the openai SDK asks for base64 by default) — and reports
 * `usage.prompt_tokens`: the words of the texts plus the token ids given (or `usage.input_tokens`).
 */
function openAiEmbeddings(exchange: Exchange): void {
  const { response, settings } = exchange;
  const body = exchange.recorded.body ?? {};
  const refuse = (message: string, param: string): void => {
    sendJson(response, 400, { error: { message, type: 'invalid_request_error', param, code: null } });
  };
  if (typeof body.model !== 'string' || body.model.length === 0)
    return void refuse('you must provide a model parameter', 'model');
  const input = body.input;
  const items: (string | number[])[] =
    typeof input === 'string'
      ? [input]
      : Array.isArray(input) && input.length > 0 && input.every((item: unknown) => typeof item === 'number')
        ? [input as number[]]
        : Array.isArray(input)
          ? input
          : [];
  if (
    items.length === 0 ||
    items.length > 2048 ||
    !items.every((item) =>
      typeof item === 'string' ? item.length > 0 : Array.isArray(item) && item.length > 0,
    )
  )
    return void refuse("'$.input' is invalid. Please check the API reference.", 'input');
  if (body.encoding_format !== undefined && !['float', 'base64'].includes(body.encoding_format))
    return void refuse("'encoding_format' must be 'float' or 'base64'", 'encoding_format');
  if (body.dimensions !== undefined && !(Number.isInteger(body.dimensions) && body.dimensions >= 1))
    return void refuse("'dimensions' must be a positive integer", 'dimensions');
  if (answeredEarly(exchange, 'openai', false)) return;
  const dimensions = body.dimensions ?? 8;
  const vector = (index: number) =>
    Array.from({ length: dimensions }, (_, position) => Math.fround(((index + 1) * (position + 1)) / 100));
  const data = items.map((_, index) => {
    const values = vector(index);
    return {
      object: 'embedding',
      index,
      embedding:
        body.encoding_format === 'base64'
          ? Buffer.from(new Float32Array(values).buffer).toString('base64')
          : values,
    };
  });
  const counted = items.reduce(
    (total: number, item) => total + (typeof item === 'string' ? fakeCountTokens(item) : item.length),
    0,
  );
  const promptTokens = settings.usage?.input_tokens ?? counted;
  const usage = usageToSend(settings, { prompt_tokens: promptTokens, total_tokens: promptTokens });
  sendJson(
    response,
    200,
    { object: 'list', data, model: body.model, ...(usage === undefined ? {} : { usage }) },
    settings.responseHeaders,
  );
}

// ───────────────────────────── fal queue ─────────────────────────────

/** fal's status and result URLs sit under the app id: the first two segments of the model path. */
function falAppPath(modelPath: string): string {
  return modelPath.split('/').slice(0, 2).join('/');
}

function defaultFalResult(job: FalJob, baseUrl: string): unknown {
  if (VIDEO_MODEL_PATTERN.test(job.modelPath)) {
    return {
      video: {
        url: `${baseUrl}/files/${job.id}.mp4`,
        content_type: 'video/mp4',
        file_name: 'output.mp4',
        file_size: 1_048_576,
      },
      seed: 42,
    };
  }
  const count =
    Number.isInteger(job.input?.num_images) && job.input.num_images > 0 ? job.input.num_images : 1;
  return {
    images: Array.from({ length: count }, (_, index) => ({
      url: `${baseUrl}/files/${job.id}-${index}.jpg`,
      width: 1024,
      height: 1024,
      content_type: 'image/jpeg',
    })),
    timings: { inference: 0.42 },
    seed: 42,
    has_nsfw_concepts: Array.from({ length: count }, () => false),
    prompt: String(job.input?.prompt ?? ''),
  };
}

function falUrls(job: FalJob, baseUrl: string) {
  const prefix = `${baseUrl}/${falAppPath(job.modelPath)}/requests/${job.id}`;
  return { response_url: prefix, status_url: `${prefix}/status`, cancel_url: `${prefix}/cancel` };
}

function falSubmit(exchange: Exchange, jobs: Map<string, FalJob>, modelPath: string): void {
  const { response, settings, baseUrl } = exchange;
  switch (settings.behavior) {
    case 'error500':
      sendJson(response, 500, { detail: 'The fake upstream had an error.' });
      return;
    case 'error429':
      sendJson(response, 429, { detail: 'Rate limited by the fake.' }, { 'retry-after': '1' });
      return;
    case 'error401':
      // Quoting the key it was sent, as providers do: Tollgate must not pass that on.
      sendJson(response, 401, { detail: `Invalid API key: ${exchange.recorded.credential ?? ''}` });
      return;
    case 'hang':
      return;
    case 'stream_then_error':
      response.socket?.destroy();
      return;
    default:
      break;
  }
  const job: FalJob = {
    id: randomUUID(),
    modelPath,
    input: exchange.recorded.body ?? {},
    statuses: settings.falStatuses?.length ? [...settings.falStatuses] : [...DEFAULT_FAL_STATUSES],
    polls: 0,
    result: settings.falResult,
    error: settings.falError,
  };
  jobs.set(job.id, job);
  sendJson(response, 200, { request_id: job.id, ...falUrls(job, baseUrl), queue_position: 0 });
}

function currentFalStatus(job: FalJob): FalStatus {
  return job.statuses[Math.min(Math.max(job.polls - 1, 0), job.statuses.length - 1)];
}

function falRequestRoute(
  exchange: Exchange,
  jobs: Map<string, FalJob>,
  id: string,
  suffix: string | undefined,
  acceptedKeys: ReadonlySet<string>,
): void {
  const { response, baseUrl, recorded } = exchange;
  const job = jobs.get(id);
  if (!job) {
    // fal authenticates before it looks a request up: this is how a key is checked without a job.
    if (!acceptedKeys.has(recorded.credential ?? '')) {
      sendJson(response, 401, { detail: `Invalid key: ${recorded.credential ?? '(none)'}` });
      return;
    }
    sendJson(response, 404, { detail: `Request ${id} not found` });
    return;
  }
  if (suffix === '/cancel') {
    sendJson(response, 202, { status: 'CANCELLATION_REQUESTED' });
    return;
  }
  if (suffix === '/status') {
    job.polls += 1;
    const status = currentFalStatus(job);
    const urls = falUrls(job, baseUrl);
    sendJson(response, 200, {
      status,
      request_id: job.id,
      response_url: urls.response_url,
      status_url: urls.status_url,
      cancel_url: urls.cancel_url,
      logs: null,
      ...(status === 'IN_QUEUE' ? { queue_position: 0 } : {}),
      ...(status === 'COMPLETED' ? { metrics: { inference_time: 0.42 } } : {}),
      ...(status === 'FAILED' ? { error: job.error ?? 'The fake generation failed.' } : {}),
    });
    return;
  }
  const status = job.polls === 0 ? job.statuses[0] : currentFalStatus(job);
  if (status === 'COMPLETED') sendJson(response, 200, job.result ?? defaultFalResult(job, baseUrl));
  else if (status === 'FAILED') sendJson(response, 500, { detail: 'The fake generation failed.' });
  else sendJson(response, 400, { detail: 'Request is still in progress' });
}

// ───────────────────────────── key checks ─────────────────────────────

/** OpenAI's and Anthropic's model lists, which only an accepted key may read. */
function modelsKeyCheck(exchange: Exchange, acceptedKeys: ReadonlySet<string>): void {
  const { response, recorded } = exchange;
  const key = recorded.credential ?? '';
  if (recorded.apiKey !== undefined) {
    if (!header(recorded.headers, 'anthropic-version')) {
      sendJson(response, 400, {
        type: 'error',
        error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' },
      });
    } else if (!acceptedKeys.has(key)) {
      sendJson(response, 401, {
        type: 'error',
        error: { type: 'authentication_error', message: `invalid x-api-key: ${key}` },
      });
    } else {
      sendJson(response, 200, {
        data: [{ type: 'model', id: 'claude-sonnet-4-20250514', display_name: 'Claude Sonnet 4' }],
        has_more: false,
        first_id: 'claude-sonnet-4-20250514',
        last_id: 'claude-sonnet-4-20250514',
      });
    }
    return;
  }
  if (!recorded.authorization?.startsWith('Bearer ') || !acceptedKeys.has(key)) {
    sendJson(response, 401, {
      error: {
        message: `Incorrect API key provided: ${key}. You can find your API key in your account settings.`,
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
    });
    return;
  }
  sendJson(response, 200, { object: 'list', data: [{ id: 'gpt-4o', object: 'model', owned_by: 'fake' }] });
}

/** OpenRouter's `GET /api/v1/key`: what the key may spend, for an accepted key. */
function openRouterKeyCheck(exchange: Exchange, acceptedKeys: ReadonlySet<string>): void {
  const { response, recorded } = exchange;
  const key = recorded.credential ?? '';
  if (!recorded.authorization?.startsWith('Bearer ') || !acceptedKeys.has(key)) {
    sendJson(response, 401, { error: { message: `No auth credentials found for ${key}`, code: 401 } });
    return;
  }
  sendJson(response, 200, {
    data: { label: `${key.slice(0, 8)}…`, usage: 0, limit: null, is_free_tier: false },
  });
}
