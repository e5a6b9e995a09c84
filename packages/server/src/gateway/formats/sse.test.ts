import { describe, expect, it } from 'vitest';
import {
  formatSseComment,
  formatSseEvent,
  formatSseJson,
  parseSseStream,
  type SseEvent,
  SseParser,
  sseJson,
} from './sse.ts';

/** Feeds `bytes` to a fresh parser in pieces cut at `cuts` and returns every event. */
function parseInPieces(bytes: Uint8Array, cuts: number[]): SseEvent[] {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    events.push(...parser.push(bytes.subarray(start, cut)));
    start = cut;
  }
  events.push(...parser.end());
  return events;
}

const ANTHROPIC_SAMPLE = [
  'event: message_start\r\ndata: {"type":"message_start","message":{"id":"msg_1"}}\r\n\r\n',
  'event: ping\r\ndata: {"type":"ping"}\r\n\r\n',
  'event: content_block_delta\r\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"héllo — 日本 🎉"}}\r\n\r\n',
  'event: message_stop\r\ndata: {"type":"message_stop"}\r\n\r\n',
].join('');

describe('SseParser', () => {
  it('parses named events and unnamed data events', () => {
    const parser = new SseParser();
    const events = parser.push('event: ping\ndata: {"type":"ping"}\n\ndata: {"a":1}\n\ndata: [DONE]\n\n');
    expect(events).toEqual([
      { event: 'ping', data: '{"type":"ping"}' },
      { data: '{"a":1}' },
      { data: '[DONE]' },
    ]);
  });

  it('gives the same events however the bytes are split, including inside CRLF and UTF-8 characters', () => {
    const bytes = new TextEncoder().encode(ANTHROPIC_SAMPLE);
    const whole = parseInPieces(bytes, []);
    expect(whole).toHaveLength(4);
    expect(JSON.parse(whole[2].data).delta.text).toBe('héllo — 日本 🎉');
    // Every single cut position, then every pair of cuts in a stride — covers \r|\n and multi-byte splits.
    for (let cut = 1; cut < bytes.length; cut += 1) expect(parseInPieces(bytes, [cut])).toEqual(whole);
    for (let first = 1; first < bytes.length; first += 7) {
      for (let second = first + 1; second < bytes.length; second += 5) {
        expect(parseInPieces(bytes, [first, second])).toEqual(whole);
      }
    }
    // One byte at a time.
    expect(
      parseInPieces(
        bytes,
        Array.from({ length: bytes.length - 1 }, (_, index) => index + 1),
      ),
    ).toEqual(whole);
  });

  it('treats LF, CRLF and lone CR as line ends', () => {
    for (const newline of ['\n', '\r\n', '\r']) {
      const parser = new SseParser();
      const text = `event: a${newline}data: 1${newline}${newline}data: 2${newline}${newline}`;
      expect(parser.push(text)).toEqual([{ event: 'a', data: '1' }, { data: '2' }]);
    }
  });

  it('does not read a CR at the end of one chunk and an LF at the start of the next as two line ends', () => {
    const parser = new SseParser();
    expect(parser.push('data: 1\r')).toEqual([]);
    // If the LF were a second line end, the event would be dispatched here already.
    expect(parser.push('\ndata: 2\r\n\r\n')).toEqual([{ data: '1\n2' }]);
  });

  it('joins multi-line data, skips comments, strips one leading space and keeps id and retry', () => {
    const parser = new SseParser();
    const events = parser.push(': keep-alive\nid: 7\nretry: 1500\ndata:first\ndata:  second\nunknown: x\n\n');
    expect(events).toEqual([{ data: 'first\n second', id: '7', retry: 1500 }]);
  });

  it('drops an event with no data and does not leak its name into the next event', () => {
    const parser = new SseParser();
    expect(parser.push('event: lonely\n\ndata: x\n\n')).toEqual([{ data: 'x' }]);
  });

  it('strips a leading byte-order mark from string input', () => {
    expect(new SseParser().push('\uFEFFdata: x\n\n')).toEqual([{ data: 'x' }]);
  });

  it('delivers a last event whose closing blank line never came', () => {
    const parser = new SseParser();
    expect(parser.push('data: {"usage":1}\n')).toEqual([]);
    expect(parser.end()).toEqual([{ data: '{"usage":1}' }]);
    const unterminated = new SseParser();
    unterminated.push('data: tail');
    expect(unterminated.end()).toEqual([{ data: 'tail' }]);
  });

  it('parses an async byte stream', async () => {
    async function* body() {
      const bytes = new TextEncoder().encode(ANTHROPIC_SAMPLE);
      for (let index = 0; index < bytes.length; index += 13) yield bytes.subarray(index, index + 13);
    }
    const events: SseEvent[] = [];
    for await (const event of parseSseStream(body())) events.push(event);
    expect(events.map((event) => event.event)).toEqual([
      'message_start',
      'ping',
      'content_block_delta',
      'message_stop',
    ]);
  });

  it('parses a web ReadableStream, as fetch() returns', async () => {
    const bytes = new TextEncoder().encode(ANTHROPIC_SAMPLE);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let index = 0; index < bytes.length; index += 17)
          controller.enqueue(bytes.subarray(index, index + 17));
        controller.close();
      },
    });
    const events: SseEvent[] = [];
    for await (const event of parseSseStream(body)) events.push(event);
    expect(events).toHaveLength(4);
  });
});

describe('sseJson', () => {
  it('parses JSON data once per event and returns undefined for non-JSON', () => {
    const event = { data: '{"a":1}' };
    const first = sseJson(event);
    expect(first).toEqual({ a: 1 });
    expect(sseJson(event)).toBe(first);
    expect(sseJson({ data: '[DONE]' })).toBeUndefined();
    expect(sseJson({ data: '{broken' })).toBeUndefined();
    expect(sseJson({ data: '' })).toBeUndefined();
  });
});

describe('SSE writer', () => {
  it('writes frames the parser reads back', () => {
    const frames = [
      formatSseEvent({ event: 'message_stop', data: '{"type":"message_stop"}' }),
      formatSseEvent({ data: 'line one\nline two', id: '3' }),
      formatSseJson({ text: 'with\nnewline' }, 'named'),
      formatSseComment('keep\nalive'),
      formatSseJson({ plain: true }),
    ].join('');
    expect(new SseParser().push(frames)).toEqual([
      { event: 'message_stop', data: '{"type":"message_stop"}' },
      { data: 'line one\nline two', id: '3' },
      // The last event id carries over to later events, as the spec says.
      { event: 'named', data: '{"text":"with\\nnewline"}', id: '3' },
      { data: '{"plain":true}', id: '3' },
    ]);
  });

  it('formats OpenAI data frames and Anthropic named frames exactly', () => {
    expect(formatSseJson({ a: 1 })).toBe('data: {"a":1}\n\n');
    expect(formatSseJson({ type: 'ping' }, 'ping')).toBe('event: ping\ndata: {"type":"ping"}\n\n');
  });
});
