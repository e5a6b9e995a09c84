import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { credits } from './amounts.ts';
import {
  InsufficientCreditsError,
  InvalidStateError,
  PermissionDeniedError,
  UpstreamError,
} from './errors.ts';
import { errorReply, scriptedClient } from './stub-fetch.ts';
import type { WithHoldValue } from './with-hold.ts';

const hold = {
  id: 'hold_1',
  status: 'held',
  amount: 20,
  expires_at: '2026-01-01T00:15:00Z',
  funding: 'credits',
};
const captured = { id: 'hold_1', status: 'captured', amount: 20, transaction_id: 'txn_1' };
const voided = { id: 'hold_1', status: 'voided' };

describe('withHold', () => {
  it('holds, runs the work, and captures the held amount on success', async () => {
    const { client, calls } = scriptedClient([{ status: 201, body: hold }, { body: captured }]);
    const work = vi.fn(async () => 'https://cdn.example.com/clip.mp4');
    const outcome = await client.withHold('user_42', 'fal-ai/veo3.1', work, {
      quantity: 8,
      run_id: 'run_1',
      max_run_cost: '100',
      metadata: { shot: 3 },
    });

    // Credits pay: the work is told so, and to use the app's own key (none was passed).
    expect(work).toHaveBeenCalledWith(hold, { funding: 'credits', apiKey: null, provider: null });
    expect(outcome).toEqual({ result: 'https://cdn.example.com/clip.mp4', hold, capture: captured });
    expect(calls.map((call) => `${call.method} ${new URL(call.url).pathname}`)).toEqual([
      'POST /v1/holds',
      'POST /v1/holds/hold_1/capture',
    ]);
    expect(calls[0].json).toEqual({
      customer: 'user_42',
      model: 'fal-ai/veo3.1',
      quantity: 8,
      run_id: 'run_1',
      max_run_cost: 100,
      metadata: { shot: 3 },
    });
    expect(calls[1].json).toEqual({});
    const keys = calls.map((call) => call.headers.get('idempotency-key'));
    expect(keys[0]).toBeTruthy();
    expect(keys[1]).toBeTruthy();
    expect(keys[0]).not.toBe(keys[1]);
  });

  it('hands a credits hold the app’s own provider key when it is given', async () => {
    const { client, calls } = scriptedClient([{ status: 201, body: hold }, { body: captured }]);
    const work = vi.fn(async () => 'ok');
    await client.withHold('user_42', 'fal-ai/flux/schnell', work, { providerKey: 'fal-app-own-key' });
    expect(work).toHaveBeenCalledWith(hold, {
      funding: 'credits',
      apiKey: 'fal-app-own-key',
      provider: null,
    });
    // The option is the app's secret: it never goes to Tollgate.
    expect(calls[0].body).not.toContain('fal-app-own-key');
    expect(calls.map((call) => new URL(call.url).pathname)).toEqual([
      '/v1/holds',
      '/v1/holds/hold_1/capture',
    ]);
  });

  it('reads a byok hold’s key once and hands the customer’s key to the work', async () => {
    const byokHold = { ...hold, amount: 0.3, funding: 'byok' };
    const { client, calls } = scriptedClient([
      { status: 201, body: byokHold },
      { body: { hold: 'hold_1', provider: 'fal', key: 'fal-customer-key' } },
      { body: { ...captured, amount: 0 } },
    ]);
    const work = vi.fn(async (_hold: unknown, key: { apiKey: string | null }) => `ran with ${key.apiKey}`);
    const outcome = await client.withHold('user_42', 'fal-ai/flux/schnell', work, {
      providerKey: 'fal-app-own-key',
    });
    expect(work).toHaveBeenCalledWith(byokHold, {
      funding: 'byok',
      apiKey: 'fal-customer-key',
      provider: 'fal',
    });
    expect(outcome.result).toBe('ran with fal-customer-key');
    expect(calls.map((call) => `${call.method} ${new URL(call.url).pathname}`)).toEqual([
      'POST /v1/holds',
      'GET /v1/holds/hold_1/provider-key',
      'POST /v1/holds/hold_1/capture',
    ]);
  });

  it('does not run the work when a byok hold’s key cannot be read: voids and rethrows', async () => {
    const { client, calls } = scriptedClient(
      [
        { status: 201, body: { ...hold, funding: 'byok' } },
        errorReply(403, 'forbidden', { reason: 'byok_not_allowed' }),
        { body: voided },
      ],
      { maxRetries: 0 },
    );
    const work = vi.fn();
    await expect(client.withHold('user_42', 'fal-ai/flux/schnell', work)).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
    expect(work).not.toHaveBeenCalled();
    expect(calls.map((call) => new URL(call.url).pathname)).toEqual([
      '/v1/holds',
      '/v1/holds/hold_1/provider-key',
      '/v1/holds/hold_1/void',
    ]);
  });

  it('captures the actual work when the work re-states it', async () => {
    const { client, calls } = scriptedClient([
      { status: 201, body: hold },
      { body: { ...captured, amount: 15 } },
    ]);
    const outcome = await client.withHold('user_42', 'fal-ai/veo3.1', async () => ({
      result: { url: 'clip.mp4' },
      quantity: 6,
    }));
    expect(calls[1].json).toEqual({ quantity: 6 });
    expect(outcome.result).toEqual({ url: 'clip.mp4' });
    expect(outcome.capture.amount).toBe(15);
  });

  it('accepts a bare re-statement of usage or amount', async () => {
    const { client, calls } = scriptedClient([{ status: 201, body: hold }, { body: captured }]);
    const outcome = await client.withHold('user_42', 'openai/gpt-4o', () => ({
      usage: { input_tokens: 1200, output_tokens: 300 },
      amount: credits('1.25'),
    }));
    expect(calls[1].body).toBe('{"usage":{"input_tokens":1200,"output_tokens":300},"amount":1.25}');
    expect(outcome.result).toBeUndefined();
  });

  it('does not mistake a result that has other fields (an OpenAI completion) for a re-statement', async () => {
    const { client, calls } = scriptedClient([{ status: 201, body: hold }, { body: captured }]);
    const completion = { id: 'chatcmpl_1', choices: [], usage: { prompt_tokens: 10, completion_tokens: 5 } };
    const outcome = await client.withHold('user_42', 'openai/gpt-4o', async () => completion);
    expect(calls[1].json).toEqual({});
    expect(outcome.result).toBe(completion);
  });

  it('voids the hold and rethrows when the work throws', async () => {
    const { client, calls } = scriptedClient([{ status: 201, body: hold }, { body: voided }]);
    const failure = new Error('provider exploded');
    await expect(
      client.withHold('user_42', 'fal-ai/flux/schnell', async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(calls.map((call) => new URL(call.url).pathname)).toEqual(['/v1/holds', '/v1/holds/hold_1/void']);
    expect(calls[1].headers.get('idempotency-key')).toBeTruthy();
  });

  it('still rethrows the work failure when voiding fails, and reports the void failure', async () => {
    const { client, calls } = scriptedClient(
      [{ status: 201, body: hold }, errorReply(409, 'invalid_state')],
      { maxRetries: 0 },
    );
    const failure = new Error('timeout upstream');
    const onVoidError = vi.fn();
    await expect(
      client.withHold(
        'user_42',
        'fal-ai/flux/schnell',
        () => {
          throw failure;
        },
        { onVoidError },
      ),
    ).rejects.toBe(failure);
    expect(calls).toHaveLength(2);
    expect(onVoidError).toHaveBeenCalledWith(expect.any(InvalidStateError), hold);
  });

  it('does not run the work when the hold is refused', async () => {
    const { client, calls } = scriptedClient([
      errorReply(402, 'insufficient_credits', { required: 20, available: 4 }),
    ]);
    const work = vi.fn();
    await expect(client.withHold('user_42', 'fal-ai/veo3.1', work)).rejects.toBeInstanceOf(
      InsufficientCreditsError,
    );
    expect(work).not.toHaveBeenCalled();
    expect(calls).toHaveLength(1);
  });

  it('retries a failed capture with the same key, and surfaces it when retries are spent', async () => {
    const { client, calls } = scriptedClient([
      { status: 201, body: hold },
      errorReply(502, 'upstream_error'),
      errorReply(502, 'upstream_error'),
      errorReply(502, 'upstream_error'),
    ]);
    await expect(client.withHold('user_42', 'm', () => 'done')).rejects.toBeInstanceOf(UpstreamError);
    const captureKeys = calls.slice(1).map((call) => call.headers.get('idempotency-key'));
    expect(captureKeys).toHaveLength(3);
    expect(new Set(captureKeys).size).toBe(1);
    // The work succeeded: the hold is not voided (the server voids it at expires_at if never captured).
    expect(calls.some((call) => call.url.endsWith('/void'))).toBe(false);
  });
});

describe('WithHoldValue (types)', () => {
  it('passes results through and unwraps re-statements', () => {
    expectTypeOf<WithHoldValue<string>>().toEqualTypeOf<string>();
    expectTypeOf<WithHoldValue<{ result: URL; quantity: number }>>().toEqualTypeOf<URL>();
    expectTypeOf<WithHoldValue<{ usage: { input_tokens: number } }>>().toEqualTypeOf<undefined>();
    type Completion = { id: string; usage: { prompt_tokens: number } };
    expectTypeOf<WithHoldValue<Completion>>().toEqualTypeOf<Completion>();
    expectTypeOf<WithHoldValue<string[]>>().toEqualTypeOf<string[]>();
  });
});
