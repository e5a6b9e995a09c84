/**
 * A passed-through request body forwarded as the client's own bytes, with only the members the gateway
 * changes written anew. Re-serialising an agent's 400 KB body costs ~2 ms of CPU (`JSON.stringify`, then
 * encoding the string back to UTF-8) for a body the provider gets unchanged but for its model id and
 * output limit; splicing copies the bytes once.
 *
 * Safe only when the bytes mean exactly what the gateway read from them:
 * - The scan finds the top-level members and counts every member at every depth. When the count differs
 *   from the members `JSON.parse` kept, a key is repeated somewhere: a provider that keeps the first of
 *   two keys (JSON.parse keeps the last) could read input the hold never covered, so such a body is
 *   re-serialised from what was parsed and bounded (`spliceMembers` answers null).
 * - The members metering reads or rewrites (`REWRITTEN_MEMBERS`: model, limits, choices, stream options,
 *   thinking) are always written from the parsed values, never copied: a number spelled `64.0` or `1e2`
 *   reaches the provider as the gateway read it.
 */

import { TollgateError } from '../../shared/errors.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** What metering reads or changes at the top level of a request: always written from the parsed body. */
export const REWRITTEN_MEMBERS: ReadonlySet<string> = new Set([
  'model',
  'max_tokens',
  'max_completion_tokens',
  'max_output_tokens',
  'n',
  'best_of',
  'stream',
  'stream_options',
  'thinking',
]);

export interface RawMember {
  name: string;
  /** From the key's opening quote to the end of the value. */
  start: number;
  end: number;
}

export interface RawObject {
  members: RawMember[];
  /** Members at every depth (the colons outside strings). */
  memberCount: number;
}

function isWhitespace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** The first position at or after `position` that is not JSON whitespace. */
export function skipWhitespace(raw: Uint8Array, position: number): number {
  let at = position;
  // The comparisons written out: this runs between every two tokens of a body.
  for (;;) {
    const byte = raw[at];
    if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return at;
    at += 1;
  }
}

/** Just past the closing quote of the string opening at `start`. */
export function stringEnd(raw: Buffer, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = raw.indexOf(QUOTE, from);
    if (quote === -1) return -1;
    let backslashes = 0;
    for (let at = quote - 1; raw[at] === BACKSLASH; at -= 1) backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/**
 * The top-level members of a JSON object's bytes, or null when they are not one object. The bytes are
 * expected to be valid JSON (they were parsed already): the scan only follows strings and brackets.
 */
export function scanObject(raw: Buffer): RawObject | null {
  let memberCount = 0;
  const skipValue = (start: number): number => {
    const first = raw[start];
    if (first === QUOTE) return stringEnd(raw, start);
    if (first === OPEN_BRACE || first === OPEN_BRACKET) {
      let depth = 0;
      let at = start;
      while (at < raw.length) {
        const byte = raw[at];
        if (byte === QUOTE) {
          at = stringEnd(raw, at);
          if (at === -1) return -1;
          continue;
        }
        if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth += 1;
        else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
          depth -= 1;
          if (depth === 0) return at + 1;
        } else if (byte === COLON) memberCount += 1;
        at += 1;
      }
      return -1;
    }
    let at = start;
    while (at < raw.length) {
      const byte = raw[at];
      if (byte === COMMA || byte === CLOSE_BRACE || byte === CLOSE_BRACKET || isWhitespace(byte)) break;
      at += 1;
    }
    return at > start ? at : -1;
  };

  let at = skipWhitespace(raw, 0);
  if (raw[at] !== OPEN_BRACE) return null;
  at = skipWhitespace(raw, at + 1);
  const members: RawMember[] = [];
  if (raw[at] !== CLOSE_BRACE) {
    for (;;) {
      if (raw[at] !== QUOTE) return null;
      const keyEnd = stringEnd(raw, at);
      if (keyEnd === -1) return null;
      const name = JSON.parse(raw.toString('utf8', at, keyEnd)) as string;
      const colon = skipWhitespace(raw, keyEnd);
      if (raw[colon] !== COLON) return null;
      memberCount += 1;
      const valueEnd = skipValue(skipWhitespace(raw, colon + 1));
      if (valueEnd === -1) return null;
      members.push({ name, start: at, end: valueEnd });
      at = skipWhitespace(raw, valueEnd);
      if (raw[at] === COMMA) {
        at = skipWhitespace(raw, at + 1);
        continue;
      }
      if (raw[at] === CLOSE_BRACE) break;
      return null;
    }
  }
  return skipWhitespace(raw, at + 1) === raw.length ? { members, memberCount } : null;
}

/** Deeper JSON than this is refused with 400: no request needs it, and serializers recurse. */
export const MAX_JSON_DEPTH = 100;

/**
 * Refuses a parsed body nested deeper than MAX_JSON_DEPTH (without recursing itself), and answers how
 * many members its objects hold at every depth: what `spliceMembers` compares with the scan.
 */
