import { describe, expect, it } from 'vitest';
import { decodedByteLength, ELIDED_STRING_MIN_BYTES, JsonBody, readJsonBody } from './elided-json.ts';
import { checkedMemberCount, scanObject, spliceMembers } from './raw-json.ts';
import { boundInputTokens, openAiRequestInput } from './tokens.ts';
import type { OpenAiChatRequest } from './wire-types.ts';

/** A seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x80000000;
  };
}

/**
 * JSON string text (between the quotes) spelling every kind of character every way JSON allows:
 * plain and multi-byte UTF-8, simple escapes, `\u` escapes of one, two and three UTF-8 bytes,
 * surrogate pairs written raw or escaped, lone surrogates, upper- and lower-case hex.
 */
function jsonText(length: number, next: () => number): string {
  const pieces = [
    'a',
    'word ',
    'é',
    '中',
    '😀',
    '\\n',
    '\\"',
    '\\\\',
    '\\/',
    '\\b',
    '\\f',
    '\\r',
    '\\t',
    '\\u0041',
    '\\u00e9',
    '\\u00E9',
    '\\u4e2d',
    '\\ud83d\\ude00',
    '\\uD83D\\uDE00',
    '\\ud83d',
    '\\ude00',
    '\\ud83dx',
    '\\ud83d\\u0041',
    '\\u2028',
  ];
  let text = '';
  while (text.length < length) text += pieces[Math.floor(next() * pieces.length)];
  return text;
}

describe('decodedByteLength', () => {
  it('counts what Buffer.byteLength counts of the parsed string, for every spelling', () => {
    const next = random(7);
    for (let round = 0; round < 300; round += 1) {
      const text = jsonText(Math.floor(next() * 400), next);
      const raw = Buffer.from(`"${text}"`);
      const parsed = JSON.parse(raw.toString('utf8')) as string;
      expect(decodedByteLength(raw, 1, raw.length - 1), text).toBe(Buffer.byteLength(parsed, 'utf8'));
    }
  });

  it('refuses what JSON.parse refuses or would read differently', () => {
    for (const text of [
      'a\u0001b',
      'tab\there',
      'bad \\x escape',
      'short \\u12',
      'bad hex \\u12g4',
      'end \\u',
    ]) {
      const raw = Buffer.from(`"${text}"`);
      expect(decodedByteLength(raw, 1, raw.length - 1), text).toBeNull();
    }
    // Not UTF-8: decoding would replace the byte, so the bytes would not mean what the provider reads.
    const invalid = Buffer.concat([Buffer.from('"ab'), Buffer.from([0xff, 0xfe]), Buffer.from('"')]);
    expect(decodedByteLength(invalid, 1, invalid.length - 1)).toBeNull();
  });
});

