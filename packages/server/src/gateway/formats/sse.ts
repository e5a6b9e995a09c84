/**
 * Server-sent events, both ways. The parser follows the WHATWG event-stream rules (LF, CRLF or lone CR
 * end a line; `data:` lines join with "\n"; `:` starts a comment; a blank line dispatches) and accepts
 * chunks split anywhere — mid-line, mid-CRLF, or mid-UTF-8 character — because upstream TCP reads are.
 */

export interface SseEvent {
  event?: string;
  data: string;
  id?: string;
  retry?: number;
}

const LINE_FEED = 10;
const CARRIAGE_RETURN = 13;

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private partialLine = '';
  /** A chunk ended in CR: if the next starts with LF, that LF belongs to the same line break. */
  private skipLeadingLineFeed = false;
  private sawFirstChunk = false;
  private dataLines: string[] = [];
  private eventName: string | undefined;
  private eventId: string | undefined;
  private retryMilliseconds: number | undefined;

  /** Feeds one chunk; returns the events it completed (often none, sometimes several). */
  push(chunk: Uint8Array | string): SseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (!this.sawFirstChunk && text.length > 0) {
      this.sawFirstChunk = true;
      // TextDecoder drops a byte-order mark itself; string input has to be handled here.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const events: SseEvent[] = [];
    this.consume(text, events);
    return events;
  }

  /**
   * Ends the stream. The spec discards an event without its closing blank line, but upstreams cut off
   * by a proxy often drop only the last newline, so a final line and a pending event are still
   * delivered — losing a usage report costs more than the rare half-written event.
   */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    const rest = this.decoder.decode();
    if (rest) this.consume(rest, events);
    if (this.partialLine.length > 0) {
      this.processLine(this.partialLine, events);
      this.partialLine = '';
    }
    this.dispatch(events);
    return events;
  }

  private consume(text: string, events: SseEvent[]): void {
    let start = 0;
    if (this.skipLeadingLineFeed && text.length > 0) {
      this.skipLeadingLineFeed = false;
      if (text.charCodeAt(0) === LINE_FEED) start = 1;
    }
    const length = text.length;
    let index = start;
    while (index < length) {
      const code = text.charCodeAt(index);
      if (code !== LINE_FEED && code !== CARRIAGE_RETURN) {
        index += 1;
        continue;
      }
      const piece = text.slice(start, index);
      const line = this.partialLine.length > 0 ? this.partialLine + piece : piece;
      this.partialLine = '';
      this.processLine(line, events);
      if (code === CARRIAGE_RETURN) {
        if (index + 1 < length) {
          if (text.charCodeAt(index + 1) === LINE_FEED) index += 1;
        } else {
          this.skipLeadingLineFeed = true;
        }
      }
      index += 1;
      start = index;
    }
    if (start < length) this.partialLine += text.slice(start);
  }

  private processLine(line: string, events: SseEvent[]): void {
    if (line.length === 0) {
      this.dispatch(events);
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' */) return;
    const colon = line.indexOf(':');
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 32 /* ' ' */ ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    switch (field) {
      case 'data':
        this.dataLines.push(value);
        break;
      case 'event':
        this.eventName = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.eventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMilliseconds = Number(value);
        break;
      default:
        break;
    }
  }

  private dispatch(events: SseEvent[]): void {
    if (this.dataLines.length === 0) {
      // Per spec an event without data is not dispatched; its name must not leak into the next one.
      this.eventName = undefined;
      return;
    }
    const event: SseEvent = {
      data: this.dataLines.length === 1 ? this.dataLines[0] : this.dataLines.join('\n'),
    };
    if (this.eventName) event.event = this.eventName;
    if (this.eventId !== undefined) event.id = this.eventId;
    if (this.retryMilliseconds !== undefined) event.retry = this.retryMilliseconds;
    events.push(event);
    this.dataLines = [];
    this.eventName = undefined;
    this.retryMilliseconds = undefined;
  }
}

/**
 * Parses a byte stream into events as they complete: a Node stream or any async iterable (undici's
 * `request().body`), or a web `ReadableStream` (`fetch().body`).
 */
export async function* parseSseStream(
  chunks: AsyncIterable<Uint8Array | string> | ReadableStream<Uint8Array>,
): AsyncGenerator<SseEvent> {
  const parser = new SseParser();
  if (Symbol.asyncIterator in chunks) {
    for await (const chunk of chunks as AsyncIterable<Uint8Array | string>) yield* parser.push(chunk);
  } else {
    const reader = (chunks as ReadableStream<Uint8Array>).getReader();
    try {
      for (let read = await reader.read(); !read.done; read = await reader.read())
        yield* parser.push(read.value);
    } finally {
      reader.releaseLock();
    }
  }
  yield* parser.end();
}

const parsedJson = new WeakMap<SseEvent, unknown>();
const NOT_JSON = Symbol('not-json');

/**
 * The event's data parsed as JSON, or `undefined` when it is not JSON (`[DONE]`, keep-alives). Cached
 * per event object, so the stream translator and the usage accumulator can both read one upstream event
 * without parsing it twice on the hot path.
 */
export function sseJson(event: SseEvent): unknown {
  const cached = parsedJson.get(event);
  if (cached !== undefined) return cached === NOT_JSON ? undefined : cached;
  let value: unknown = NOT_JSON;
  const first = event.data.charCodeAt(0);
  // Only objects and arrays are worth parsing; `[DONE]` is not valid JSON and is common.
  if (first === 123 /* { */ || (first === 91 /* [ */ && event.data !== '[DONE]')) {
    try {
      value = JSON.parse(event.data);
    } catch {
      value = NOT_JSON;
    }
  }
  parsedJson.set(event, value);
  return value === NOT_JSON ? undefined : value;
}

/** Serializes one event. Multi-line data becomes several `data:` lines, as the format requires. */
export function formatSseEvent(event: SseEvent): string {
  let frame = '';
  if (event.event) frame += `event: ${event.event}\n`;
  if (event.id !== undefined) frame += `id: ${event.id}\n`;
  if (event.retry !== undefined) frame += `retry: ${event.retry}\n`;
  const data = event.data;
  if (data.includes('\n') || data.includes('\r')) {
    for (const line of data.split(/\r\n|\r|\n/)) frame += `data: ${line}\n`;
  } else {
    frame += `data: ${data}\n`;
  }
  return `${frame}\n`;
}

/** `data: <json>` frame, optionally named — the shape of every OpenAI chunk and Anthropic event. */
export function formatSseJson(value: unknown, eventName?: string): string {
  // JSON.stringify never emits raw newlines, so the single-line fast path is always safe here.
  const json = JSON.stringify(value);
  return eventName ? `event: ${eventName}\ndata: ${json}\n\n` : `data: ${json}\n\n`;
}

/** A comment line; clients ignore it, proxies see traffic — used as a keep-alive. */
export function formatSseComment(text = ''): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

export const OPENAI_DONE_FRAME = 'data: [DONE]\n\n';
