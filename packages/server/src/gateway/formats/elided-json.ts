/**
 * A gateway request body read without materialising its long text. An agent's turn or a long-context
 * prompt is 100–400 KB, almost all of it a few long strings that the gateway only needs the size of
 * (the hold's bound counts UTF-8 bytes) and forwards untouched (`raw-json.ts` copies the client's bytes).
 * Decoding them anyway costs more CPU than a whole proxied call: a V8 string above ~128 KB is allocated
 * in fresh pages of its own, so `toString` and `JSON.parse` of a 400 KB body each fault in ~100 pages.
 *
 * So the long values of text keys are cut out before parsing: the parsed body (`value`) holds a
 * placeholder in their place, and `ElidedStrings` knows each one's exact decoded UTF-8 length.
 * - Only the values of `ELIDABLE_KEYS` are cut out: text that is counted by size and passed on, never a
 *   value whose content decides anything (a type, a role, a model id, a detail, a name).
 * - A cut-out string is checked as `JSON.parse` would check it (no raw control character, valid escapes,
 *   valid UTF-8); any doubt and the whole body is parsed as usual, so what is accepted and what it
 *   means never change, only what it costs to read.
 * - The placeholders name a random marker drawn for each body, so a client cannot spell one. Were one
 *   spelled, `byteLength` would count a long string's bytes for it: more, never less.
 * - Whatever needs the text itself (a translated call, the tokenizer's estimate) asks for `full()`.
 */
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { skipWhitespace, stringEnd } from './raw-json.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const NO_WORDS = new Uint32Array(0);

/** Shorter strings are parsed as usual: cutting them out saves less than it costs. */
export const ELIDED_STRING_MIN_BYTES = 1024;

/** Keys whose string values are text the gateway only counts and forwards. */
const ELIDABLE_KEYS: ReadonlySet<string> = new Set([
  'content', // messages, tool results
  'text', // content parts and blocks
  'system', // Anthropic's system prompt
  'description', // tool definitions
  'arguments', // OpenAI tool calls (a JSON string)
  'thinking', // Anthropic thinking blocks
  'signature', // and their signatures
  'data', // base64 images and documents, redacted thinking
  'url', // data URLs of inline images
  'refusal',
]);

/** Longest key compared with ELIDABLE_KEYS; a longer key is none of them. */
const LONGEST_ELIDABLE_KEY = 16;

/** The long strings cut out of one body, and what each stood for. */
export class ElidedStrings {
  /** Every placeholder is `marker`, its index, then `~`: ASCII, so JSON.stringify keeps it as it is. */
  readonly marker: string;
  private readonly byteLengths: number[] = [];

  constructor() {
    this.marker = `tg-elided-${randomBytes(9).toString('hex')}-`;
  }

  get count(): number {
    return this.byteLengths.length;
  }

  /** Registers a cut-out string of `byteLength` decoded UTF-8 bytes; answers its placeholder. */
  add(byteLength: number): string {
    this.byteLengths.push(byteLength);
    return `${this.marker}${this.byteLengths.length - 1}~`;
  }

  /**
   * The UTF-8 bytes `text` stands for: its own, with every placeholder in it (a text can be an object
   * serialised with cut-out strings inside) counted as the string it replaced.
   */
  byteLength(text: string): number {
    let total = Buffer.byteLength(text, 'utf8');
    let at = text.indexOf(this.marker);
    while (at !== -1) {
      const indexStart = at + this.marker.length;
      const close = text.indexOf('~', indexStart);
      if (close === -1) break;
      const digits = text.slice(indexStart, close);
      const byteLength = /^\d{1,9}$/.test(digits) ? this.byteLengths[Number(digits)] : undefined;
      if (byteLength !== undefined) total += byteLength - (close + 1 - at);
      at = text.indexOf(this.marker, close + 1);
    }
    return total;
  }
}

/** A parsed body, possibly with long text values cut out (`readJsonBody`). */
export class JsonBody {
  private whole: unknown;
  private parsedWhole = false;

  constructor(
    /** The parsed body; with `elided`, long text values are placeholders. */
    readonly value: unknown,
    /** Null when nothing was cut out: `value` is the body itself. */
    readonly elided: ElidedStrings | null = null,
    private readonly raw: Buffer | null = null,
  ) {}

  /** The body parsed whole: `value` when nothing was cut out, else the bytes parsed again (once). */
  full(): unknown {
    if (this.elided === null || this.raw === null) return this.value;
    if (!this.parsedWhole) this.whole = JSON.parse(this.raw.toString('utf8'));
    this.parsedWhole = true;
    return this.whole;
  }
}

function wholeBody(raw: Buffer): JsonBody {
  return new JsonBody(JSON.parse(raw.toString('utf8')));
}

/**
 * Parses a JSON body, cutting out the long values of text keys (see above). Throws `SyntaxError` for
 * bytes that are not JSON, as `JSON.parse` does.
 */
