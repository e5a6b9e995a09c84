import { Tiktoken } from 'js-tiktoken/lite';
import o200kBase from 'js-tiktoken/ranks/o200k_base';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  boundInputTokens,
  boundRequestTokens,
  countAnthropicRequestTokens,
  countOpenAiRequestTokens,
  countRequestTokens,
  countTextTokens,
  countTextTokensUpTo,
  estimateInputTokens,
  estimateInputTokensAsync,
  IMAGE_TOKEN_ESTIMATE,
  LOW_DETAIL_IMAGE_TOKEN_ESTIMATE,
  REPLY_PRIMING_TOKENS,
  requestInput,
  TOKENS_PER_MESSAGE,
  warmTokenizer,
} from './tokens.ts';
import type { ApiFormat } from './wire-types.ts';

let reference: Tiktoken;

beforeAll(() => {
  warmTokenizer();
  reference = new Tiktoken(o200kBase);
});

/** Deterministic pseudo-random text so failures reproduce. */
function randomText(length: number, alphabet: string, seed: number): string {
  let state = seed;
  let text = '';
  for (let index = 0; index < length; index += 1) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    text += alphabet[state % alphabet.length];
  }
  return text;
}

describe('countTextTokens', () => {
  it('matches js-tiktoken o200k_base token for token', () => {
    const samples = [
      '',
      'Hello, world!',
      "I'm sure they'll say DON'T — it's fine.",
      'function add(a, b) {\n\treturn a + b;\n}\n\n// trailing comment   \r\n',
      'Héllo wörld, ünïcödé: 日本語のテキストです。中文，한국어 🎉🧪👩‍👩‍👧',
      'ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ'.repeat(4),
      'Привет, мир! Как дела? Ελληνικά κείμενα.',
      '<|endoftext|> is just text here',
      'a'.repeat(700),
      ' '.repeat(300),
      '\n\n\n\n\r\n\t\t  \n',
      '1234567890 3.14159 1e10 0xdeadbeef',
      randomText(1_500, 'abcdefghijklmnopqrstuvwxyz', 1),
      randomText(4_000, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 2),
      randomText(3_000, 'aé日 \n.,;😀', 3),
    ];
    for (const text of samples) {
      expect(countTextTokens(text), JSON.stringify(text.slice(0, 40))).toBe(
        reference.encode(text, [], []).length,
      );
    }
  });

  it('stays fast on the inputs that make a naive byte-pair merge quadratic', () => {
    // js-tiktoken needs ~11 s for one 10,000-letter word and grows with the square of its length, so
    // these 100,000-character pieces would take ~20 minutes there; here they take ~0.1 s. The bound
    // is loose because CI machines are busy; it only has to tell linear from quadratic.
    const started = performance.now();
    countTextTokens(randomText(100_000, 'abcdefghijklmnopqrstuvwxyz', 4));
    countTextTokens(' '.repeat(100_000));
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('request token counts', () => {
  it('counts an OpenAI request: text, per-message framing, names, images, tool calls and tools', () => {
    const text = 'What is in this picture?';
    const base = countOpenAiRequestTokens({ model: 'm', messages: [{ role: 'user', content: text }] });
    expect(base).toBe(REPLY_PRIMING_TOKENS + TOKENS_PER_MESSAGE + 1 + countTextTokens(text));

    const withImages = countOpenAiRequestTokens({
      model: 'm',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(100_000)}` } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'low' } },
          ],
        },
      ],
    });
    // The base64 payload is never tokenized: images cost their fixed estimate.
    expect(withImages).toBe(base + IMAGE_TOKEN_ESTIMATE + LOW_DETAIL_IMAGE_TOKEN_ESTIMATE);

    const withTools = countOpenAiRequestTokens({
      model: 'm',
      messages: [
        { role: 'user', content: text, name: 'alice' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      ],
      tools: [
        {
          type: 'function',
          function: { name: 'weather', description: 'Weather', parameters: { type: 'object' } },
        },
      ],
    });
    expect(withTools).toBeGreaterThan(base + 3 * TOKENS_PER_MESSAGE);
  });

  it('counts an Anthropic request the same way as the equivalent OpenAI one', () => {
    const openAi = countRequestTokens('openai', {
      model: 'm',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello there' },
      ],
    });
    const anthropic = countRequestTokens('anthropic', {
      model: 'm',
      max_tokens: 10,
      system: 'Be brief.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello there' }] }],
    });
    expect(anthropic).toBe(openAi);
    const withImageAndTools = countAnthropicRequestTokens({
      model: 'm',
      max_tokens: 10,
      messages: [
        {
          role: 'user',
          content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }],
        },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: { x: 1 } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'done' }] },
      ],
      tools: [{ name: 'f', input_schema: { type: 'object' } }],
    });
    expect(withImageAndTools).toBeGreaterThan(IMAGE_TOKEN_ESTIMATE);
  });

  it('counts a large request quickly', () => {
    const paragraph = 'The quick brown fox jumps over the lazy dog while counting tokens. ';
    const request = {
      model: 'm',
      messages: Array.from({ length: 200 }, (_, index) => ({
        role: index % 2 === 0 ? 'user' : 'assistant',
        content: paragraph.repeat(75),
      })),
    };
    const started = performance.now();
    const count = countOpenAiRequestTokens(request);
    expect(performance.now() - started).toBeLessThan(500);
    expect(count).toBeGreaterThan(200 * 75 * 10);
  });
});

describe('input bound', () => {
  it('is never below the estimate, and counts bytes, not tokens', () => {
    const samples = [
      'Hello there',
      randomText(3_000, 'aé日 \n.,;😀', 5),
      randomText(5_000, 'abcdefghijklmnopqrstuvwxyz', 6),
      'x'.repeat(10_000),
    ];
    for (const text of samples) {
      for (const format of ['openai', 'anthropic'] as const) {
        const request = { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: text }] };
        const input = requestInput(format, request);
        expect(boundInputTokens(input)).toBeGreaterThanOrEqual(estimateInputTokens(input));
        expect(boundInputTokens(input)).toBeGreaterThanOrEqual(Buffer.byteLength(text));
      }
    }
    const withTools = boundRequestTokens('anthropic', {
      model: 'm',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ type: 'computer_20250124', name: 'computer', display_width_px: 1024 }],
    });
    // The tool-use prompt and a provider-defined tool's fixed cost are in the bound.
    expect(withTools).toBeGreaterThan(2_000);
  });

  it('refuses input only the provider can size', () => {
    const cases: [ApiFormat, Record<string, unknown>][] = [
      [
        'anthropic',
        {
          messages: [
            {
              role: 'user',
              content: [{ type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } }],
            },
          ],
        },
      ],
      [
        'anthropic',
        {
          messages: [
            {
              role: 'user',
              content: [
                {
                  type: 'document',
                  source: { type: 'base64', media_type: 'application/pdf', data: 'JVBER' },
                },
              ],
            },
          ],
        },
      ],
      [
        'anthropic',
        {
          messages: [{ role: 'user', content: 'x' }],
          tools: [{ type: 'web_search_20250305', name: 'web_search' }],
        },
      ],
      [
        'anthropic',
        { messages: [{ role: 'user', content: 'x' }], mcp_servers: [{ type: 'url', url: 'https://x' }] },
      ],
      ['openai', { messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-1' } }] }] }],
      ['openai', { messages: [{ role: 'user', content: 'x' }], web_search_options: {} }],
    ];
    for (const [format, body] of cases) {
      expect(
        () => requestInput(format, { model: 'm', max_tokens: 5, ...body } as never),
        JSON.stringify(body),
      ).toThrow(/cannot be metered/);
    }
    // A plain-text document is in the request, so it is counted.
    expect(
      boundRequestTokens('anthropic', {
        model: 'm',
        max_tokens: 5,
        messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', data: 'abc' } }] }],
      } as never),
    ).toBeGreaterThan(3);
  });

  it('estimates the same asynchronously, yielding between slices of a long text', async () => {
    const long = randomText(250_000, 'abcdefghij klmnopqrstuvwxyz.', 7);
    const input = requestInput('openai', { model: 'm', messages: [{ role: 'user', content: long }] });
    // Work queued before the count runs before it finishes: it gave the event loop a turn.
    let otherWorkRan = false;
    setImmediate(() => {
      otherWorkRan = true;
    });
    const estimate = await estimateInputTokensAsync(input);
    expect(otherWorkRan).toBe(true);
    // Slicing may split a token at each of the 3 slice boundaries.
    expect(Math.abs(estimate - estimateInputTokens(input))).toBeLessThanOrEqual(3);
    expect(
      Math.abs(countTextTokensUpTo(long, Number.POSITIVE_INFINITY) - countTextTokens(long)),
    ).toBeLessThanOrEqual(3);
    // It stops counting once past the limit it was given.
    expect(countTextTokensUpTo(long, 10)).toBeLessThan(countTextTokens(long) / 2);
  });

  it('estimates a body past 256 K characters at 4 characters a token, without counting it', async () => {
    const huge = 'lorem ipsum '.repeat(100_000);
    const input = requestInput('anthropic', {
      model: 'm',
      max_tokens: 5,
      messages: [{ role: 'user', content: huge }],
    });
    expect(await estimateInputTokensAsync(input)).toBe(input.fixedTokens + huge.length / 4);
    expect(boundInputTokens(input)).toBeGreaterThan(huge.length);
  });
});
