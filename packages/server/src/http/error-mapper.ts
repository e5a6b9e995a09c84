/**
 * The one place errors become HTTP answers, in the dialect of the endpoint: native
 * `{"error":{"code","message",…details}}`, OpenAI `{"error":{"message","type","param","code"}}` or
 * Anthropic `{"type":"error","error":{"type","message"}}` (contract, "Errors").
 */

import { renderAnthropicError, renderOpenAiError } from '../gateway/formats/errors.ts';
import { type ErrorCode, TollgateError } from '../shared/errors.ts';
import { microsToCredits } from '../shared/money.ts';
import { isDatabaseUnavailable } from '../store/database.ts';

export type ErrorDialect = 'native' | 'openai' | 'anthropic';

/** Seconds a client is told to wait when the database is away (Retry-After on 503 `unavailable`). */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/** Converts anything thrown into a TollgateError; unknown errors become a 500 without internals. */
export function toTollgateError(error: unknown): TollgateError {
  if (error instanceof TollgateError) return error;
  if (isDatabaseUnavailable(error)) {
    return new TollgateError('unavailable', 'The service is temporarily unavailable. Retry shortly.', {
      retry_after_seconds: UNAVAILABLE_RETRY_AFTER_SECONDS,
    });
  }
  const fastifyError = error as {
    statusCode?: number;
    code?: string;
    message?: string;
    validation?: unknown;
  };
  if (fastifyError?.validation || fastifyError?.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new TollgateError(
      'invalid_request',
      `Malformed request: ${fastifyError.message ?? 'invalid body'}`,
    );
  }
  if (fastifyError?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new TollgateError('payload_too_large', 'The request body is larger than this endpoint accepts');
  }
  if (
    fastifyError?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ||
    fastifyError?.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
  ) {
    return new TollgateError('invalid_request', fastifyError.message ?? 'Unsupported request body');
  }
  if (
    typeof fastifyError?.statusCode === 'number' &&
    fastifyError.statusCode >= 400 &&
    fastifyError.statusCode < 500
  ) {
    return new TollgateError('invalid_request', fastifyError.message ?? 'Bad request');
  }
  return new TollgateError('internal_error', 'Internal server error');
}

/** Amount fields in details travel as micro-credit strings from the ledger; the wire wants credits. */
const CREDIT_DETAIL_FIELDS = new Set([
  'required',
  'available',
  'max_run_cost',
  'run_total',
  'limit',
  'spent',
]);

function wireDetails(details: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(details)) {
    if (CREDIT_DETAIL_FIELDS.has(name) && typeof value === 'string' && /^-?\d+$/.test(value)) {
      out[name] = microsToCredits(BigInt(value));
    } else if (typeof value === 'bigint') {
      out[name] = value.toString();
    } else {
      out[name] = value;
    }
  }
  return out;
}

const USER_MESSAGES: Partial<Record<ErrorCode, string>> = {
  insufficient_credits: 'Insufficient credits. Please top up your balance.',
};

export function errorBody(error: TollgateError, dialect: ErrorDialect): unknown {
  if (dialect === 'native')
    return { error: { code: error.code, message: error.message, ...wireDetails(error.details) } };
  const rendered = {
    code: error.code,
    status: error.status,
    message: USER_MESSAGES[error.code] ?? error.message,
    param: typeof error.details.param === 'string' ? error.details.param : null,
  };
  return dialect === 'openai' ? renderOpenAiError(rendered) : renderAnthropicError(rendered);
}
