/**
 * Media generation jobs over the fake fal-style queue: held at submit at the price of the submitted
 * input, captured only when the job completes, voided when it fails; the worker settles jobs nobody
 * polls. (The attacks on the price live in attacks/generations-byok.e2e.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.ts';
import { type FakeUpstream, startFakeUpstream } from './fakes/fake-upstream.ts';
import { testBackends } from './support/databases.ts';
import { startTestServer, type TestServer } from './support/server.ts';

describe.each(testBackends())('generations on $name', (backend) => {
  let server: TestServer;
  let upstream: FakeUpstream;
  let app: { id: string; secret_key: string };

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    const env = { FAL_BASE_URL: upstream.url, FAL_KEY: 'fal-platform-key' };
    server = await startTestServer(backend, { env, config: loadConfig(undefined, env) });
    app = await server.createApp({ referral_rate: 0.1 });
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
  });

  const balance = async (userKey: string) =>
    (await server.call('GET', '/v1/credits/balance', { headers: { 'x-user-key': userKey } })).body;

  it('holds at submit and charges the catalog price (plus referral share) when the job completes', async () => {
    const user = await server.createCustomer(app.secret_key, `gen-${Math.random()}`);
    const headers = { 'x-user-key': user.user_key };
    const submitted = await server.call('POST', '/v1/generations', {
      headers,
      body: { model: 'fal-ai/flux/schnell', input: { prompt: 'a gradient' } },
    });
    expect(submitted.status).toBe(201);
    expect(submitted.body.status).toBe('queued');
    expect((await balance(user.user_key)).pending).toBe(0.33);
    let job = submitted.body;
    for (let poll = 0; poll < 10 && job.status !== 'completed'; poll += 1) {
      job = (await server.call('GET', `/v1/generations/${job.id}`, { headers })).body;
    }
    expect(job.status).toBe('completed');
    expect(job.cost).toBe(0.33);
    expect(job.result).toBeTruthy();
    const after = await balance(user.user_key);
    expect(after.balance).toBe(500 - 0.33);
    expect(after.pending).toBe(0);
    const submit = upstream.requests.find((request) => request.method === 'POST')!;
    expect(submit.authorization).toBe('Key fal-platform-key');
    // The catalog's default for the work field is written into what the provider is asked to do.
    expect(submit.body).toEqual({ prompt: 'a gradient', num_images: 1 });
  });

  it('a failed job is free, and the worker settles jobs nobody polls', async () => {
    const user = await server.createCustomer(app.secret_key, `gen-fail-${Math.random()}`);
    const headers = { 'x-user-key': user.user_key };
    upstream.queueBehavior({ falStatuses: ['IN_PROGRESS', 'FAILED'] });
    const failed = (
      await server.call('POST', '/v1/generations', {
        headers,
        body: { model: 'fal-ai/veo3.1', input: { prompt: 'x', duration: '8s' } },
      })
    ).body;
    expect((await balance(user.user_key)).pending).toBe(88);
    upstream.queueBehavior({ falStatuses: ['IN_PROGRESS', 'COMPLETED'] });
    const done = (
      await server.call('POST', '/v1/generations', {
        headers,
        body: { model: 'fal-ai/flux/schnell', input: { prompt: 'y' } },
      })
    ).body;
    for (let round = 0; round < 4; round += 1) await server.tollgate.services.generations.pollPending();
    const failedView = (await server.call('GET', `/v1/generations/${failed.id}`, { headers })).body;
    const doneView = (await server.call('GET', `/v1/generations/${done.id}`, { headers })).body;
    expect(failedView.status).toBe('failed');
    expect(failedView.cost).toBeNull();
    expect(doneView.status).toBe('completed');
    const after = await balance(user.user_key);
    expect(after.pending).toBe(0);
    expect(after.balance).toBe(500 - 0.33);
  });

  it('refuses a job the customer cannot afford with 402 and submits nothing', async () => {
    const user = await server.createCustomer(app.secret_key, `gen-poor-${Math.random()}`);
    await server.call('POST', `/v1/customers/${user.id}/grants`, {
      key: app.secret_key,
      body: { amount: -450, source: 'adjustment', reason: 'spent elsewhere' },
    });
    const submits = upstream.requests.filter((request) => request.method === 'POST').length;
    const response = await server.call('POST', '/v1/generations', {
      headers: { 'x-user-key': user.user_key },
      body: { model: 'fal-ai/veo3.1', input: { prompt: 'long' } },
    });
    expect(response.status).toBe(402);
    // The default 8-second clip at 10 credits a second plus the app's 10%.
    expect(response.body.error).toMatchObject({ code: 'insufficient_credits', required: 88, available: 50 });
    expect(upstream.requests.filter((request) => request.method === 'POST').length).toBe(submits);
  });

  it('refuses a client-stated quantity and bad work fields with 400 naming the field, submitting nothing', async () => {
    const user = await server.createCustomer(app.secret_key, `gen-bad-${Math.random()}`);
    const headers = { 'x-user-key': user.user_key };
    const submits = upstream.requests.filter((request) => request.method === 'POST').length;
    const cases: [Record<string, unknown>, string][] = [
      [{ model: 'fal-ai/veo3.1', input: { prompt: 'p' }, quantity: 8 }, 'quantity'],
      [{ model: 'fal-ai/veo3.1', input: { prompt: 'p', duration: '8 seconds' } }, 'input.duration'],
      [{ model: 'fal-ai/flux/schnell', input: { prompt: 'p', num_images: 'four' } }, 'input.num_images'],
      [{ model: 'fal-ai/ltx-video', input: { prompt: 'p', duration: 10 } }, 'input.duration'],
    ];
    for (const [body, param] of cases) {
      const response = await server.call('POST', '/v1/generations', { headers, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'invalid_request', param });
    }
    expect(upstream.requests.filter((request) => request.method === 'POST').length).toBe(submits);
    expect((await balance(user.user_key)).pending).toBe(0);
  });
});
