import { describe, expect, it } from 'vitest';
import {
  AlreadyRedeemedError,
  AuthenticationError,
  ConflictError,
  IdempotencyConflictError,
  InsufficientCreditsError,
  InternalServerError,
  InvalidRequestError,
  InvalidStateError,
  NotFoundError,
  PaymentRequiredError,
  PermissionDeniedError,
  RateLimitedError,
  RunLimitExceededError,
  TollgateError,
  UpstreamError,
} from './errors.ts';
import { errorReply, scriptedClient } from './stub-fetch.ts';

/** Fails one call with `reply` (no retries) and returns what it threw. */
async function thrownBy(reply: Parameters<typeof scriptedClient>[0][number]): Promise<TollgateError> {
  const { client } = scriptedClient([reply], { maxRetries: 0 });
  const error = await client.charges.create({ customer: 'cus_1', model: 'm' }).catch((caught) => caught);
  expect(error).toBeInstanceOf(TollgateError);
  return error;
}

describe('errors from native error bodies', () => {
  it.each([
    [400, 'invalid_request', InvalidRequestError],
    [401, 'missing_api_key', AuthenticationError],
    [401, 'invalid_api_key', AuthenticationError],
    [401, 'invalid_user_key', AuthenticationError],
    [402, 'insufficient_credits', InsufficientCreditsError],
    [402, 'run_limit_exceeded', RunLimitExceededError],
    [403, 'model_not_allowed', PermissionDeniedError],
    [403, 'forbidden', PermissionDeniedError],
    [404, 'model_not_found', NotFoundError],
    [404, 'not_found', NotFoundError],
    [409, 'idempotency_conflict', IdempotencyConflictError],
    [409, 'already_redeemed', AlreadyRedeemedError],
    [409, 'invalid_state', InvalidStateError],
    [429, 'rate_limited', RateLimitedError],
    [500, 'internal_error', InternalServerError],
    [502, 'upstream_error', UpstreamError],
    [503, 'unavailable', InternalServerError],
  ] as const)('%i %s → %o', async (status, code, errorClass) => {
    const error = await thrownBy(errorReply(status, code, { param: 'model' }));
    expect(error).toBeInstanceOf(errorClass);
    expect(error.name).toBe(errorClass.name);
    expect(error).toMatchObject({ status, code, message: `${code} happened`, requestId: 'req_test' });
    expect(error.details).toEqual({ param: 'model' });
  });

  it('gives insufficient credits its amounts as numbers and exact micros', async () => {
    const error = await thrownBy(
      errorReply(402, 'insufficient_credits', { required: 12.5, available: 0.000001 }),
    );
    expect(error).toBeInstanceOf(PaymentRequiredError);
    const insufficient = error as InsufficientCreditsError;
    expect(insufficient.required).toBe(12.5);
    expect(insufficient.available).toBe(0.000001);
    expect(insufficient.requiredMicros).toBe(12_500_000n);
    expect(insufficient.availableMicros).toBe(1n);
  });

  it('leaves the amounts undefined when the body does not carry them', async () => {
    const error = (await thrownBy(errorReply(402, 'insufficient_credits'))) as InsufficientCreditsError;
    expect(error.required).toBeUndefined();
    expect(error.requiredMicros).toBeUndefined();
  });

  it('flags the kind of a conflict', async () => {
    const conflict = (await thrownBy(errorReply(409, 'idempotency_conflict'))) as ConflictError;
    expect(conflict).toBeInstanceOf(ConflictError);
    expect(conflict.isIdempotencyConflict).toBe(true);
    expect(conflict.isInvalidState).toBe(false);
    const unknown = (await thrownBy(errorReply(409, 'something_new'))) as ConflictError;
    expect(unknown.constructor).toBe(ConflictError);
    expect(unknown.isAlreadyRedeemed).toBe(false);
  });

  it('reads retryAfterSeconds from Retry-After, or from the body', async () => {
    const fromHeader = (await thrownBy(
      errorReply(429, 'rate_limited', {}, { 'retry-after': '3' }),
    )) as RateLimitedError;
    expect(fromHeader.retryAfterSeconds).toBe(3);
    const fromBody = (await thrownBy(
      errorReply(429, 'rate_limited', { retry_after_seconds: 9 }),
    )) as RateLimitedError;
    expect(fromBody.retryAfterSeconds).toBe(9);
  });

  it('keeps the response headers', async () => {
    const error = await thrownBy(errorReply(404, 'not_found', {}, { 'x-request-id': 'req_abc' }));
    expect(error.requestId).toBe('req_abc');
    expect(error.headers?.get('x-request-id')).toBe('req_abc');
  });

  it('falls back to a code from the status when the body is not a native error', async () => {
    const html = await thrownBy({ status: 502, body: '<html>Bad Gateway</html>' });
    expect(html).toBeInstanceOf(UpstreamError);
    expect(html.code).toBe('upstream_error');
    expect(html.message).toBe('HTTP 502: <html>Bad Gateway</html>');

    const openAiShape = await thrownBy({
      status: 400,
      body: { error: { message: 'bad', type: 'invalid_request' } },
    });
    expect(openAiShape).toBeInstanceOf(InvalidRequestError);
    expect(openAiShape.code).toBe('invalid_request');

    const teapot = await thrownBy({ status: 418 });
    expect(teapot.constructor).toBe(TollgateError);
    expect(teapot).toMatchObject({ status: 418, code: 'http_error', message: 'HTTP 418' });
  });

  it('reports a success answer that is not JSON', async () => {
    const error = await thrownBy({ status: 200, body: 'not json' });
    expect(error).toMatchObject({ status: 200, code: 'invalid_response' });
  });
});
