/**
 * Entitlements over real HTTP on every backend, with seed 003's tiers as the config
 * (examples/plans-with-features/tollgate.yaml): a plan paid on the test checkout page unlocks its
 * switches, limits and metered allowance; a bought pack unlocks its own, merged with the plan's;
 * `check` answers {allowed, remaining, reason}; `track` draws from the allowance, idempotent under a
 * key, and 100 concurrent tracks stop exactly at the allowance.
 */
import { fileURLToPath } from 'node:url';
import { Tollgate } from '@tollgate/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.ts';
import { loadConfig } from '../src/config/load-config.ts';
import { auditLedger } from '../src/ledger/audit.ts';
import { testBackends } from './support/databases.ts';
import { expectError, expectStatus } from './support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './support/server.ts';

const EXAMPLE_CONFIG = fileURLToPath(
  new URL('../../../examples/plans-with-features/tollgate.yaml', import.meta.url),
);

for (const backend of testBackends()) {
  describe(`entitlements (${backend.name})`, () => {
    let server: TestServer;
    let app: { id: string; secret_key: string };

    beforeAll(async () => {
      server = await startTestServer(backend, { config: loadConfig(EXAMPLE_CONFIG, {}) });
      server.clock.set('2031-03-01T00:00:00.000Z');
      app = await server.createApp({ name: 'Studio app' });
    });
    afterAll(async () => {
      await server?.close();
    });

    const payTestPage = async (url: string) => {
      const paid = await fetch(`${url}/pay`, { method: 'POST', headers: { accept: 'application/json' } });
      expect(paid.status, await paid.clone().text()).toBe(200);
    };
    const subscribe = async (customer: string, plan: string) => {
      const started = expectStatus(
        await server.call('POST', `/v1/customers/${customer}/subscription`, {
          key: app.secret_key,
          body: { plan },
        }),
        201,
      );
      await payTestPage(started.checkout.url);
    };
    const check = async (customer: string, feature: string, quantity?: number, key = app.secret_key) =>
      expectStatus(
        await server.call('POST', '/v1/check', { key, body: { customer, feature, quantity } }),
        200,
      );
    const track = (customer: string, feature: string, quantity: number, idempotencyKey?: string) =>
      server.call('POST', '/v1/track', {
        key: app.secret_key,
        body: { customer, feature, quantity },
        headers: idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
      });
    const entitlementsOf = async (customer: string) =>
      expectStatus(
        await server.call('GET', `/v1/customers/${customer}/entitlements`, { key: app.secret_key }),
        200,
      );
    const feature = (view: any, name: string) => view.features.find((entry: any) => entry.feature === name);

    it('a plan unlocks its switches, limits and allowance; check and track answer from it', async () => {
      const customer = await server.createCustomer(app.secret_key, 'director');

      // No plan yet: credits (the signup bonus) unlock nothing.
      let view = await entitlementsOf(customer.id);
      expect(view.plan).toBeNull();
      expect(view.features.map((entry: any) => entry.feature).sort()).toEqual([
        '4k_export',
        'feature_length',
        'max_projects',
        'video_exports',
      ]);
      expect(view.features.every((entry: any) => entry.enabled === false)).toBe(true);
      expect(await check(customer.id, '4k_export')).toMatchObject({
        allowed: false,
        remaining: null,
        reason: 'not_included',
      });
      expect(await check(customer.id, 'video_exports')).toMatchObject({
        allowed: false,
        reason: 'not_included',
      });
      expect(
        expectError(await track(customer.id, 'video_exports', 1), 402, 'feature_limit_exceeded'),
      ).toMatchObject({ reason: 'not_included' });

      await subscribe(customer.id, 'independent');
      view = await entitlementsOf(customer.id);
      expect(view).toMatchObject({
        plan: 'independent',
        period_start: '2031-03-01T00:00:00.000Z',
        period_end: '2031-04-01T00:00:00.000Z',
      });
      expect(feature(view, '4k_export')).toMatchObject({ enabled: true, sources: ['plan:independent'] });
      expect(feature(view, 'feature_length')).toMatchObject({ enabled: false });
      expect(feature(view, 'video_exports')).toMatchObject({
        kind: 'metered',
        allowance: 100,
        used: 0,
        remaining: 100,
        resets_at: '2031-04-01T00:00:00.000Z',
      });

      expect(await check(customer.id, '4k_export')).toMatchObject({ allowed: true, reason: null });
      expect(await check(customer.id, 'feature_length')).toMatchObject({
        allowed: false,
        reason: 'not_included',
      });
      expect(await check(customer.id, 'max_projects', 10)).toMatchObject({ allowed: true, remaining: 10 });
      expect(await check(customer.id, 'max_projects', 11)).toMatchObject({
        allowed: false,
        remaining: 10,
        reason: 'limit_exceeded',
      });
      // The customer's own key may check too (a client that greys out a button), but not track.
      expect(await check(customer.id, '4k_export', undefined, customer.user_key)).toMatchObject({
        allowed: true,
      });
      expectError(
        await server.call('POST', '/v1/track', {
          key: customer.user_key,
          body: { customer: customer.id, feature: 'video_exports' },
        }),
        403,
        'forbidden',
      );
      expectError(
        await server.call('POST', '/v1/check', {
          key: app.secret_key,
          body: { customer: customer.id, feature: '8k_export' },
        }),
        400,
        'invalid_request',
      );
      expectError(await track(customer.id, 'max_projects', 1), 400, 'invalid_request');

      // A track under a key counts once however often it is retried.
      const first = expectStatus(await track(customer.id, 'video_exports', 30, 'export-1'), 201);
      expect(first).toMatchObject({ used: 30, remaining: 70, allowance: 100 });
      const retried = expectStatus(await track(customer.id, 'video_exports', 30, 'export-1'), 201);
      expect(retried).toEqual(first);
      expectError(await track(customer.id, 'video_exports', 31, 'export-1'), 409, 'idempotency_conflict');
      expect(await check(customer.id, 'video_exports', 70)).toMatchObject({ allowed: true, remaining: 70 });
      expect(await check(customer.id, 'video_exports', 71)).toMatchObject({
        allowed: false,
        remaining: 70,
        reason: 'allowance_exhausted',
      });
      // Past the allowance: refused, nothing counted.
      expect(
        expectError(await track(customer.id, 'video_exports', 71), 402, 'feature_limit_exceeded'),
      ).toMatchObject({
        reason: 'allowance_exhausted',
        remaining: 70,
      });

      // 100 concurrent tracks of 1 against the 70 left: exactly 70 pass.
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, index) => track(customer.id, 'video_exports', 1, `burst-${index}`)),
      );
      expect(results.filter((result) => result.status === 201)).toHaveLength(70);
      const refused = results.filter((result) => result.status !== 201);
      expect(refused).toHaveLength(30);
      for (const result of refused) expect(result.body.error.code).toBe('feature_limit_exceeded');
      expect(feature(await entitlementsOf(customer.id), 'video_exports')).toMatchObject({
        used: 100,
        remaining: 0,
      });
      // Replaying the whole burst changes nothing.
      const replayed = await Promise.all(
        Array.from({ length: 100 }, (_, index) => track(customer.id, 'video_exports', 1, `burst-${index}`)),
      );
      expect(replayed.filter((result) => result.status === 201)).toHaveLength(70);
      expect(feature(await entitlementsOf(customer.id), 'video_exports')).toMatchObject({ used: 100 });

      // Entitlements move no credits: the books stay clean.
      expect((await auditLedger(server.tollgate.db, server.clock)).problems).toEqual([]);
    });

    it('a bought pack unlocks its features for good, merged with the plan (switch on, larger limit)', async () => {
      const customer = await server.createCustomer(app.secret_key, 'editor');
      const checkout = expectStatus(
        await server.call('POST', '/v1/checkout/sessions', {
          key: app.secret_key,
          body: { customer: customer.id, pack: 'studio_unlock' },
        }),
        201,
      );
      // Unpaid: nothing unlocked yet.
      expect(await check(customer.id, '4k_export')).toMatchObject({ allowed: false });
      await payTestPage(checkout.url);
      let view = await entitlementsOf(customer.id);
      expect(view.plan).toBeNull();
      expect(feature(view, '4k_export')).toMatchObject({ enabled: true, sources: ['pack:studio_unlock'] });
      expect(feature(view, 'max_projects')).toMatchObject({ enabled: true, limit: 20 });
      expect(feature(view, 'video_exports')).toMatchObject({ enabled: false, allowance: null });

      await subscribe(customer.id, 'microbudget');
      view = await entitlementsOf(customer.id);
      expect(feature(view, '4k_export')).toMatchObject({
        enabled: true,
        sources: ['pack:studio_unlock'],
      });
      expect(feature(view, 'max_projects')).toMatchObject({
        limit: 20,
        sources: ['plan:microbudget', 'pack:studio_unlock'],
      });
      expect(feature(view, 'video_exports')).toMatchObject({ allowance: 20, remaining: 20 });
      // The admin sees any customer.
      expect(
        expectStatus(
          await server.call('POST', '/v1/check', {
            key: ADMIN_KEY,
            body: { customer: customer.id, feature: 'max_projects', quantity: 20 },
          }),
          200,
        ),
      ).toMatchObject({ allowed: true, remaining: 20 });

      // The SDK and the CLI reach the same answers.
      const sdk = new Tollgate({ baseUrl: server.url, apiKey: app.secret_key });
      expect(
        await sdk.entitlements.check({ customer: 'editor', feature: 'max_projects', quantity: 21 }),
      ).toMatchObject({
        allowed: false,
        reason: 'limit_exceeded',
      });
      const tracked = await sdk.entitlements.track(
        { customer: 'editor', feature: 'video_exports', quantity: 5 },
        { idempotencyKey: 'sdk-track-1' },
      );
      expect(tracked).toMatchObject({ used: 5, remaining: 15 });
      expect(
        (await sdk.entitlements.retrieve('editor')).features.find(
          (entry) => entry.feature === 'video_exports',
        ),
      ).toMatchObject({ used: 5 });
      const cli = async (args: string[], env: Record<string, string>) => {
        let stdout = '';
        let stderr = '';
        const code = await main([...args, '--json'], {
          stdout: { write: (text: string) => (stdout += text) },
          stderr: { write: (text: string) => (stderr += text) },
          stdin: process.stdin,
          env: { TOLLGATE_URL: server.url, ...env },
        });
        return { code, body: stdout ? JSON.parse(stdout) : null, stderr };
      };
      const operator = { TOLLGATE_API_KEY: app.secret_key };
      const tracking = await cli(
        ['track', 'video_exports', '--customer', 'editor', '--quantity', '3', '--idempotency-key', 'cli-1'],
        operator,
      );
      expect(tracking).toMatchObject({ code: 0, body: { used: 8 } });
      expect(
        (
          await cli(
            [
              'track',
              'video_exports',
              '--customer',
              'editor',
              '--quantity',
              '3',
              '--idempotency-key',
              'cli-1',
            ],
            operator,
          )
        ).body,
      ).toMatchObject({ used: 8 });
      const own = { TOLLGATE_USER_KEY: customer.user_key };
      expect(await cli(['check', 'feature_length'], own)).toMatchObject({
        code: 1,
        body: { allowed: false, reason: 'not_included' },
      });
      const listed = await cli(['entitlements'], own);
      expect(listed.code).toBe(0);
      expect(listed.body.features.find((entry: any) => entry.feature === 'video_exports')).toMatchObject({
        used: 8,
        remaining: 12,
      });
    });

    it('the billing catalog shows what each plan and pack unlocks', async () => {
      const catalog = expectStatus(
        await server.call('GET', '/v1/billing/catalog', { key: app.secret_key }),
        200,
      );
      expect(catalog.plans.find((plan: any) => plan.code === 'independent').features).toEqual({
        '4k_export': true,
        max_projects: 10,
        video_exports: { monthly: 100 },
      });
      expect(catalog.credit_packs.find((pack: any) => pack.code === 'studio_unlock').features).toEqual({
        '4k_export': true,
        max_projects: 20,
      });
    });
  });
}
