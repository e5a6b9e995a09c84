import { Tiktoken } from 'js-tiktoken/lite';
import o200kBase from 'js-tiktoken/ranks/o200k_base';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  countAnthropicRequestTokens,
  countOpenAiRequestTokens,
  countRequestTokens,
  countTextTokens,
  IMAGE_TOKEN_ESTIMATE,
  LOW_DETAIL_IMAGE_TOKEN_ESTIMATE,
  REPLY_PRIMING_TOKENS,
  TOKENS_PER_MESSAGE,
  warmTokenizer,
} from './tokens.ts';

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
