import { describe, expect, it } from 'vitest';
import { TollgateError } from '../../shared/errors.ts';
import {
  anthropicStreamErrorFrame,
  errorStatus,
  openAiStreamErrorFrame,
  renderAnthropicError,
  renderOpenAiError,
  toGatewayError,
} from './errors.ts';
import { SseParser } from './sse.ts';

const insufficient = new TollgateError(
  'insufficient_credits',
  'Insufficient credits. Please top up your balance.',
  {
    required: 5,
    available: 1,
  },
);

describe('dialect errors', () => {
  it('renders the OpenAI shape byte for byte as seed 004 shows it', () => {
    expect(JSON.stringify(renderOpenAiError(toGatewayError(insufficient)))).toBe(
      '{"error":{"message":"Insufficient credits. Please top up your balance.","type":"insufficient_credits","param":null,"code":"402"}}',
    );
  });

  it('renders the Anthropic shape as seed 004 shows it', () => {
    expect(renderAnthropicError(toGatewayError(insufficient))).toEqual({
      type: 'error',
      error: { type: 'insufficient_credits', message: 'Insufficient credits. Please top up your balance.' },
    });
  });

  it('uses the status of the code, the param when known, and hides unexpected failures', () => {
    const invalid = new TollgateError('invalid_request', 'bad tools', { param: 'tools' });
    expect(renderOpenAiError(toGatewayError(invalid)).error).toEqual({
      message: 'bad tools',
      type: 'invalid_request',
      param: 'tools',
      code: '400',
    });
    expect(errorStatus({ code: 'rate_limited', message: '' })).toBe(429);
    expect(errorStatus({ code: 'something_new', message: '' })).toBe(500);
    expect(toGatewayError(new Error('database password is hunter2'))).toEqual({
      code: 'internal_error',
      message: 'Internal error.',
      status: 500,
    });
  });

  it('writes mid-stream error frames in each dialect', () => {
    const error = { code: 'upstream_error', message: 'Upstream went away', status: 502 };
    const [openAi] = new SseParser().push(openAiStreamErrorFrame(error));
    expect(openAi.event).toBeUndefined();
    expect(JSON.parse(openAi.data)).toEqual({
      error: { message: 'Upstream went away', type: 'upstream_error', param: null, code: '502' },
    });
    const [anthropic] = new SseParser().push(anthropicStreamErrorFrame(error));
    expect(anthropic.event).toBe('error');
    expect(JSON.parse(anthropic.data)).toEqual({
      type: 'error',
      error: { type: 'upstream_error', message: 'Upstream went away' },
    });
  });
});
