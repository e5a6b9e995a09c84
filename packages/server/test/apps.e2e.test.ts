/**
 * Apps and their policies over HTTP: the operator creates and changes apps; an app's own secret key
 * reads itself and changes only its policies (BYOK allowed, checkout return origins), never its
 * referral rate or another app.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from './support/databases.ts';
import { expectError, expectStatus } from './support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './support/server.ts';

describe.each(testBackends())('apps on $name', (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(backend);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('creates an app with its policies and lets the operator change any field', async () => {
    const created = await server.createApp({ allow_byok: false, return_origins: ['https://shop.example'] });
    expect(created).toMatchObject({ allow_byok: false, return_origins: ['https://shop.example'] });
    const defaults = await server.createApp();
    expect(defaults).toMatchObject({ allow_byok: true, return_origins: [] });

    const changed = expectStatus(
      await server.call('PATCH', `/v1/apps/${created.id}`, {
        key: ADMIN_KEY,
        body: { referral_rate: 0.25, allow_byok: true, name: 'renamed' },
      }),
      200,
    );
    expect(changed).toMatchObject({ name: 'renamed', referral_rate: 0.25, allow_byok: true });
    const listed = expectStatus(await server.call('GET', '/v1/apps', { key: ADMIN_KEY }), 200);
    expect(listed.data.find((app: { id: string }) => app.id === created.id)).toMatchObject({
      name: 'renamed',
      allow_byok: true,
      return_origins: ['https://shop.example'],
    });
  });

  it('an app changes its own policies, nothing else, and cannot see another app', async () => {
    const app = await server.createApp({ referral_rate: 0.1 });
    const other = await server.createApp();
    const own = expectStatus(
      await server.call('PATCH', `/v1/apps/${app.id}`, {
        key: app.secret_key,
        body: { allow_byok: false, return_origins: ['https://a.example', 'http://localhost:3000'] },
      }),
      200,
    );
    expect(own).toMatchObject({
      allow_byok: false,
      return_origins: ['https://a.example', 'http://localhost:3000'],
    });
    expect(
      expectStatus(await server.call('GET', `/v1/apps/${app.id}`, { key: app.secret_key }), 200),
    ).toMatchObject({
      allow_byok: false,
      referral_rate: 0.1,
    });

    expectError(
      await server.call('PATCH', `/v1/apps/${app.id}`, { key: app.secret_key, body: { referral_rate: 5 } }),
      403,
      'forbidden',
    );
    expectError(
      await server.call('PATCH', `/v1/apps/${other.id}`, {
        key: app.secret_key,
        body: { allow_byok: false },
      }),
      404,
      'not_found',
    );
    expectError(await server.call('GET', `/v1/apps/${other.id}`, { key: app.secret_key }), 404, 'not_found');
    expect(
      expectStatus(await server.call('GET', `/v1/apps/${app.id}`, { key: app.secret_key }), 200)
        .referral_rate,
    ).toBe(0.1);
  });

  it('refuses return origins that are not bare origins, and unknown fields', async () => {
    const app = await server.createApp();
    for (const bad of ['https://a.example/path', 'javascript:alert(1)', 'a.example', 'ftp://a.example']) {
      expectError(
        await server.call('PATCH', `/v1/apps/${app.id}`, { key: ADMIN_KEY, body: { return_origins: [bad] } }),
        400,
        'invalid_request',
      );
    }
    expectError(
      await server.call('PATCH', `/v1/apps/${app.id}`, { key: ADMIN_KEY, body: { allow_byok: 'no' } }),
      400,
      'invalid_request',
    );
    expectError(
      await server.call('PATCH', `/v1/apps/${app.id}`, { key: ADMIN_KEY, body: { byok: false } }),
      400,
      'invalid_request',
    );
    expectError(
      await server.call('PATCH', '/v1/apps/app_missing', { key: ADMIN_KEY, body: { allow_byok: false } }),
      404,
      'not_found',
    );
  });
});
