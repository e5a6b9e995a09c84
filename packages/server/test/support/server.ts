/**
 * A real Tollgate over real HTTP for end-to-end tests: its own database (PGlite in memory, or a
 * private PostgreSQL schema), a fixed admin key, a manual clock, listening on a random port.
 */
import { createTollgate, type Tollgate, type TollgateOptions } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { openTestDatabase, type TestBackend, type TestDatabase } from './databases.ts';

export const ADMIN_KEY = 'tg_admin_test_key_0123456789';

export interface TestServer {
  url: string;
  tollgate: Tollgate;
  clock: ManualClock;
  database: TestDatabase;
  /** fetch against the server with JSON in and out. */
  call(
    method: string,
    path: string,
    options?: { key?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{
    status: number;
    body: any;
    headers: Headers;
  }>;
  createApp(
    body?: Record<string, unknown>,
  ): Promise<{ id: string; secret_key: string; publishable_key: string }>;
  createCustomer(
    secretKey: string,
    externalId: string,
  ): Promise<{ id: string; user_key: string; balance: number }>;
  close(): Promise<void>;
}

export async function startTestServer(
  backend: TestBackend,
  options: Partial<TollgateOptions> & {
    env?: Record<string, string | undefined>;
    configText?: string;
    /** A database the test opened itself (through a proxy, with timeouts); closed with the server. */
    testDatabase?: TestDatabase;
    /** Where to listen (default 127.0.0.1); `0.0.0.0` is a server reachable beyond this machine. */
    host?: string;
  } = {},
): Promise<TestServer> {
  const { testDatabase, ...tollgateOptions } = options;
  const database = testDatabase ?? (await openTestDatabase(backend));
  const clock = new ManualClock(new Date());
  const env = {
    TOLLGATE_ADMIN_KEY: ADMIN_KEY,
    TOLLGATE_SECRET: 'test-secret-0123456789abcdef',
    // Every JSON answer of a documented route is checked against its schema in /openapi.json.
    TOLLGATE_CHECK_RESPONSES: '1',
    ...(options.env ?? {}),
  };
  const tollgate = await createTollgate({
    sweeper: false,
    announce: () => {},
    ...tollgateOptions,
    database: database.db,
    clock,
    env,
    config: options.config ?? loadConfig(undefined, env),
  });
  const address = await tollgate.listen(0, options.host);
  // Every interface includes loopback: the tests call it there.
  const url = `http://127.0.0.1:${new URL(address.replace('[::1]', '127.0.0.1')).port}`;
  const call: TestServer['call'] = async (method, path, callOptions = {}) => {
    const headers: Record<string, string> = { ...(callOptions.headers ?? {}) };
    if (callOptions.key) headers.authorization = `Bearer ${callOptions.key}`;
    let body: string | undefined;
    if (callOptions.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = typeof callOptions.body === 'string' ? callOptions.body : JSON.stringify(callOptions.body);
    }
    const response = await fetch(`${url}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON (metrics, html)
    }
    return { status: response.status, body: parsed, headers: response.headers };
  };
  return {
    url,
    tollgate,
    clock,
    database,
    call,
    async createApp(body = {}) {
      const response = await call('POST', '/v1/apps', {
        key: ADMIN_KEY,
        body: { name: 'test app', ...body },
      });
      if (response.status !== 201)
        throw new Error(`createApp: ${response.status} ${JSON.stringify(response.body)}`);
      return response.body;
    },
    async createCustomer(secretKey, externalId) {
      const response = await call('POST', '/v1/customers', {
        key: secretKey,
        body: { external_id: externalId },
      });
      if (response.status !== 201 && response.status !== 200) {
        throw new Error(`createCustomer: ${response.status} ${JSON.stringify(response.body)}`);
      }
      return response.body;
    },
    async close() {
      await tollgate.close();
      await database.close();
    },
  };
}
