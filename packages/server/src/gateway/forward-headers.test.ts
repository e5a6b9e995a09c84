import { describe, expect, it } from 'vitest';
import { forwardedHeaders } from './forward-headers.ts';

describe('forwardedHeaders', () => {
  const client = {
    authorization: 'Bearer tg_uk_secret',
    'x-api-key': 'tg_uk_secret',
    cookie: 'session=1',
    connection: 'keep-alive, x-evil',
    'transfer-encoding': 'chunked',
    'anthropic-beta': 'context-management-2025-06-27,interleaved-thinking-2025-05-14',
    'anthropic-version': '2023-06-01',
    'openai-beta': 'assistants=v2',
    'x-stainless-os': 'Linux',
  };

  it('passes only the allow-listed headers of the upstream’s dialect, never credentials or cookies', () => {
    expect(forwardedHeaders(client, 'anthropic', 'anthropic')).toEqual({
      'anthropic-beta': 'context-management-2025-06-27,interleaved-thinking-2025-05-14',
      'anthropic-version': '2023-06-01',
    });
    expect(forwardedHeaders(client, 'openai', 'openai')).toEqual({ 'openai-beta': 'assistants=v2' });
  });

  it('sends none of them to an upstream of the other dialect; Anthropic always gets a version', () => {
    expect(forwardedHeaders(client, 'openai', 'anthropic')).toEqual({ 'anthropic-version': '2023-06-01' });
    expect(forwardedHeaders(client, 'anthropic', 'openai')).toEqual({});
    expect(forwardedHeaders({}, 'anthropic', 'anthropic')).toEqual({ 'anthropic-version': '2023-06-01' });
  });

  it('joins repeated headers and drops values that could split a header or are absurdly long', () => {
    expect(forwardedHeaders({ 'anthropic-beta': ['a-1', 'b-2'] }, 'anthropic', 'anthropic')).toMatchObject({
      'anthropic-beta': 'a-1,b-2',
    });
    expect(
      forwardedHeaders({ 'anthropic-beta': 'a\r\nx-api-key: stolen' }, 'anthropic', 'anthropic'),
    ).toEqual({ 'anthropic-version': '2023-06-01' });
    expect(forwardedHeaders({ 'openai-beta': 'x'.repeat(5_000) }, 'openai', 'openai')).toEqual({});
  });
});