export function checkedMemberCount(body: Record<string, unknown>): number {
  let count = 0;
  const pending: [unknown, number][] = [[body, 1]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!;
    if (depth > MAX_JSON_DEPTH) {
      throw new TollgateError(
        'invalid_request',
        `The request is nested deeper than ${MAX_JSON_DEPTH} levels`,
      );
    }
    const children = Array.isArray(value) ? value : Object.values(value as Record<string, unknown>);
    if (!Array.isArray(value)) count += children.length;
    for (const child of children) {
      if (typeof child === 'object' && child !== null) pending.push([child, depth + 1]);
    }
  }
  return count;
}

/**
 * The forwarded body as bytes: the client's members that `forwarded` kept unchanged (the same value,
 * by identity, and not in REWRITTEN_MEMBERS) copied from `raw`, the rest serialised from `forwarded`.
 * Null when the bytes hold a repeated key (`parsedMemberCount` differs from the scan's count), or when
 * a member to serialise holds a placeholder of `elidedMarker` (a body read by `readJsonBody`): the
 * caller serialises the body parsed whole instead.
 */
export function spliceMembers(
  raw: Buffer,
  scanned: RawObject,
  parsedMemberCount: number,
  original: Record<string, unknown>,
  forwarded: Record<string, unknown>,
  elidedMarker?: string,
): Buffer | null {
  if (scanned.memberCount !== parsedMemberCount) return null;
  const kept = new Set<string>();
  const parts: Buffer[] = [];
  let written = '';
  for (const member of scanned.members) {
    const { name } = member;
    if (
      !REWRITTEN_MEMBERS.has(name) &&
      Object.hasOwn(forwarded, name) &&
      forwarded[name] === original[name]
    ) {
      kept.add(name);
      parts.push(raw.subarray(member.start, member.end));
    }
  }
  for (const [name, value] of Object.entries(forwarded)) {
    if (kept.has(name) || value === undefined) continue;
    written += `${written ? ',' : ''}${JSON.stringify(name)}:${JSON.stringify(value)}`;
  }
  if (elidedMarker !== undefined && written.includes(elidedMarker)) return null;
  const separator = Buffer.from(',');
  const pieces: Buffer[] = [Buffer.from(`{${written}`)];
  for (const part of parts) {
    if (pieces.length > 1 || written) pieces.push(separator);
    pieces.push(part);
  }
  pieces.push(Buffer.from('}'));
  return Buffer.concat(pieces);
}

/**
 * A provider's event (`json`, an object's text that `JSON.parse` already accepted) with its top-level
 * string member `key` set to `value`, the rest as the provider wrote it: a streamed chunk passed through
 * needs only its model id put back, and parsing is paid anyway (usage), re-serialising is not. Null —
 * serialise instead — when the member is missing or not a string, when any top-level key has an escape
 * (it could spell `key` another way), or when `key` appears twice.
 */
export function withTopLevelString(json: string, key: string, value: string): string | null {
  const wanted = JSON.stringify(key);
  const length = json.length;
  let depth = 0;
  let expectingKey = false;
  let found: [number, number] | null = null;
  let at = 0;
  while (at < length) {
    const code = json.charCodeAt(at);
    if (code === QUOTE) {
      const start = at;
      at = jsonStringEnd(json, at);
      if (at === -1) return null;
      if (depth !== 1 || !expectingKey) continue;
      expectingKey = false;
      const name = json.slice(start, at);
      if (name.includes('\\')) return null;
      if (name !== wanted) continue;
      if (found) return null;
      let valueStart = at;
      while (isWhitespace(json.charCodeAt(valueStart))) valueStart += 1;
      if (json.charCodeAt(valueStart) !== COLON) return null;
      valueStart += 1;
      while (isWhitespace(json.charCodeAt(valueStart))) valueStart += 1;
      if (json.charCodeAt(valueStart) !== QUOTE) return null;
      const valueEnd = jsonStringEnd(json, valueStart);
      if (valueEnd === -1) return null;
      found = [valueStart, valueEnd];
      // The rest need not be walked if it cannot hold the key again (a native search; chunks are small).
      if (json.indexOf(wanted, valueEnd) === -1) break;
      at = valueEnd;
      continue;
    }
    if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      depth += 1;
      expectingKey = depth === 1 && code === OPEN_BRACE;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth -= 1;
    } else if (code === COMMA && depth === 1) {
      expectingKey = true;
    }
    at += 1;
  }
  if (!found) return null;
  return `${json.slice(0, found[0])}${JSON.stringify(value)}${json.slice(found[1])}`;
}

/** Just past the closing quote of the string opening at `start` in `text`; -1 if it never closes. */
function jsonStringEnd(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return -1;
    let backslashes = 0;
    for (let at = quote - 1; text.charCodeAt(at) === BACKSLASH; at -= 1) backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}
