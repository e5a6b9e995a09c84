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

  it("renders the Anthropic shape with Anthropic's own types, Tollgate's code beside them", () => {
    expect(renderAnthropicError(toGatewayError(insufficient))).toEqual({
      type: 'error',
      error: {
        type: 'billing_error',
        code: 'insufficient_credits',
        message: 'Insufficient credits. Please top up your balance.',
      },
    });
    const typeOf = (code: string, status?: number) =>
      renderAnthropicError({ code, status, message: '' }).error.type;
    expect(typeOf('invalid_request')).toBe('invalid_request_error');
    expect(typeOf('invalid_user_key')).toBe('authentication_error');
    expect(typeOf('missing_api_key')).toBe('authentication_error');
    expect(typeOf('model_not_allowed')).toBe('permission_error');
    expect(typeOf('model_not_found')).toBe('not_found_error');
    expect(typeOf('payload_too_large')).toBe('request_too_large');
    expect(typeOf('rate_limited')).toBe('rate_limit_error');
    expect(typeOf('internal_error')).toBe('api_error');
    expect(typeOf('upstream_error')).toBe('api_error');
    expect(typeOf('unavailable')).toBe('overloaded_error');
    // Codes Tollgate does not know fall back by status.
    expect(typeOf('secret_not_configured', 503)).toBe('overloaded_error');
    expect(typeOf('idempotency_conflict')).toBe('invalid_request_error');
    expect(typeOf('something_new')).toBe('api_error');
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
      error: { type: 'api_error', code: 'upstream_error', message: 'Upstream went away' },
    });
  });
});
