import { describe, expect, it } from 'vitest';
import type { ProviderConfig } from '../config/types.ts';
import { TollgateError } from '../shared/errors.ts';
import { checkProviderKey, keyCheckRequest, keyCheckVerdict } from './key-check.ts';

function provider(
  name: string,
  format: ProviderConfig['format'],
  baseUrl: string,
  configured = true,
): ProviderConfig {
  return { name, format, baseUrl, apiKeyEnv: 'X', apiKeyEnvs: ['X'], configured };
}

const openai = provider('openai', 'openai', 'https://api.openai.test/v1');
const anthropic = provider('anthropic', 'anthropic', 'https://api.anthropic.test');
const openrouter = provider('openrouter', 'openai', 'https://openrouter.test/api/v1/');
const fal = provider('fal', 'fal', 'https://queue.fal.test');

function answering(status: number, body: unknown): typeof fetch {
  return (async () => new Response(JSON.stringify(body), { status })) as unknown as typeof fetch;
}

async function refusal(run: Promise<unknown>): Promise<TollgateError> {
  const error = await run.then(
    () => {
      throw new Error('expected the check to fail');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(TollgateError);
  return error as TollgateError;
}

describe('keyCheckRequest', () => {
  it('asks each provider the cheapest authenticated question it has', () => {
    expect(keyCheckRequest(openai, 'sk-1')).toEqual({
      url: 'https://api.openai.test/v1/models',
      headers: { authorization: 'Bearer sk-1' },
    });
    expect(keyCheckRequest(anthropic, 'sk-ant')).toEqual({
      url: 'https://api.anthropic.test/v1/models?limit=1',
      headers: { 'x-api-key': 'sk-ant', 'anthropic-version': '2023-06-01' },
    });
    expect(keyCheckRequest(openrouter, 'sk-or').url).toBe('https://openrouter.test/api/v1/key');
    expect(keyCheckRequest(fal, 'k:s')).toEqual({
      url: 'https://queue.fal.test/fal-ai/flux/requests/00000000-0000-4000-8000-000000000000/status',
      headers: { authorization: 'Key k:s' },
    });
  });
});

describe('keyCheckVerdict', () => {
  it.each([
    [openai, 200, 'accepted'],
    [openai, 401, 'rejected'],
    [openai, 403, 'rejected'],
    [openai, 404, 'unreachable'],
    [openai, 429, 'unreachable'],
    [openai, 500, 'unreachable'],
    [openai, 302, 'unreachable'],
    [fal, 404, 'accepted'],
    [fal, 401, 'rejected'],
    [fal, 503, 'unreachable'],
  ] as const)('%s answering %i → %s', (config, status, verdict) => {
    expect(keyCheckVerdict(config, status)).toBe(verdict);
  });
});

describe('checkProviderKey', () => {
  it('passes an accepted key', async () => {
    await expect(
      checkProviderKey(openai, 'sk-good', { timeoutMilliseconds: 1000, fetch: answering(200, { data: [] }) }),
    ).resolves.toBeUndefined();
  });

  it('refuses a rejected key with 400 provider_key_rejected, never quoting the key the provider echoed', async () => {
    const key = 'sk-proj-thisIsTheCustomersWholeKey0123456789';
    const error = await refusal(
      checkProviderKey(openai, key, {
        timeoutMilliseconds: 1000,
        fetch: answering(401, { error: { message: `Incorrect API key provided: ${key}` } }),
      }),
    );
    expect(error).toMatchObject({ code: 'invalid_request', status: 400 });
    expect(error.details).toMatchObject({
      reason: 'provider_key_rejected',
      provider: 'openai',
      param: 'key',
    });
    expect(error.message).toContain('Incorrect API key provided');
    expect(error.message).not.toContain(key);
    expect(error.message).not.toContain('0123456789');
  });

  it('answers 502 when the provider cannot be asked: down, unconfigured, or too slow', async () => {
    const down = await refusal(
      checkProviderKey(openai, 'sk-x', {
        timeoutMilliseconds: 1000,
        fetch: answering(503, { error: 'busy' }),
      }),
    );
    expect(down).toMatchObject({ code: 'upstream_error', status: 502 });
    expect(down.details.reason).toBe('provider_unreachable');
    const unconfigured = await refusal(
      checkProviderKey(provider('fal', 'fal', 'http://127.0.0.1:0', false), 'k', {
        timeoutMilliseconds: 1000,
      }),
    );
    expect(unconfigured.details.reason).toBe('provider_not_configured');
    const never = (async (_url: string, init: RequestInit) =>
      new Promise((_resolve, reject) =>
        init.signal!.addEventListener('abort', () => reject(init.signal!.reason)),
      )) as unknown as typeof fetch;
    const slow = await refusal(checkProviderKey(openai, 'sk-x', { timeoutMilliseconds: 20, fetch: never }));
    expect(slow).toMatchObject({ code: 'upstream_error' });
    expect(slow.message).toContain('did not answer in time');
  });
});