export function readJsonBody(raw: Buffer): JsonBody {
  if (raw.length < ELIDED_STRING_MIN_BYTES) return wholeBody(raw);
  const elided = new ElidedStrings();
  const pieces: Buffer[] = [];
  let copiedTo = 0;
  let key: string | null = null;
  let keyValueStart = -1;
  let position = 0;
  for (;;) {
    const start = raw.indexOf(QUOTE, position);
    if (start === -1) break;
    const end = stringEnd(raw, start);
    // Not JSON: the parse below refuses it.
    if (end === -1) break;
    const after = skipWhitespace(raw, end);
    if (raw[after] === COLON) {
      // A key. An escape in it keeps its backslash here, so it can never match ELIDABLE_KEYS.
      key = end - start - 2 <= LONGEST_ELIDABLE_KEY ? raw.toString('latin1', start + 1, end - 1) : null;
      keyValueStart = skipWhitespace(raw, after + 1);
      position = after + 1;
      continue;
    }
    if (
      key !== null &&
      start === keyValueStart &&
      end - start >= ELIDED_STRING_MIN_BYTES &&
      ELIDABLE_KEYS.has(key)
    ) {
      const byteLength = decodedByteLength(raw, start + 1, end - 1);
      // Anything JSON.parse would refuse or read differently: parse it whole, as before.
      if (byteLength === null) return wholeBody(raw);
      pieces.push(raw.subarray(copiedTo, start), Buffer.from(`"${elided.add(byteLength)}"`, 'latin1'));
      copiedTo = end;
    }
    key = null;
    position = end;
  }
  if (elided.count === 0) return wholeBody(raw);
  pieces.push(raw.subarray(copiedTo));
  return new JsonBody(JSON.parse(Buffer.concat(pieces).toString('utf8')), elided, raw);
}

/**
 * The UTF-8 bytes of the string whose JSON text (between the quotes) is `raw[from, to)` once decoded,
 * exactly as `Buffer.byteLength(JSON.parse(...))` counts them; null when JSON.parse would refuse it (a
 * raw control character, a bad escape) or the bytes are not UTF-8 (which decoding would replace).
 *
 * One pass, four bytes at a time where memory is aligned: a word with neither a byte below 0x20 nor a
 * backslash (almost every word of text) costs two bit tests; only the bytes of other words are looked at
 * one by one. `(w - 0x20202020) & ~w & 0x80808080` is nonzero exactly when some byte of `w` is below 0x20,
 * and the same test of `w ^ 0x5c5c5c5c` against 0x01010101 when some byte is a backslash (the usual
 * "has a byte less than n" test, exact for n ≤ 128). For the benchmark's 400 KB prompt of code (a newline
 * escaped every ~32 bytes) this pass takes ~248 µs here, against ~285 µs for a control-byte pass followed
 * by an `indexOf` call per escape.
 */
export function decodedByteLength(raw: Buffer, from: number, to: number): number | null {
  if (to <= from) return 0;
  if (!isUtf8(raw.subarray(from, to))) return null;
  const wordsFrom = from + ((4 - ((raw.byteOffset + from) & 3)) & 3);
  const wordCount = wordsFrom < to ? (to - wordsFrom) >>> 2 : 0;
  // No view when there is no whole word: a short string at the very end of its memory would put the
  // view's start past that memory, which Uint32Array refuses.
  const words = wordCount > 0 ? new Uint32Array(raw.buffer, raw.byteOffset + wordsFrom, wordCount) : NO_WORDS;
  let length = to - from;
  let at = from;
  while (at < to) {
    if (at >= wordsFrom && ((at - wordsFrom) & 3) === 0) {
      let index = (at - wordsFrom) >>> 2;
      for (; index < wordCount; index += 1) {
        const word = words[index]!;
        const backslashes = word ^ 0x5c5c5c5c;
        if (
          ((((word - 0x20202020) & ~word) | ((backslashes - 0x01010101) & ~backslashes)) & 0x80808080) !==
          0
        )
          break;
      }
      // Past the clean words: the next word's bytes (something is in it) or the last few, one by one.
      at = wordsFrom + index * 4;
      if (at >= to) break;
    }
    const byte = raw[at]!;
    if (byte < 0x20) return null;
    if (byte !== BACKSLASH) {
      at += 1;
      continue;
    }
    if (at + 1 >= to) return null;
    const escaped = raw[at + 1];
    if (escaped === 0x75 /* u */) {
      const unit = hexUnit(raw, at + 2, to);
      if (unit === null) return null;
      if (unit >= 0xd800 && unit <= 0xdbff && raw[at + 6] === BACKSLASH && raw[at + 7] === 0x75) {
        const low = hexUnit(raw, at + 8, to);
        if (low === null) return null;
        if (low >= 0xdc00 && low <= 0xdfff) {
          // A surrogate pair: twelve bytes of text for one four-byte character.
          length -= 8;
          at += 12;
          continue;
        }
      }
      // One UTF-16 unit; a lone surrogate is encoded as U+FFFD (three bytes), as Buffer.byteLength does.
      length -= 6 - (unit < 0x80 ? 1 : unit < 0x800 ? 2 : 3);
      at += 6;
      continue;
    }
    if (!isSimpleEscape(escaped)) return null;
    length -= 1;
    at += 2;
  }
  return length;
}

function isSimpleEscape(byte: number | undefined): boolean {
  // " \ / b f n r t
  return (
    byte === 0x22 ||
    byte === 0x5c ||
    byte === 0x2f ||
    byte === 0x62 ||
    byte === 0x66 ||
    byte === 0x6e ||
    byte === 0x72 ||
    byte === 0x74
  );
}

/** The four hex digits at `at` as a number, or null (not hex, or past `to`). */
function hexUnit(raw: Buffer, at: number, to: number): number | null {
  if (at + 4 > to) return null;
  let unit = 0;
  for (let offset = 0; offset < 4; offset += 1) {
    const byte = raw[at + offset]!;
    const digit =
      byte >= 0x30 && byte <= 0x39
        ? byte - 0x30
        : byte >= 0x61 && byte <= 0x66
          ? byte - 0x57
          : byte >= 0x41 && byte <= 0x46
            ? byte - 0x37
            : -1;
    if (digit === -1) return null;
    unit = unit * 16 + digit;
  }
  return unit;
}
