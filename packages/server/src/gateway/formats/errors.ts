/**
 * Errors in each compatible endpoint's own dialect, so the official SDKs raise their usual error types.
 * `type` carries the Tollgate code in both dialects (seed 004 shows `"type": "insufficient_credits"`), and
 * the OpenAI `code` is the HTTP status as a string (seed 004 shows `"code": "402"`).
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

export function renderAnthropicError(error: GatewayErrorInput): AnthropicErrorBody {
  return { type: 'error', error: { type: error.code, message: error.message } };
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
