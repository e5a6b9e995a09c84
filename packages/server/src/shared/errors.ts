/**
 * The one error base class. Every expected failure that reaches a client carries a stable `code`
 * (the contract's error table) and the HTTP status it maps to; `details` are extra fields that the
 * native error body spreads next to `code` and `message` (e.g. `required`, `available`).
 */
export const ErrorCodes = {
  invalid_request: 400,
  missing_api_key: 401,
  invalid_api_key: 401,
  invalid_user_key: 401,
  insufficient_credits: 402,
  run_limit_exceeded: 402,
  model_not_allowed: 403,
  forbidden: 403,
  model_not_found: 404,
  not_found: 404,
  idempotency_conflict: 409,
  already_redeemed: 409,
  invalid_state: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal_error: 500,
  upstream_error: 502,
  unavailable: 503,
  feature_limit_exceeded: 402,
  spend_limit_exceeded: 402,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class TollgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'TollgateError';
    this.code = code;
    this.status = ErrorCodes[code];
    this.details = details;
  }
}

export function isTollgateError(value: unknown): value is TollgateError {
  return value instanceof TollgateError;
}
