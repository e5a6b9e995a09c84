/**
 * Runs the image-app example against a real Tollgate (in-process, PGlite) with a fake generator:
 * a good generation is charged the model's price, a failing one is voided and costs nothing, and a
 * user who brought their own fal key (checked against a local fake fal) has the generation run on
 * their key and pays no credits — while an app that forbids BYOK keeps charging credits.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../../packages/server/test/fakes/fake-upstream.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../packages/server/test/support/server.ts';
import { createImageApp, type ImageGenerator } from './image-app.ts';

const APP_FAL_KEY = 'fal-app-own-key-0001';
const USER_FAL_KEY = 'fal-user-own-key-0002';

describe('examples/image-app', () => {
  let fal: FakeUpstream;
  let server: TestServer;
  let secretKey: string;

  beforeAll(async () => {
    // Only key checks reach this fake: the example's generator is the test's own function.
    fal = await startFakeUpstream({ acceptedKeys: [USER_FAL_KEY] });
    server = await startTestServer({ name: 'pglite' }, { env: { FAL_BASE_URL: fal.url } });
    const response = await server.call('POST', '/v1/apps', { key: ADMIN_KEY, body: { name: 'Image app' } });
    secretKey = response.body.secret_key;
  });
  afterAll(async () => {
    await server?.close();
    await fal?.close();
  });

  async function holdStatus(holdId: string) {
    return (await server.call('GET', `/v1/holds/${holdId}`, { key: secretKey })).body.status;
  }

  const fakeImage: ImageGenerator = async ({ prompt }) => ({
    url: `https://cdn.example.com/${encodeURIComponent(prompt)}.png`,
  });

  it('charges a successful generation the model price, through a captured hold, run on the app’s key', async () => {
    const generate = vi.fn<ImageGenerator>(fakeImage);
    const app = createImageApp({ tollgateUrl: server.url, secretKey, falKey: APP_FAL_KEY, generate });
    await app.signUp('ada');
    expect(await app.creditsPerImage()).toBe(0.3);

    const outcome = await app.generateImage('ada', 'a lighthouse at dusk');
    expect(outcome).toMatchObject({
      ok: true,
      url: 'https://cdn.example.com/a%20lighthouse%20at%20dusk.png',
      charged: 0.3,
      funding: 'credits',
    });
    expect(generate).toHaveBeenCalledWith({
      model: 'fal-ai/flux/schnell',
      prompt: 'a lighthouse at dusk',
      apiKey: APP_FAL_KEY,
    });
    expect(await holdStatus((outcome as { holdId: string }).holdId)).toBe('captured');
    expect(await app.balance('ada')).toEqual({ balance: 499.7, available: 499.7 });
  });

  it('runs a user’s generation on their own fal key and charges no credits (byok)', async () => {
    const generate = vi.fn<ImageGenerator>(fakeImage);
    const app = createImageApp({ tollgateUrl: server.url, secretKey, falKey: APP_FAL_KEY, generate });
    await app.signUp('margaret');
    // A key fal does not accept is refused and changes nothing.
    await expect(app.useOwnFalKey('margaret', 'fal-made-up-key-999')).rejects.toMatchObject({
      status: 400,
      details: { reason: 'provider_key_rejected' },
    });
    expect(await app.generateImage('margaret', 'a harbour')).toMatchObject({
      charged: 0.3,
      funding: 'credits',
    });
    expect(generate).toHaveBeenLastCalledWith(expect.objectContaining({ apiKey: APP_FAL_KEY }));

    await app.useOwnFalKey('margaret', USER_FAL_KEY);
    const outcome = await app.generateImage('margaret', 'a harbour at night');
    expect(outcome).toMatchObject({ ok: true, charged: 0, funding: 'byok' });
    expect(generate).toHaveBeenLastCalledWith({
      model: 'fal-ai/flux/schnell',
      prompt: 'a harbour at night',
      apiKey: USER_FAL_KEY,
    });
    expect(await app.balance('margaret')).toEqual({ balance: 499.7, available: 499.7 });
  });

  it('keeps charging credits on the app’s key when the app forbids BYOK, whatever key the user stored', async () => {
    const created = await server.call('POST', '/v1/apps', {
      key: ADMIN_KEY,
      body: { name: 'Strict image app' },
    });
    const strictKey: string = created.body.secret_key;
    const generate = vi.fn<ImageGenerator>(fakeImage);
    const app = createImageApp({
      tollgateUrl: server.url,
      secretKey: strictKey,
      falKey: APP_FAL_KEY,
      generate,
    });
    await app.signUp('katherine');
    await app.useOwnFalKey('katherine', USER_FAL_KEY);
    await server.call('PATCH', `/v1/apps/${created.body.id}`, {
      key: strictKey,
      body: { allow_byok: false },
    });

    expect(await app.generateImage('katherine', 'a comet')).toMatchObject({
      charged: 0.3,
      funding: 'credits',
    });
    expect(generate).toHaveBeenLastCalledWith(expect.objectContaining({ apiKey: APP_FAL_KEY }));
    expect(await app.balance('katherine')).toEqual({ balance: 499.7, available: 499.7 });
    await expect(app.useOwnFalKey('katherine', USER_FAL_KEY)).rejects.toMatchObject({ status: 403 });
  });

  it('voids the hold when the generation fails: the error surfaces, the balance is untouched', async () => {
    let holdDuringWork: unknown;
    const app = createImageApp({
      tollgateUrl: server.url,
      secretKey,
      falKey: APP_FAL_KEY,
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
    const app = createImageApp({
      tollgateUrl: server.url,
      secretKey,
      falKey: APP_FAL_KEY,
      generate,
      model: 'fal-ai/veo3.1',
    });
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
