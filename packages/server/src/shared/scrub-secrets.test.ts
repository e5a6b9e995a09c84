import { describe, expect, it } from 'vitest';
import { scrubSecrets } from './scrub-secrets.ts';

describe('scrubSecrets', () => {
  it('cuts a known secret out wherever it appears, even without a key shape', () => {
    const secret = 'platform.Secret.Value.42';
    expect(scrubSecrets(`Incorrect API key provided: ${secret}. See docs.`, [secret])).toBe(
      'Incorrect API key provided: [redacted]. See docs.',
    );
  });

  it('masks key-shaped text of any provider', () => {
    const cases = [
      'Incorrect API key provided: sk-proj-abcDEF123456ghiJKL.',
      'invalid x-api-key sk-ant-api03-AbCdEfGhIjKlMn',
      'header was Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig',
      'fal said: Key 1234abcd-5678:efef9999aaaa',
      'url https://p.example/v1?api_key=hunter2hunter2&x=1',
      'token 0123456789abcdef0123456789abcdef0123',
      'rejected tg_uk_0123456789abcdefghij',
    ];
    for (const text of cases) {
      const scrubbed = scrubSecrets(text);
      expect(scrubbed, text).toContain('[redacted]');
      expect(scrubbed, text).not.toMatch(
        /abcDEF123456|AbCdEfGhIjKlMn|eyJhbGci|5678:efef|hunter2|0123456789abcdef0123|abcdefghij/,
      );
    }
  });

  it('leaves ordinary error text alone', () => {
    const text = 'max_tokens is too large: 100000. This model supports at most 16384 completion tokens.';
    expect(scrubSecrets(text, ['short'])).toBe(text);
    expect(scrubSecrets('The model `gpt-4o` does not exist or you do not have access to it.')).toBe(
      'The model `gpt-4o` does not exist or you do not have access to it.',
    );
  });
});
