/**
 * Test support (not exported by the package): a scripted `fetch` that records every request and
 * answers from a queue, and a `sleep` that records delays instead of waiting.
 */
import { Tollgate, type TollgateOptions } from './client.ts';

export interface RecordedRequest {
  url: string;
  method: string;
  headers: Headers;
  /** The raw body text, as sent. */
  body: string | undefined;
  /** The body parsed as JSON, when there is one. */
  json: unknown;
}

export interface ScriptedReply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A reply, an error to throw (a network failure), or a function of the request. */
export type Reply =
  | ScriptedReply
  | Error
  | ((request: RecordedRequest, signal?: AbortSignal) => Promise<Response> | Response);

export function stubFetch(replies: Reply[]) {
  const calls: RecordedRequest[] = [];
  const queue = [...replies];
  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const body = typeof init.body === 'string' ? init.body : undefined;
    const request: RecordedRequest = {
      url: String(input),
      method: init.method ?? 'GET',
      headers: new Headers(init.headers),
      body,
      json: body === undefined ? undefined : JSON.parse(body),
    };
    calls.push(request);
    const reply = queue.shift();
    if (reply === undefined) throw new Error(`unexpected request ${request.method} ${request.url}`);
    if (reply instanceof Error) throw reply;
    if (typeof reply === 'function') return reply(request, init.signal ?? undefined);
    return toResponse(reply);
  };
  return { fetch: fetch as typeof globalThis.fetch, calls, pending: () => queue.length };
}

export function toResponse(reply: ScriptedReply): Response {
  const status = reply.status ?? 200;
  const noBody = status === 204 || reply.body === undefined;
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  return new Response(noBody ? null : text, {
    status,
    headers: { 'content-type': 'application/json', 'x-request-id': 'req_test', ...reply.headers },
  });
}

/** A native error answer. */
export function errorReply(
  status: number,
  code: string,
  extra: Record<string, unknown> = {},
  headers = {},
): ScriptedReply {
  return { status, body: { error: { code, message: `${code} happened`, ...extra } }, headers };
}

/** A client over a scripted fetch, with a recording sleep. */
export function scriptedClient(replies: Reply[], options: Partial<TollgateOptions> = {}) {
  const stub = stubFetch(replies);
  const sleeps: number[] = [];
  const client = new Tollgate({
    baseUrl: 'http://tollgate.test',
    apiKey: 'tg_sk_secret',
    fetch: stub.fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  return { client, calls: stub.calls, sleeps, pending: stub.pending };
}
