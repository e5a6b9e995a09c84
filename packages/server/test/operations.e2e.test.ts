/**
 * The operator's endpoints and logs over real HTTP: `/metrics` only for the admin key (or the scrape
 * key, or on an address of its own); request logs at debug, so an info log carries no line per
 * request and never a key; the API reference (`/openapi.json` valid OpenAPI 3.1 that matches what
 * the server answers, and `/docs` rendered from files this server serves itself).
 */
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startTestServer, type TestServer } from './support/server.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('/metrics access', () => {
  let server: TestServer;
  let app: { secret_key: string };
  beforeAll(async () => {
    server = await startTestServer(
      { name: 'pglite' },
      { env: { TOLLGATE_METRICS_KEY: 'scrape-key-0123456789' } },
    );
    app = await server.createApp();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('needs the admin key or TOLLGATE_METRICS_KEY: no key, an app key and a wrong key are refused', async () => {
    expect((await server.call('GET', '/metrics')).status).toBe(403);
    expect((await server.call('GET', '/metrics', { key: app.secret_key })).status).toBe(403);
    expect((await server.call('GET', '/metrics', { key: 'scrape-key-wrong-0000' })).status).toBe(403);
    const admin = await server.call('GET', '/metrics', { key: ADMIN_KEY });
    expect(admin.status).toBe(200);
    expect(admin.body).toContain('# TYPE tollgate_http_requests_total counter');
    expect((await server.call('GET', '/metrics', { key: 'scrape-key-0123456789' })).status).toBe(200);
  });

  it('TOLLGATE_METRICS_ADDRESS: served there without a key, and not on the API port', async () => {
    const port = await freePort();
    const separate = await startTestServer(
      { name: 'pglite' },
      { env: { TOLLGATE_METRICS_ADDRESS: `127.0.0.1:${port}` } },
    );
    try {
      expect((await separate.call('GET', '/metrics', { key: ADMIN_KEY })).status).toBe(404);
      const scraped = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('tollgate_http_requests_total');
    } finally {
      await separate.close();
    }
    // Closed with the server: the port is free again.
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});

describe('logs', () => {
  it('at info: no line per request and no key; at debug: one line per request with its route pattern', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    for (const level of ['info', 'debug'] as const) {
      lines.length = 0;
      const server = await startTestServer({ name: 'pglite' }, { logger: { level, stream } });
      try {
        const app = await server.createApp();
        const customer = await server.createCustomer(app.secret_key, 'logged');
        expect((await server.call('GET', '/v1/credits/balance', { key: customer.user_key })).status).toBe(
          200,
        );
        const text = JSON.stringify(lines);
        expect(text).not.toContain(customer.user_key);
        expect(text).not.toContain(app.secret_key);
        expect(text).not.toContain(ADMIN_KEY);
        const requestLines = lines.filter(
          (line) => line.msg === 'request completed' || line.msg === 'incoming request',
        );
        if (level === 'info') expect(requestLines).toEqual([]);
        else {
          expect(requestLines).toHaveLength(3);
          expect(requestLines[2]).toMatchObject({ route: '/v1/credits/balance', statusCode: 200 });
        }
      } finally {
        await server.close();
      }
    }
  });
});

describe('API reference', () => {
  let server: TestServer;
  let document: Record<string, any>;
  beforeAll(async () => {
    server = await startTestServer({ name: 'pglite' });
    document = (await server.call('GET', '/openapi.json')).body;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('/openapi.json is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("describes every operation's answers, the gateway, the webhook and the operational endpoints", () => {
    for (const path of [
      '/v1/chat/completions',
      '/v1/messages',
      '/v1/webhooks/stripe',
      '/healthz',
      '/readyz',
      '/metrics',
    ]) {
      expect(document.paths, path).toHaveProperty([path]);
    }
    for (const [path, operations] of Object.entries<Record<string, any>>(document.paths)) {
      for (const [method, operation] of Object.entries<any>(operations)) {
        const success = Object.keys(operation.responses).filter((status) => status.startsWith('2'));
        expect(success.length, `${method} ${path}`).toBeGreaterThan(0);
      }
    }
    expect(document.info.description).toContain('| `insufficient_credits` | 402 |');
  });

  it('documents the answer of every route in the route table (none left as "a JSON object")', () => {
    // Operations (outside the route table) whose success body is documented as a bare object, each with
    // why. The CSV exports are not here: they document their JSON form and name text/csv as an alternative.
    const undocumentedOnPurpose: Record<string, string> = {
      'POST /v1/chat/completions':
        "OpenAI's chat completion (or its event stream), passed through from the provider",
      'POST /v1/messages': "Anthropic's message (or its event stream), passed through from the provider",
      'GET /openapi.json': 'This document itself (OpenAPI 3.1)',
    };
    const undocumented: string[] = [];
    for (const [path, operations] of Object.entries<Record<string, any>>(document.paths)) {
      for (const [method, operation] of Object.entries<any>(operations)) {
        const name = `${method.toUpperCase()} ${path}`;
        if (
          operation.responses['2XX']?.description === 'Success: a JSON object' &&
          !undocumentedOnPurpose[name]
        )
          undocumented.push(name);
        // A schema zod could not render falls back to a bare object: that is no documentation either.
        for (const [status, response] of Object.entries<any>(operation.responses)) {
          const schema = response.content?.['application/json']?.schema;
          if (
            status.startsWith('2') &&
            status !== '2XX' &&
            !undocumentedOnPurpose[name] &&
            JSON.stringify(schema) === '{"type":"object"}'
          )
            undocumented.push(`${name} (${status}: its schema could not be rendered)`);
        }
      }
    }
    // A route added without `response:` shows up here by name: declare its schema in its definition.
    expect(undocumented, `routes without a response schema:\n${undocumented.join('\n')}`).toEqual([]);
  });

  it('matches real answers: /healthz, /readyz, the audit, /v1/models, the balance, and an error', async () => {
    const ajv = new Ajv2020({ strict: false });
    const schemaOf = (path: string, method: string, status: string) => {
      let response = document.paths[path][method].responses[status];
      if (response.$ref) response = document.components.responses.Error;
      let schema = response.content['application/json'].schema;
      if (schema.$ref) schema = document.components.schemas.Error;
      return ajv.compile(schema);
    };
    const expectValid = (validate: ReturnType<typeof schemaOf>, body: unknown) => {
      expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
    };
    expectValid(schemaOf('/healthz', 'get', '200'), (await server.call('GET', '/healthz')).body);
    expectValid(schemaOf('/readyz', 'get', '200'), (await server.call('GET', '/readyz')).body);
    const audit = await server.call('GET', '/v1/admin/audit', { key: ADMIN_KEY });
    expect(audit.status).toBe(200);
    expectValid(schemaOf('/v1/admin/audit', 'get', '200'), audit.body);
    const app = await server.createApp();
    const missing = await server.call('GET', '/v1/customers/cus_nobody', { key: app.secret_key });
    expect(missing.status).toBe(404);
    expectValid(schemaOf('/v1/customers/{id}', 'get', '4XX'), missing.body);
    const models = await server.call('GET', '/v1/models');
    expectValid(schemaOf('/v1/models', 'get', '200'), models.body);
    expect(models.body.routes.length).toBeGreaterThan(0);
    const customer = await server.createCustomer(app.secret_key, 'documented');
    const balance = await server.call('GET', '/v1/credits/balance', { key: customer.user_key });
    expect(balance.status).toBe(200);
    expectValid(schemaOf('/v1/credits/balance', 'get', '200'), balance.body);
    // And the schema is no rubber stamp: a wrong shape fails it.
    expect(schemaOf('/v1/admin/audit', 'get', '200')({ ...audit.body, total_micros: 1.5 })).toBe(false);
    expect(schemaOf('/v1/credits/balance', 'get', '200')({ ...balance.body, balance: '5' })).toBe(false);
    expect(schemaOf('/v1/models', 'get', '200')({ ...models.body, data: [{ id: 'x' }] })).toBe(false);
  });

  it('/docs is the viewer, served from this server alone (works offline: no CDN, no web fonts)', async () => {
    const page = await fetch(`${server.url}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const sources = [...html.matchAll(/<(?:script|link)[^>]+(?:src|href)="([^"]+)"/g)].map(
      (match) => match[1]!,
    );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(source, source).not.toMatch(/^(https?:)?\/\//);
    for (const source of sources.filter((source) => source.endsWith('.js'))) {
      const script = await fetch(new URL(source, `${server.url}/docs/`));
      expect(script.status, source).toBe(200);
      expect((await script.text()).length).toBeGreaterThan(10_000);
    }
    expect(html).toContain('/openapi.json');
  });
});