describe('decodedByteLength at every alignment', () => {
  // The word-at-a-time scan starts wherever the string's memory is aligned: a control byte or an escape
  // must be found in the bytes before the first word, in any byte of a word, and in the bytes after.
  it('agrees with JSON.parse wherever the string starts and whatever sits in any byte', () => {
    const next = random(11);
    const specials = [
      '\\n',
      '\\"',
      '\\\\',
      '\\u00e9',
      '\\ud83d\\ude00',
      '\\ud800',
      'é',
      '€',
      '\u0001',
      '\u001f',
      '\\x',
    ];
    for (let round = 0; round < 600; round += 1) {
      let text = '';
      const length = Math.floor(next() * 40);
      while (text.length < length) {
        // Quotes and backslashes only as the specials spell them: the range is always one JSON string.
        const plain = String.fromCharCode(0x20 + Math.floor(next() * 0x5f)).replace(/["\\]/, 'q');
        text += next() < 0.2 ? specials[Math.floor(next() * specials.length)] : plain;
      }
      const padding = Math.floor(next() * 8);
      const raw = Buffer.from(`${' '.repeat(padding)}"${text}"`);
      let expected: number | null;
      try {
        expected = Buffer.byteLength(JSON.parse(raw.toString('utf8')) as string, 'utf8');
      } catch {
        expected = null;
      }
      expect(decodedByteLength(raw, padding + 1, raw.length - 1), JSON.stringify(text)).toBe(expected);
    }
  });
});

describe('decodedByteLength at the end of its memory', () => {
  it('reads a short string that ends where its ArrayBuffer ends, at every offset', () => {
    for (const text of ['a', 'ab', 'abc', 'abcd', 'é', '\\n', 'abcdefg']) {
      const bytes = Buffer.from(text);
      for (let offset = 0; offset < 8; offset += 1) {
        // No pool: the bytes are the last ones of a memory of their own, at this offset.
        const memory = new ArrayBuffer(offset + bytes.length);
        const raw = Buffer.from(memory, offset, bytes.length);
        bytes.copy(raw);
        const expected = Buffer.byteLength(JSON.parse(`"${text}"`) as string);
        expect(decodedByteLength(raw, 0, raw.length), `${text} at ${offset}`).toBe(expected);
      }
    }
  });
});

const LONG = 'x'.repeat(ELIDED_STRING_MIN_BYTES);

describe('readJsonBody', () => {
  it('parses a short body as JSON.parse does, cutting nothing', () => {
    const read = readJsonBody(Buffer.from('{"model":"m","messages":[{"role":"user","content":"hi"}]}'));
    expect(read.elided).toBeNull();
    expect(read.value).toEqual({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
  });

  it('cuts out the long values of text keys, each counted as the bytes it decodes to', () => {
    const next = random(3);
    const content = jsonText(20_000, next);
    const description = jsonText(3_000, next);
    const text = `{"model":"m","messages":[{"role":"user","content":"${content}"},{"role":"user","content":"short"}],"tools":[{"type":"function","function":{"name":"f","description":"${description}","parameters":{"type":"object"}}}]}`;
    const raw = Buffer.from(text);
    const whole = JSON.parse(text) as Record<string, any>;
    const read = readJsonBody(raw);
    expect(read.elided?.count).toBe(2);
    const value = read.value as Record<string, any>;
    // Everything else is what JSON.parse reads; the long texts are placeholders standing for their bytes.
    expect({ ...value, messages: value.messages.slice(1), tools: undefined }).toEqual({
      ...whole,
      messages: whole.messages.slice(1),
      tools: undefined,
    });
    expect(value.messages[0].content).toMatch(/^tg-elided-[0-9a-f]+-0~$/);
    expect(read.elided!.byteLength(value.messages[0].content)).toBe(
      Buffer.byteLength(whole.messages[0].content as string),
    );
    expect(read.elided!.byteLength(value.tools[0].function.description)).toBe(
      Buffer.byteLength(whole.tools[0].function.description as string),
    );
    expect(read.full()).toEqual(whole);
    // The bound is the one the whole body gives.
    expect(
      boundInputTokens(openAiRequestInput(value as OpenAiChatRequest), (piece) =>
        read.elided!.byteLength(piece),
      ),
    ).toBe(boundInputTokens(openAiRequestInput(whole as OpenAiChatRequest)));
  });

  it('counts placeholders inside a serialised object as the strings they replaced', () => {
    const raw = Buffer.from(`{"input":{"content":"${LONG}","n":1}}`);
    const read = readJsonBody(raw);
    const serialised = JSON.stringify(read.value);
    expect(read.elided!.byteLength(serialised)).toBe(
      Buffer.byteLength(JSON.stringify(JSON.parse(raw.toString()))),
    );
    // Text without a placeholder counts its own bytes; a made-up index counts as written.
    expect(read.elided!.byteLength('héllo')).toBe(6);
    const forged = `${read.elided!.marker}7~`;
    expect(read.elided!.byteLength(forged)).toBe(forged.length);
  });

  it('never cuts out a value that decides anything, a value in an array, or a key spelled with escapes', () => {
    for (const text of [
      `{"model":"${LONG}"}`,
      `{"type":"${LONG}"}`,
      `{"name":"${LONG}"}`,
      `{"content":["${LONG}"]}`,
      `{"cont\\u0065nt":"${LONG}"}`,
      `{"contents":"${LONG}"}`,
    ]) {
      const read = readJsonBody(Buffer.from(text));
      expect(read.elided, text).toBeNull();
      expect(read.value).toEqual(JSON.parse(text));
    }
  });

  it('refuses what JSON.parse refuses, with the long strings cut out or not', () => {
    for (const text of [
      `{"content":"${LONG}",}`,
      `{"content":"${LONG}"} trailing`,
      `{"content":"${LONG}\u0001"}`,
      `{"content":"${LONG}\\q"}`,
      `{"content":"${LONG}"`,
      `{"content": x"${LONG}"}`,
      `["content":"${LONG}"]`,
    ]) {
      expect(() => JSON.parse(text), text).toThrow(SyntaxError);
      expect(() => readJsonBody(Buffer.from(text)), text).toThrow(SyntaxError);
    }
  });

  it('reads bytes that are not UTF-8 as JSON.parse of the decoded text does, cutting nothing', () => {
    const raw = Buffer.concat([Buffer.from(`{"content":"${LONG}`), Buffer.from([0xc3]), Buffer.from('"}')]);
    const read = readJsonBody(raw);
    expect(read.elided).toBeNull();
    expect(read.value).toEqual(JSON.parse(raw.toString('utf8')));
  });

  it('draws a new marker for every body', () => {
    const raw = Buffer.from(`{"content":"${LONG}"}`);
    expect(readJsonBody(raw).elided!.marker).not.toBe(readJsonBody(raw).elided!.marker);
  });

  it('is never forwarded: a member that must be rewritten and holds a placeholder refuses the splice', () => {
    const raw = Buffer.from(`{"model":"m","thinking":{"type":"enabled","text":"${LONG}"},"messages":[]}`);
    const read = readJsonBody(raw);
    const value = read.value as Record<string, unknown>;
    const forwarded = { ...value, model: 'upstream' };
    const scanned = scanObject(raw)!;
    expect(
      spliceMembers(raw, scanned, checkedMemberCount(value), value, forwarded, read.elided!.marker),
    ).toBeNull();
    // Members copied from the client's bytes carry the text itself.
    const plain = Buffer.from(`{"model":"m","messages":[{"role":"user","content":"${LONG}"}]}`);
    const plainRead = readJsonBody(plain);
    const plainValue = plainRead.value as Record<string, unknown>;
    const spliced = spliceMembers(
      plain,
      scanObject(plain)!,
      checkedMemberCount(plainValue),
      plainValue,
      { ...plainValue, model: 'upstream' },
      plainRead.elided!.marker,
    );
    expect(JSON.parse(spliced!.toString())).toEqual({
      ...(JSON.parse(plain.toString()) as object),
      model: 'upstream',
    });
  });

  it('wraps a body parsed elsewhere as itself', () => {
    const body = { model: 'm' };
    const read = new JsonBody(body);
    expect(read.value).toBe(body);
    expect(read.full()).toBe(body);
  });
});
