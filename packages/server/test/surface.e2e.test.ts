/**
 * The read side and the operational surface over HTTP: the public model catalog, the user-key
 * reads (balance, history) through every accepted header, the publishable-key pricing estimate,
 * the billing catalog, health, Prometheus metrics, the OpenAPI document and the docs page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from './support/databases.ts';
import { expectError, expectHistoryReplays, expectStatus, metricValue } from './support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './support/server.ts';

for (const backend of testBackends()) {
  describe(`public and user surface (${backend.name})`, () => {
    let server: TestServer;
    let app: { id: string; secret_key: string; publishable_key: string };
    let limited: { id: string; secret_key: string; publishable_key: string };
    let customer: { id: string; user_key: string };

    beforeAll(async () => {
      server = await startTestServer(backend);
      app = await server.createApp({ name: 'Surface app', referral_rate: 0.1 });
      limited = await server.createApp({
        name: 'Limited',
        allowed_models: ['fal-ai/flux/schnell', 'openai/gpt-4o'],
      });
      customer = await server.createCustomer(app.secret_key, 'surface-user');
      expectStatus(
        await server.call('POST', '/v1/charges', {
          key: app.secret_key,
          body: { customer: customer.id, model: 'fal-ai/veo3.1', quantity: 2 },
        }),
        201,
      );
    });
    afterAll(async () => {
      await server?.close();
    });

    it('GET /v1/models needs no key and lists prices in credits', async () => {
      const models = expectStatus(await server.call('GET', '/v1/models'), 200);
      expect(Array.isArray(models.data)).toBe(true);
      const byId = new Map(models.data.map((model: any) => [model.id, model]));
      expect(byId.get('fal-ai/flux/schnell')).toMatchObject({ type: 'image', pricing: { per_call: 0.3 } });
      expect(byId.get('fal-ai/veo3.1')).toMatchObject({
        type: 'video',
        pricing: { per_unit: 10, unit: 'second' },
      });
      expect(byId.get('openai/gpt-4o')).toMatchObject({
        type: 'language',
        max_tokens: 16384,
        pricing: { input_per_million: 250, output_per_million: 1000, cached_input_per_million: 125 },
      });
      for (const model of models.data) {
        expect(typeof model.id).toBe('string');
        expect(typeof model.name).toBe('string');
        expect(typeof model.type).toBe('string');
        expect(model.pricing).toBeTypeOf('object');
      }
      // A key, even a bad one, does not matter on a public route.
      expectStatus(await server.call('GET', '/v1/models', { key: 'tg_sk_whatever' }), 200);
    });

    it('GET /v1/models lists the aliases (priced as the model they serve) and the routes with their prices', async () => {
      const models = expectStatus(await server.call('GET', '/v1/models'), 200);
      const byId = new Map<string, any>(models.data.map((model: any) => [model.id, model]));
      const target = byId.get('anthropic/claude-opus-4-5');
      expect(byId.get('claude-opus-4-5-20251101')).toEqual({
        ...target,
        id: 'claude-opus-4-5-20251101',
        alias_of: 'anthropic/claude-opus-4-5',
      });
      const claude = models.routes.find((route: any) => route.match === 'claude-*');
      expect(claude.providers).toHaveLength(1);
      expect(claude.providers[0].provider).toBe('anthropic');
      // An unknown Claude id is priced at the family's dearest catalog prices: never below a known one.
      const anthropicModels = models.data.filter(
        (model: any) => model.provider === 'anthropic' && model.pricing.output_per_million,
      );
      expect(anthropicModels.length).toBeGreaterThan(1);
      expect(claude.providers[0].pricing.output_per_million).toBe(
        Math.max(...anthropicModels.map((model: any) => model.pricing.output_per_million)),
      );
      expect(models.routes.map((route: any) => route.match)).toContain('gpt-*|chatgpt-*|codex-*|o1*|o3*|o4*');
    });

    it('balance and history with a user key through X-User-Key, Bearer and x-api-key', async () => {
      const ways: Record<string, string>[] = [
        { 'x-user-key': customer.user_key },
        { authorization: `Bearer ${customer.user_key}` },
        { 'x-api-key': customer.user_key },
      ];
      for (const headers of ways) {
        const balance = expectStatus(await server.call('GET', '/v1/credits/balance', { headers }), 200);
        expect(balance).toMatchObject({ balance: 478, currency: 'credits' });
        const history = expectStatus(await server.call('GET', '/v1/credits/history', { headers }), 200);
        expect(history.data.map((row: any) => row.amount)).toEqual([-22, 500]);
        expect(history.data[0]).toMatchObject({
          type: 'usage',
          model: 'fal-ai/veo3.1',
          balance_after: 478,
          provider_cost: 20,
          referral_share: 2,
        });
        expectHistoryReplays(history.data);
        expect(history.has_more).toBe(false);
      }
      const page = expectStatus(
        await server.call('GET', '/v1/credits/history?limit=1', { headers: ways[0] }),
        200,
      );
      expect(page.data).toHaveLength(1);
      expect(page.has_more).toBe(true);
      const second = expectStatus(
        await server.call('GET', '/v1/credits/history?limit=1&offset=1', { headers: ways[0] }),
        200,
      );
      expect(second.data[0].amount).toBe(500);
      expect(second.has_more).toBe(false);
      expectError(
        await server.call('GET', '/v1/credits/history?limit=-1', { headers: ways[0] }),
        400,
        'invalid_request',
      );
      expectError(await server.call('GET', '/v1/credits/history', { key: app.secret_key }), 403, 'forbidden');
      expectError(await server.call('GET', '/v1/credits/history'), 401, 'missing_api_key');
    });

    it('POST and GET /v1/credits/pricing with a publishable key', async () => {
      const all = expectStatus(
        await server.call('POST', '/v1/credits/pricing', { body: { publishable_key: app.publishable_key } }),
        200,
      );
      expect(all.token_assumption).toEqual({ input: 2500, output: 2500 });
      const byId = new Map(all.models.map((model: any) => [model.id, model]));
      expect(byId.get('fal-ai/flux/schnell')).toMatchObject({
        credits_per_request: 0.33,
        name: expect.any(String),
      });
      expect(byId.get('openai/gpt-4o')).toMatchObject({ credits_per_request: 3.4375 }); // (0.625 + 2.5) × 1.1
      expect(byId.size).toBeGreaterThan(10);

      const filtered = expectStatus(
        await server.call('POST', '/v1/credits/pricing', {
          body: {
            publishable_key: app.publishable_key,
            models: ['openai/gpt-4o'],
            input_tokens: 1000,
            output_tokens: 0,
          },
        }),
        200,
      );
      expect(filtered).toEqual({
        token_assumption: { input: 1000, output: 0 },
        models: [expect.objectContaining({ id: 'openai/gpt-4o', credits_per_request: 0.275 })],
      });

      const viaQuery = expectStatus(
        await server.call(
          'GET',
          `/v1/credits/pricing?publishable_key=${limited.publishable_key}&models=openai/gpt-4o,fal-ai/veo3.1`,
        ),
        200,
      );
      // Filtered to the app's allowed models; the limited app has no referral share.
      expect(viaQuery.models.map((model: any) => model.id)).toEqual(['openai/gpt-4o']);
      expect(viaQuery.models[0].credits_per_request).toBe(3.125);
      const limitedAll = expectStatus(
        await server.call('GET', `/v1/credits/pricing?publishable_key=${limited.publishable_key}`),
        200,
      );
      expect(limitedAll.models.map((model: any) => model.id).sort()).toEqual([
        'fal-ai/flux/schnell',
        'openai/gpt-4o',
      ]);

      expectError(
        await server.call('POST', '/v1/credits/pricing', { body: { publishable_key: 'tg_pk_unknown' } }),
        401,
        'invalid_api_key',
      );
      expectError(
        await server.call('POST', '/v1/credits/pricing', { body: { publishable_key: app.secret_key } }),
        401,
        'invalid_api_key',
      );
      expectError(await server.call('POST', '/v1/credits/pricing', { body: {} }), 400, 'invalid_request');
      expectError(await server.call('GET', '/v1/credits/pricing'), 400, 'invalid_request');
      for (const tokens of ['-3', 'abc', '', '1.5', '1e3']) {
        expectError(
          await server.call(
            'GET',
            `/v1/credits/pricing?publishable_key=${app.publishable_key}&input_tokens=${tokens}`,
          ),
          400,
          'invalid_request',
        );
      }
      // Token counts in a JSON body are numbers: nothing else is read as 0 or 1.
      for (const tokens of [[], null, true, '2500', {}, -1, 1.5, 1e308]) {
        expectError(
          await server.call('POST', '/v1/credits/pricing', {
            body: { publishable_key: app.publishable_key, input_tokens: tokens },
          }),
          400,
          'invalid_request',
        );
      }
    });

    it('GET /v1/billing/catalog has subscription, wallet, plans and credit packs', async () => {
      const asUser = expectStatus(
        await server.call('GET', '/v1/billing/catalog', { headers: { 'x-user-key': customer.user_key } }),
        200,
      );
      expect(asUser).toHaveProperty('subscription');
      expect(asUser.wallet).toMatchObject({ balance: 478, currency: 'credits' });
      expect(Array.isArray(asUser.plans)).toBe(true);
      expect(asUser.plans.find((plan: any) => plan.code === 'pro')).toMatchObject({
        price_usd: 25,
        interval: 'month',
      });
      expect(asUser.credit_packs.find((pack: any) => pack.code === 'pack_100')).toMatchObject({
        credits: 100,
        price_usd: 1,
      });
      const asApp = expectStatus(
        await server.call('GET', `/v1/billing/catalog?customer=${customer.id}`, { key: app.secret_key }),
        200,
      );
      expect(asApp.wallet.balance).toBe(478);
      const anonymous = expectStatus(
        await server.call('GET', '/v1/billing/catalog', { key: app.secret_key }),
        200,
      );
      expect(anonymous).toMatchObject({ subscription: null, wallet: null });
      expect(anonymous.plans).toEqual(asUser.plans);
      expect(anonymous.credit_packs).toEqual(asUser.credit_packs);
    });

    it('/healthz, /metrics, /openapi.json and /docs', async () => {
      const health = await server.call('GET', '/healthz');
      expect(health.status).toBe(200);
      expect(health.body).toEqual({ status: 'ok' });

      const metricsBefore = (await server.call('GET', '/metrics', { key: ADMIN_KEY })).body as string;
      const hold = expectStatus(
        await server.call('POST', '/v1/holds', {
          key: app.secret_key,
          body: { customer: customer.id, model: 'fal-ai/flux/schnell' },
        }),
        201,
      );
      expectStatus(
        await server.call('POST', `/v1/holds/${hold.id}/capture`, { key: app.secret_key, body: {} }),
        200,
      );
      const voided = expectStatus(
        await server.call('POST', '/v1/holds', {
          key: app.secret_key,
          body: { customer: customer.id, model: 'fal-ai/flux/schnell' },
        }),
        201,
      );
      const reason = 'customer changed their mind {label="x"}';
      expectStatus(
        await server.call('POST', `/v1/holds/${voided.id}/void`, { key: app.secret_key, body: { reason } }),
        200,
      );
      // Voiding again is a no-op, and not counted again.
      expectStatus(
        await server.call('POST', `/v1/holds/${voided.id}/void`, { key: app.secret_key, body: {} }),
        200,
      );
      expectError(
        await server.call('POST', '/v1/holds', {
          key: app.secret_key,
          body: { customer: customer.id, model: 'x/y', amount: 1e6 },
        }),
        402,
        'insufficient_credits',
      );
      const metrics = await server.call('GET', '/metrics', { key: ADMIN_KEY });
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = metrics.body as string;
      expect(text).toContain('# TYPE tollgate_holds_total counter');
      expect(text).toContain('# TYPE tollgate_http_request_duration_seconds histogram');
      expect(
        metricValue(text, 'tollgate_holds_total') - metricValue(metricsBefore, 'tollgate_holds_total'),
      ).toBe(2);
      expect(
        metricValue(text, 'tollgate_captures_total') - metricValue(metricsBefore, 'tollgate_captures_total'),
      ).toBe(1);
      expect(
        metricValue(text, 'tollgate_voids_total') - metricValue(metricsBefore, 'tollgate_voids_total'),
      ).toBe(1);
      // A caller's free-text reason never becomes a label (one series per distinct text).
      expect(text).not.toContain('changed their mind');
      expect(
        metricValue(text, 'tollgate_insufficient_credits_total') -
          metricValue(metricsBefore, 'tollgate_insufficient_credits_total'),
      ).toBe(1);
      expect(
        metricValue(text, 'tollgate_http_requests_total', { route: '/v1/holds', status: '402' }),
      ).toBeGreaterThanOrEqual(1);
      for (const line of text.trim().split('\n')) {
        expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|[a-zA-Z_:][\w:]*(\{[^}]*\})? -?[\d.e+-]+)$/);
      }

      const openapi = expectStatus(await server.call('GET', '/openapi.json'), 200);
      expect(openapi.openapi).toMatch(/^3\./);
      const expected: [string, string][] = [
        ['/v1/apps', 'post'],
        ['/v1/customers', 'post'],
        ['/v1/customers/{id}', 'get'],
        ['/v1/customers/{id}/grants', 'post'],
        ['/v1/customers/{id}/user-keys', 'post'],
        ['/v1/customers/{id}/transactions', 'get'],
        ['/v1/customers/{id}/provider-keys/{provider}', 'put'],
        ['/v1/customers/{id}/provider-keys/{provider}', 'get'],
        ['/v1/customers/{id}/provider-keys/{provider}', 'delete'],
        ['/v1/holds', 'post'],
        ['/v1/holds/{id}/capture', 'post'],
        ['/v1/holds/{id}/void', 'post'],
        ['/v1/holds/{id}/extend', 'post'],
        ['/v1/holds/{id}/provider-key', 'get'],
        ['/v1/charges', 'post'],
        ['/v1/models', 'get'],
        ['/v1/credits/balance', 'get'],
        ['/v1/credits/history', 'get'],
        ['/v1/credits/pricing', 'get'],
        ['/v1/credits/pricing', 'post'],
        ['/v1/billing/catalog', 'get'],
      ];
      for (const [path, method] of expected) {
        expect(openapi.paths[path]?.[method], `${method.toUpperCase()} ${path}`).toBeTypeOf('object');
      }
      const holdOperation = openapi.paths['/v1/holds'].post;
      expect(holdOperation.requestBody.content['application/json'].schema.properties).toHaveProperty(
        'customer',
      );
      expect(holdOperation.parameters.some((parameter: any) => parameter.name === 'Idempotency-Key')).toBe(
        true,
      );

      const docs = await server.call('GET', '/docs');
      expect(docs.status).toBe(200);
      expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
      expect(docs.body).toContain('<html');
      expect(docs.body).toContain('/openapi.json');
    });
  });
}
