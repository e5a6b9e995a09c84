/**
 * An app's referral rate over HTTP: the operator sets the rate and a ceiling; the app sets its own
 * rate up to that ceiling (`PUT /v1/partner/referral-rate`), every change is in the history, and
 * work priced after a change uses the new rate while what was charged before keeps its share.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from './support/databases.ts';
import { expectError, expectStatus } from './support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './support/server.ts';

describe.each(testBackends())('partner referral rate on $name', (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(backend);
  });
  afterAll(async () => {
    await server?.close();
  });

  const setOwn = (key: string, rate: unknown) =>
    server.call('PUT', '/v1/partner/referral-rate', { key, body: { referral_rate: rate } });

  it('the ceiling starts at the rate the operator gave; the app moves within it, never above', async () => {
    const app = await server.createApp({ referral_rate: 0.1 });
    expect(app).toMatchObject({ referral_rate: 0.1, referral_rate_max: 0.1 });
    const account = expectStatus(
      await server.call('GET', '/v1/partner/account', { key: app.secret_key }),
      200,
    );
    expect(account.app).toMatchObject({
      referral_rate: 0.1,
      referral_rate_max: 0.1,
      publishable_key: app.publishable_key,
    });

    expectError(await setOwn(app.secret_key, 0.2), 400, 'invalid_request');
    const lowered = expectStatus(await setOwn(app.secret_key, 0.05), 200);
    expect(lowered).toMatchObject({ referral_rate: 0.05, referral_rate_max: 0.1 });
    expect(expectStatus(await setOwn(app.secret_key, '0.1'), 200).referral_rate).toBe(0.1);

    // The operator lifts the ceiling; the app may then go up to it.
    expectStatus(
      await server.call('PATCH', `/v1/apps/${app.id}`, { key: ADMIN_KEY, body: { referral_rate_max: 0.3 } }),
      200,
    );
    expect(expectStatus(await setOwn(app.secret_key, 0.3), 200).referral_rate).toBe(0.3);
    const above = expectError(await setOwn(app.secret_key, 0.300001), 400, 'invalid_request');
    expect(above).toMatchObject({ param: 'referral_rate', referral_rate_max: 0.3 });

    // A ceiling lowered under the rate brings the rate down with it.
    const capped = expectStatus(
      await server.call('PATCH', `/v1/apps/${app.id}`, { key: ADMIN_KEY, body: { referral_rate_max: 0.15 } }),
      200,
    );
    expect(capped).toMatchObject({ referral_rate: 0.15, referral_rate_max: 0.15 });

    const history = expectStatus(
      await server.call('GET', '/v1/partner/referral-rate', { key: app.secret_key }),
      200,
    );
    expect(history).toMatchObject({ referral_rate: 0.15, referral_rate_max: 0.15 });
    expect(
      history.history.map((change: { changed_by: string; from: number | null; to: number; max: number }) => [
        change.changed_by,
        change.from,
        change.to,
        change.max,
      ]),
    ).toEqual([
      ['operator', 0.3, 0.15, 0.15],
      ['app', 0.1, 0.3, 0.3],
      ['operator', 0.1, 0.1, 0.3],
      ['app', 0.05, 0.1, 0.1],
      ['app', 0.1, 0.05, 0.1],
      ['operator', null, 0.1, 0.1],
    ]);
  });

  it('refuses what is not the app’s to change, and malformed or unbounded rates', async () => {
    const app = await server.createApp({ referral_rate: 0.1, referral_rate_max: 0.5 });
    expect(app).toMatchObject({ referral_rate: 0.1, referral_rate_max: 0.5 });
    expectError(
      await server.call('POST', '/v1/apps', {
        key: ADMIN_KEY,
        body: { name: 'over', referral_rate: 0.5, referral_rate_max: 0.3 },
      }),
      400,
      'invalid_request',
    );
    // The ceiling is the operator's.
    expectError(
      await server.call('PATCH', `/v1/apps/${app.id}`, {
        key: app.secret_key,
        body: { referral_rate_max: 5 },
      }),
      403,
      'forbidden',
    );
    // The admin key names no app: the partner endpoint is the app's own.
    expectError(await setOwn(ADMIN_KEY, 0.2), 403, 'forbidden');
    for (const bad of [-0.1, 11, '1e3', 'abc', 0.1234567, null, true]) {
      expectError(await setOwn(app.secret_key, bad), 400, 'invalid_request');
    }
    expectError(
      await server.call('PUT', '/v1/partner/referral-rate', {
        key: app.secret_key,
        body: { referral_rate: 0.2, referral_rate_max: 1 },
      }),
      400,
      'invalid_request',
    );
    expectError(await setOwn('tg_sk_not_a_key', 0.2), 401, 'invalid_api_key');
    const customer = await server.createCustomer(app.secret_key, 'rate-user');
    expectError(await setOwn(customer.user_key, 0.2), 403, 'forbidden');
    expect(
      expectStatus(await server.call('GET', `/v1/apps/${app.id}`, { key: ADMIN_KEY }), 200).referral_rate,
    ).toBe(0.1);
  });

  it('work priced after a change uses the new rate; what was charged before keeps its share', async () => {
    const app = await server.createApp({ referral_rate: 0.1, referral_rate_max: 1 });
    const customer = await server.createCustomer(app.secret_key, 'rate-buyer');
    expectStatus(
      await server.call('POST', `/v1/customers/${customer.id}/grants`, {
        key: app.secret_key,
        body: { amount: 1000, source: 'promo' },
      }),
      201,
    );
    const charge = async () =>
      expectStatus(
        await server.call('POST', '/v1/charges', {
          key: app.secret_key,
          body: { customer: customer.id, model: 'fal-ai/flux/schnell' },
        }),
        201,
      );
    const before = await charge();
    expectStatus(await setOwn(app.secret_key, 0.5), 200);
    const after = await charge();
    const cost = before.amount - before.referral_share;
    expect(before.referral_share).toBeCloseTo(cost * 0.1, 5);
    expect(after.referral_share).toBeCloseTo(cost * 0.5, 5);
    const statement = expectStatus(
      await server.call('GET', '/v1/partner/statement', { key: app.secret_key }),
      200,
    );
    expect(statement.earned).toBeCloseTo(before.referral_share + after.referral_share, 5);
  });

  it('is in the API reference', async () => {
    const openapi = expectStatus(await server.call('GET', '/openapi.json'), 200);
    const operations = openapi.paths['/v1/partner/referral-rate'];
    expect(operations?.get).toBeTypeOf('object');
    expect(operations?.put?.requestBody).toBeTypeOf('object');
    expect(JSON.stringify(openapi.paths['/v1/apps'].post)).toContain('referral_rate_max');
  });
});
