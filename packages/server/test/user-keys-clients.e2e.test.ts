/**
 * Named user keys and spend limits through the clients people use: `@tollgate/client` (typed answers,
 * `SpendLimitExceededError`) and the `tollgate` CLI binary (`user-keys`, `spend-limit`; exit 3 when a
 * limit refuses a charge), against a real server.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SpendLimitExceededError, Tollgate } from '@tollgate/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from './support/databases.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const BIN = fileURLToPath(new URL('../bin/tollgate.mjs', import.meta.url));
const MODEL = 'fal-ai/flux/schnell';

function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', ...env } },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

for (const backend of testBackends()) {
  describe(`user keys through the SDK and the CLI (${backend.name})`, () => {
    let server: TestServer;
    let app: { id: string; secret_key: string };
    let tollgate: Tollgate;

    beforeAll(async () => {
      server = await startTestServer(backend);
      server.clock.set('2026-05-06T15:00:00Z');
      app = await server.createApp({ name: 'Clients app' });
      tollgate = new Tollgate({ baseUrl: server.url, apiKey: app.secret_key });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('SDK: create with a limit, list, update, revoke; a charge past the limit throws SpendLimitExceededError', async () => {
      const customer = await tollgate.customers.create({ external_id: 'sdk-user' });
      const key = await tollgate.userKeys.create(customer.id, {
        name: 'agent',
        limit: { amount: '1.5', period: 'day' },
      });
      expect(key).toMatchObject({
        name: 'agent',
        limit: { amount: 1.5, spent: 0, resets_at: '2026-05-07T00:00:00.000Z' },
      });
      const user = new Tollgate({ baseUrl: server.url, userKey: key.user_key });
      expect((await user.credits.balance()).customer).toBe(customer.id);

      await tollgate.charges.create({ customer: customer.id, model: MODEL, amount: 1, user_key_id: key.id });
      const refused = await tollgate.charges
        .create({ customer: customer.id, model: MODEL, amount: 1, user_key_id: key.id })
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(SpendLimitExceededError);
      expect(refused).toMatchObject({ status: 402, limit: 1.5, spent: 1, period: 'day' });
      expect((refused as SpendLimitExceededError).resetsAt?.toISOString()).toBe('2026-05-07T00:00:00.000Z');

      const listed = await tollgate.userKeys.list(customer.id);
      expect(listed.data.map((each) => [each.name, each.limit?.spent ?? null])).toEqual([
        ['agent', 1],
        ['Default', null],
      ]);
      const updated = await tollgate.userKeys.update(customer.id, key.id, { name: 'agent-2', limit: null });
      expect(updated).toMatchObject({ name: 'agent-2', limit: null });
      await tollgate.charges.create({ customer: customer.id, model: MODEL, amount: 1, user_key_id: key.id });

      await tollgate.spendLimits.set(customer.id, { amount: 2, period: 'total' });
      expect((await tollgate.spendLimits.retrieve(customer.id)).limit).toMatchObject({
        amount: 2,
        resets_at: null,
      });
      await tollgate.spendLimits.remove(customer.id);
      expect((await tollgate.spendLimits.retrieve(customer.id)).limit).toBeNull();

      await tollgate.userKeys.revoke(customer.id, key.id);
      await expect(user.credits.balance()).rejects.toMatchObject({ status: 401 });
    });

    it('CLI: user-keys create/list/update/revoke and spend-limit set/show/remove; a refused charge exits 3', async () => {
      const customer = await server.createCustomer(app.secret_key, 'cli-keys-user');
      const env = { TOLLGATE_URL: server.url, TOLLGATE_API_KEY: app.secret_key };
      const created = await cli(
        [
          'user-keys',
          'create',
          '--customer',
          customer.id,
          '--name',
          'laptop',
          '--limit',
          '0.5',
          '--period',
          'week',
        ],
        env,
      );
      expect(created.code, created.stderr).toBe(0);
      expect(created.stdout).toMatch(/Created "laptop" \(uk_\w+\), 0 credits? of 0\.5 credits? \/ week/);
      const key = created.stdout.match(/Key \(shown only now\): (tg_uk_\S+)/)![1]!;
      const keyId = created.stdout.match(/\((uk_\w+)\)/)![1]!;

      const json = await cli(['user-keys', 'list', '--customer', customer.id, '--json'], env);
      expect(JSON.parse(json.stdout).data.map((each: { name: string }) => each.name)).toEqual([
        'laptop',
        'Default',
      ]);
      const table = await cli(['user-keys', 'list', '--customer', customer.id], env);
      expect(table.stdout).toMatch(/laptop\s+uk_\w+\s+tg_uk_…/);

      // The user's own charge with that key: refused past the key's limit, exit 3 with the reset time.
      const charged = await cli(['charge', '--model', MODEL, '--amount', '0.4'], {
        TOLLGATE_URL: server.url,
        TOLLGATE_USER_KEY: key,
      });
      expect(charged.code, charged.stderr).toBe(0);
      const refused = await cli(['charge', '--model', MODEL, '--amount', '0.4'], {
        TOLLGATE_URL: server.url,
        TOLLGATE_USER_KEY: key,
      });
      expect(refused.code).toBe(3);
      expect(refused.stderr).toContain(
        'spend limit reached: 0.4 of 0.5 credits spent this week; it resets 2026-05-11T00:00:00.000Z',
      );

      const updated = await cli(['user-keys', 'update', keyId, '--customer', customer.id, '--no-limit'], env);
      expect(updated.stdout).toContain('no limit');
      const set = await cli(
        ['spend-limit', 'set', '--customer', customer.id, '--limit', '3', '--period', 'month'],
        env,
      );
      expect(set.code, set.stderr).toBe(0);
      const shown = await cli(['spend-limit', 'show', '--customer', customer.id, '--json'], env);
      // A new limit counts from zero: what the key spent before it is not counted again.
      expect(JSON.parse(shown.stdout).limit).toMatchObject({ amount: 3, spent: 0, period: 'month' });
      expect((await cli(['spend-limit', 'remove', '--customer', customer.id], env)).code).toBe(0);
      const revoked = await cli(['user-keys', 'revoke', keyId, '--customer', customer.id], env);
      expect(revoked.stdout).toContain(`Revoked ${keyId}.`);
      const usage = await cli(['user-keys', 'update', keyId, '--customer', customer.id], env);
      expect(usage.code).toBe(2);
    });
  });
}
