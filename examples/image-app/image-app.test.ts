/**
 * Runs the image-app example against a real Tollgate (in-process, PGlite) with a fake generator:
 * a good generation is charged the model's price, a failing one is voided and costs nothing.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../packages/server/test/support/server.ts';
import { createImageApp, type ImageGenerator } from './image-app.ts';

describe('examples/image-app', () => {
  let server: TestServer;
  let secretKey: string;

  beforeAll(async () => {
    server = await startTestServer({ name: 'pglite' });
    const response = await server.call('POST', '/v1/apps', { key: ADMIN_KEY, body: { name: 'Image app' } });
    secretKey = response.body.secret_key;
  });
  afterAll(async () => {
    await server?.close();
  });

  async function holdStatus(holdId: string) {
    return (await server.call('GET', `/v1/holds/${holdId}`, { key: secretKey })).body.status;
  }

  it('charges a successful generation the model price, through a captured hold', async () => {
    const generate = vi.fn<ImageGenerator>(async ({ prompt }) => ({
      url: `https://cdn.example.com/${encodeURIComponent(prompt)}.png`,
    }));
    const app = createImageApp({ tollgateUrl: server.url, secretKey, generate });
    await app.signUp('ada');
    expect(await app.creditsPerImage()).toBe(0.3);

    const outcome = await app.generateImage('ada', 'a lighthouse at dusk');
    expect(outcome).toMatchObject({
      ok: true,
      url: 'https://cdn.example.com/a%20lighthouse%20at%20dusk.png',
      charged: 0.3,
    });
    expect(generate).toHaveBeenCalledWith({ model: 'fal-ai/flux/schnell', prompt: 'a lighthouse at dusk' });
    expect(await holdStatus((outcome as { holdId: string }).holdId)).toBe('captured');
    expect(await app.balance('ada')).toEqual({ balance: 499.7, available: 499.7 });
  });

  it('voids the hold when the generation fails: the error surfaces, the balance is untouched', async () => {
    let holdDuringWork: unknown;
    const app = createImageApp({
      tollgateUrl: server.url,
      secretKey,
      generate: async () => {
        holdDuringWork = await app.balance('grace');
        throw new Error('fal: upstream timed out');
      },
    });
    await app.signUp('grace');
    await expect(app.generateImage('grace', 'a storm')).rejects.toThrow('fal: upstream timed out');
    // The price was reserved while the generation ran, then released.
    expect(holdDuringWork).toEqual({ balance: 500, available: 499.7 });
    expect(await app.balance('grace')).toEqual({ balance: 500, available: 500 });
    const history = await server.call('GET', '/v1/customers/grace/transactions', { key: secretKey });
    expect(history.body.data.map((entry: { type: string }) => entry.type)).not.toContain('usage');
  });

  it('refuses up front when credits run out, without running the generation', async () => {
    const generate = vi.fn<ImageGenerator>();
    const app = createImageApp({ tollgateUrl: server.url, secretKey, generate, model: 'fal-ai/veo3.1' });
    await app.signUp('linus');
    // Spend most of the bonus so one more 10-credit second of video does not fit.
    await server.call('POST', '/v1/customers/linus/grants', {
      key: secretKey,
      body: { amount: -495, source: 'adjustment', reason: 'example' },
    });
    expect(await app.generateImage('linus', 'waves')).toEqual({
      ok: false,
      reason: 'insufficient_credits',
      required: 10,
      available: 5,
    });
    expect(generate).not.toHaveBeenCalled();
  });
});
