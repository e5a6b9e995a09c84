import { describe, expect, it } from 'vitest';
import { TollgateError } from '../../shared/errors.ts';
import { withOutputLimit } from './output-limits.ts';
import { openAiPassthroughRequest } from './passthrough.ts';
import {
  checkedMemberCount,
  MAX_JSON_DEPTH,
  scanObject,
  spliceMembers,
  withTopLevelString,
} from './raw-json.ts';
import type { OpenAiChatRequest } from './wire-types.ts';

/** What the gateway sends for a passed-through OpenAI body: the raw bytes spliced, or null (re-serialise). */
function forward(text: string, maxTokens: number, upstreamModel = 'gpt-4o-mini-2024') {
  const raw = Buffer.from(text);
  const body = JSON.parse(text) as Record<string, unknown>;
  const forwarded = openAiPassthroughRequest(
    withOutputLimit('openai', body, maxTokens) as unknown as OpenAiChatRequest,
    upstreamModel,
  ) as unknown as Record<string, unknown>;
  const scanned = scanObject(raw);
  expect(scanned).not.toBeNull();
  const spliced = spliceMembers(raw, scanned!, checkedMemberCount(body), body, forwarded);
  return { spliced, forwarded };
}

describe('spliceMembers', () => {
  it('means what re-serialising would, keeping the client bytes of every member left alone', () => {
    const text =
      '{ "model" : "openai/gpt-4o-mini", "messages":[{"role":"user","content":"a \\"quoted\\" }] { text \\\\"}],' +
      '\n"tools": [ {"type":"function","function":{"name":"f","parameters":{"type":"object"}}} ],' +
      ' "max_tokens": 64.0, "stream": true, "temperature": 0.50, "metadata": {"k": "\\u00e9"} }';
    const { spliced, forwarded } = forward(text, 32);
    expect(spliced).not.toBeNull();
    expect(JSON.parse(spliced!.toString('utf8'))).toEqual(forwarded);
    const sent = spliced!.toString('utf8');
    // Untouched members are the client's own spelling; metering's are written as read.
    expect(sent).toContain('"temperature": 0.50');
    expect(sent).toContain('"metadata": {"k": "\\u00e9"}');
    expect(sent).toContain('"max_tokens":32');
    expect(sent).toContain('"model":"gpt-4o-mini-2024"');
    expect(sent).toContain('"stream_options":{"include_usage":true}');
    expect(sent).not.toContain('64.0');
  });

  it('writes what the gateway set even when the client spelled a value it keeps differently', () => {
    const { spliced } = forward('{"model":"m","messages":[{"role":"user","content":"hi"}],"n":1e0}', 64);
    expect(spliced!.toString('utf8')).toContain('"n":1');
    expect(spliced!.toString('utf8')).not.toContain('1e0');
  });

  it('refuses to splice a body with a repeated key at any depth (a provider might read the other one)', () => {
    for (const text of [
      '{"model":"m","messages":[{"role":"user","content":"' + 'x'.repeat(1000) + '","content":"hi"}]}',
      '{"model":"m","messages":[],"messages":[{"role":"user","content":"hi"}]}',
      '{"model":"m","model":"n","messages":[{"role":"user","content":"hi"}]}',
    ]) {
      expect(forward(text, 64).spliced, text).toBeNull();
    }
  });

  it('keeps colons, brackets and escaped quotes inside strings out of the count', () => {
    const text = '{"model":"m","messages":[{"role":"user","content":"{\\"a\\": [1, {\\"b\\":2}]} \\\\"}]}';
    const { spliced, forwarded } = forward(text, 10);
    expect(JSON.parse(spliced!.toString('utf8'))).toEqual(forwarded);
  });

  it('writes every member when the client sent only rewritten ones', () => {
    const text = '{"model":"m","max_tokens":5}';
    const { spliced, forwarded } = forward(text, 5);
    expect(JSON.parse(spliced!.toString('utf8'))).toEqual(forwarded);
  });
});

describe('scanObject', () => {
  it('finds only the top-level members, in order, and counts members at every depth', () => {
    const scanned = scanObject(Buffer.from(' {"a":{"b":1,"c":[{"d":null}]},"e":"f:g","h":[]}\n'));
    expect(scanned?.members.map((member) => member.name)).toEqual(['a', 'e', 'h']);
    expect(scanned?.memberCount).toBe(6);
  });

  it('answers null for anything but one object', () => {
    for (const text of ['[]', '"x"', '{"a":1} {}', '{"a" 1}'])
      expect(scanObject(Buffer.from(text))).toBeNull();
  });
});

describe('checkedMemberCount', () => {
  it('refuses nesting past the limit with a 400', () => {
    let nested: unknown = 'leaf';
    for (let depth = 0; depth < MAX_JSON_DEPTH + 1; depth += 1) nested = [nested];
    expect(() => checkedMemberCount({ messages: nested })).toThrow(TollgateError);
    expect(checkedMemberCount({ a: { b: 1, c: [{ d: null }] }, e: 'f' })).toBe(5);
  });
});

describe('withTopLevelString', () => {
  const model = (json: string) => withTopLevelString(json, 'model', 'openai/gpt-4o-mini');

  it('sets the top-level member and keeps every other byte as the provider wrote it', () => {
    const chunk = '{"id":"c1", "model" : "gpt-4o-mini","choices":[{"delta":{"content":"hi"}}]}';
    expect(model(chunk)).toBe(
      '{"id":"c1", "model" : "openai/gpt-4o-mini","choices":[{"delta":{"content":"hi"}}]}',
    );
  });

  it('never touches a nested member or text that only looks like one', () => {
    const chunk = '{"meta":{"model":"x"},"text":"{\\"model\\":\\"z\\"}","model":"m\\"q","n":[{"model":"y"}]}';
    const spliced = model(chunk)!;
    expect(JSON.parse(spliced)).toEqual({ ...JSON.parse(chunk), model: 'openai/gpt-4o-mini' });
  });

  it('answers null (serialise instead) when it cannot be sure', () => {
    expect(model('{"id":"c1"}')).toBeNull();
    expect(model('{"model":null}')).toBeNull();
    expect(model('{"model":"a","model":"b"}')).toBeNull();
    expect(model('{"mod\\u0065l":"a","model":"b"}')).toBeNull();
    expect(model('{"model":"unterminated')).toBeNull();
  });
});
