/**
 * Errors in each compatible endpoint's own dialect, so the official SDKs and the agents built on them
 * raise and handle their usual error types.
 * - OpenAI: `type` carries the Tollgate code (seed 004 shows `"type": "insufficient_credits"`), and
 *   `code` is the HTTP status as a string (seed 004 shows `"code": "402"`).
 * - Anthropic: `type` is one of Anthropic's own error types (`invalid_request_error`,
 *   `authentication_error`, `billing_error`, `permission_error`, `not_found_error`,
 *   `request_too_large`, `rate_limit_error`, `api_error`, `overloaded_error`), which clients such as
 *   Claude Code branch on; Tollgate's stable `code` travels beside it.
 */
import { type ErrorCode, ErrorCodes, isTollgateError } from '../../shared/errors.ts';
import { formatSseJson } from './sse.ts';
import type { AnthropicErrorBody, OpenAiErrorBody } from './wire-types.ts';

/** What a rendered error needs; a `TollgateError` satisfies it. */
export interface GatewayErrorInput {
  code: ErrorCode | string;
  message: string;
  /** Defaults to the status of a known Tollgate code, else 500. */
  status?: number;
  /** The request field at fault, when known (OpenAI's `param`). */
  param?: string | null;
}

/** HTTP status for an error, falling back to the table of Tollgate codes. */
export function errorStatus(error: GatewayErrorInput): number {
  if (error.status !== undefined) return error.status;
  return (ErrorCodes as Record<string, number>)[error.code] ?? 500;
}

/** Turns anything thrown into a renderable error without leaking internals of unexpected failures. */
export function toGatewayError(thrown: unknown): GatewayErrorInput {
  if (isTollgateError(thrown)) {
    const param = typeof thrown.details.param === 'string' ? thrown.details.param : null;
    return { code: thrown.code, message: thrown.message, status: thrown.status, param };
  }
  return { code: 'internal_error', message: 'Internal error.', status: 500 };
}

export function renderOpenAiError(error: GatewayErrorInput): OpenAiErrorBody {
  return {
    error: {
      message: error.message,
      type: error.code,
      param: error.param ?? null,
      code: String(errorStatus(error)),
    },
  };
}

/** Anthropic's error type for each Tollgate code; a code not listed falls back by its status. */
const ANTHROPIC_TYPES: Partial<Record<ErrorCode, string>> = {
  invalid_request: 'invalid_request_error',
  missing_api_key: 'authentication_error',
  invalid_api_key: 'authentication_error',
  invalid_user_key: 'authentication_error',
  // Anthropic answers a balance too low to spend with 402 `billing_error`.
  insufficient_credits: 'billing_error',
  run_limit_exceeded: 'billing_error',
  spend_limit_exceeded: 'billing_error',
  model_not_allowed: 'permission_error',
  forbidden: 'permission_error',
  model_not_found: 'not_found_error',
  not_found: 'not_found_error',
  payload_too_large: 'request_too_large',
  rate_limited: 'rate_limit_error',
  internal_error: 'api_error',
  upstream_error: 'api_error',
  unavailable: 'overloaded_error',
};

function anthropicTypeForStatus(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 402) return 'billing_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status === 503 || status === 529) return 'overloaded_error';
  return status < 500 ? 'invalid_request_error' : 'api_error';
}

/** The Anthropic `type` an error is shown with. */
export function anthropicErrorType(error: GatewayErrorInput): string {
  return ANTHROPIC_TYPES[error.code as ErrorCode] ?? anthropicTypeForStatus(errorStatus(error));
}

export function renderAnthropicError(error: GatewayErrorInput): AnthropicErrorBody {
  return {
    type: 'error',
    error: { type: anthropicErrorType(error), code: error.code, message: error.message },
  };
}

/**
 * The frame that ends an OpenAI stream which failed after the 200 was sent. The SDK throws an APIError
 * on any `data:` object carrying `error`; no `[DONE]` follows, so clients cannot mistake it for success.
 */
export function openAiStreamErrorFrame(error: GatewayErrorInput): string {
  return formatSseJson(renderOpenAiError(error));
}

/** Anthropic's in-stream failure: `event: error` with the same body as a non-stream error. */
export function anthropicStreamErrorFrame(error: GatewayErrorInput): string {
  return formatSseJson(renderAnthropicError(error), 'error');
}
