/**
 * Team wallets over real HTTP, on every backend: an organisation whose five members spend its one
 * balance concurrently (holds with their own user keys) never overdraws it; a member's limit refuses
 * with `spend_limit_exceeded`; history and usage say which member spent what, through the gate and the
 * gateway; removing a member revokes every key of it; bad input is a 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.ts';
import { loadConfig } from '../src/config/load-config.ts';
import { auditLedger } from '../src/ledger/audit.ts';
import { type FakeUpstream, startFakeUpstream } from './fakes/fake-upstream.ts';
import { testBackends } from './support/databases.ts';
import { expectError, expectStatus } from './support/expectations.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const MODEL = 'fal-ai/flux/schnell';
const GPT = 'openai/gpt-4o-mini';
const MEMBERS = 5;
const HOLDS_PER_MEMBER = 40;

interface AddedMember {
  id: string;
  external_id: string;
  user_key: string;
  user_key_id: string;
}

for (const backend of testBackends()) {
  describe(`team wallets over HTTP (${backend.name})`, () => {
    let server: TestServer;
    let upstream: FakeUpstream;
    let app: { id: string; secret_key: string };

    beforeAll(async () => {
      upstream = await startFakeUpstream();
      const env = {
        OPENAI_BASE_URL: `${upstream.url}/v1`,
        OPENAI_API_KEY: 'sk-platform-openai',
        TOLLGATE_UPSTREAM_TIMEOUT_MS: '5000',
      };
      server = await startTestServer(backend, { env, config: loadConfig(undefined, env) });
      server.clock.set('2026-05-06T15:00:00Z');
      app = await server.createApp({ name: 'Teams app' });
    }, 60_000);
    afterAll(async () => {
      await server?.close();
      await upstream?.close();
    });

    const call = (method: string, path: string, key: string, body?: unknown) =>
      server.call(method, path, { key, body });

    async function organization(externalId: string, credits: number) {
      const created = expectStatus(
        await call('POST', '/v1/customers', app.secret_key, {
          external_id: externalId,
          type: 'organization',
        }),
        201,
      );
      expect(created).toMatchObject({ object: 'customer', type: 'organization' });
      expectStatus(
        await call('POST', `/v1/customers/${created.id}/grants`, app.secret_key, {
          amount: credits,
          source: 'purchase',
        }),
        201,
      );
      return created as { id: string };
    }

    async function addMember(customerId: string, externalId: string, limit?: unknown): Promise<AddedMember> {
      return expectStatus(
        await call('POST', `/v1/customers/${customerId}/members`, app.secret_key, {
          external_id: externalId,
          ...(limit ? { limit } : {}),
        }),
        201,
      );
    }

    async function availableMicros(customerId: string): Promise<bigint> {
      const balance = expectStatus(
        await call('GET', `/v1/customers/${customerId}/balance`, app.secret_key),
        200,
      );
      return BigInt(Math.round(balance.available * 1_000_000));
    }

    it(`${MEMBERS} members spending concurrently never overdraw the shared wallet`, async () => {
      const org = await organization('acme', 100);
      const members = await Promise.all(
        Array.from({ length: MEMBERS }, (_, index) => addMember(org.id, `member-${index}`)),
      );
      for (const member of members) {
        expect(member.id).toMatch(/^mem_/);
        expect(member.user_key).toMatch(/^tg_uk_/);
      }
      const available = await availableMicros(org.id);
      // 200 holds of 4 credits ask for more than the organisation has (its purchase and signup bonus).
      const amountMicros = 4_000_000n;
      expect(available < BigInt(MEMBERS * HOLDS_PER_MEMBER) * amountMicros).toBe(true);
      const results = await Promise.all(
        members.flatMap((member) =>
          Array.from({ length: HOLDS_PER_MEMBER }, () =>
            call('POST', '/v1/holds', member.user_key, { customer: org.id, model: MODEL, amount: 4 }),
          ),
        ),
      );
      const held = results.filter((result) => result.status === 201);
      const refused = results.filter((result) => result.status !== 201);
      expect(held).toHaveLength(Number(available / amountMicros));
      for (const result of refused) expectError(result, 402, 'insufficient_credits');
      const left = await availableMicros(org.id);
      expect(left).toBe(available - BigInt(held.length) * amountMicros);
      expect(left >= 0n && left < amountMicros).toBe(true);

      // Every member's holds name the member; their captures say who spent what.
      const byMember = new Map<string, string[]>();
      const holdsOf = async (member: AddedMember) => {
        const rows = await server.tollgate.db.query<{ id: string }>(
          `select id from holds where customer_id = $1 and metadata->>'member_id' = $2`,
          [org.id, member.id],
        );
        return rows.map((row) => row.id);
      };
      for (const member of members) byMember.set(member.id, await holdsOf(member));
      expect([...byMember.values()].reduce((sum, ids) => sum + ids.length, 0)).toBe(held.length);
      const [first, second] = members as [AddedMember, AddedMember];
      expectStatus(
        await call('POST', `/v1/holds/${byMember.get(first.id)![0]}/capture`, first.user_key, {
          amount: 0.5,
        }),
        200,
      );
      expectStatus(
        await call('POST', `/v1/holds/${byMember.get(second.id)![0]}/capture`, second.user_key, {
          amount: 0.25,
        }),
        200,
      );
      const history = expectStatus(
        await call('GET', `/v1/customers/${org.id}/transactions`, app.secret_key),
        200,
      );
      const usage = history.data.filter((row: { type: string }) => row.type === 'usage');
      expect(usage.map((row: { member: string; amount: number }) => [row.member, row.amount]).sort()).toEqual(
        [
          [first.id, -0.5],
          [second.id, -0.25],
        ].sort(),
      );

      const grouped = expectStatus(
        await call('GET', `/v1/customers/${org.id}/usage?group_by=member`, app.secret_key),
        200,
      );
      expect(grouped.data.map((row: { member: string }) => row.member)).toEqual([first.id, second.id].sort());
      expect(
        Object.fromEntries(
          grouped.data.map((row: { member: string; cost: number }) => [row.member, row.cost]),
        ),
      ).toEqual({ [first.id]: 0.5, [second.id]: 0.25 });

      const listed = expectStatus(await call('GET', `/v1/customers/${org.id}/members`, app.secret_key), 200);
      expect(listed.data).toHaveLength(MEMBERS);
      expect(listed.data.find((member: { id: string }) => member.id === first.id)).toMatchObject({
        object: 'member',
        external_id: 'member-0',
        limit: null,
        spent: 0.5,
        user_keys: [{ id: first.user_key_id, member: first.id, revoked_at: null }],
      });
      expect(JSON.stringify(listed)).not.toContain(first.user_key);

      const audit = await auditLedger(server.tollgate.db, server.clock);
      expect(audit.problems).toEqual([]);
    }, 120_000);

    it("a member's limit counts over all of its keys and refuses with spend_limit_exceeded", async () => {
      const org = await organization('limited-org', 100);
      const member = await addMember(org.id, 'intern', { amount: 1, period: 'day' });
      expect(member).toMatchObject({ limit: { amount: 1, period: 'day', spent: 0 } });
      const second = expectStatus(
        await call('POST', `/v1/customers/${org.id}/members/intern/user-keys`, app.secret_key, {
          name: 'laptop',
        }),
        201,
      );
      expect(second).toMatchObject({ name: 'laptop', member: member.id });
      const results = await Promise.all(
        [member.user_key, second.user_key, member.user_key, second.user_key, member.user_key].map((key) =>
          call('POST', '/v1/holds', key, { customer: org.id, model: MODEL, amount: 0.4 }),
        ),
      );
      expect(results.filter((result) => result.status === 201)).toHaveLength(2);
      for (const result of results.filter((each) => each.status !== 201)) {
        expect(expectError(result, 402, 'spend_limit_exceeded')).toMatchObject({
          scope: 'member',
          member_id: member.id,
          limit: 1,
          spent: 0.8,
          period: 'day',
          resets_at: '2026-05-07T00:00:00.000Z',
        });
      }
      // The app's hold for one of the member's keys counts against the member too.
      expectError(
        await call('POST', '/v1/holds', app.secret_key, {
          customer: org.id,
          model: MODEL,
          amount: 0.3,
          user_key_id: second.id,
        }),
        402,
        'spend_limit_exceeded',
      );
      // Another member of the same organisation is not limited by it.
      const other = await addMember(org.id, 'lead');
      expectStatus(
        await call('POST', '/v1/holds', other.user_key, { customer: org.id, model: MODEL, amount: 5 }),
        201,
      );

      const raised = expectStatus(
        await call('PATCH', `/v1/customers/${org.id}/members/${member.id}`, app.secret_key, {
          limit: { amount: 2, period: 'day' },
        }),
        200,
      );
      expect(raised.limit).toMatchObject({ amount: 2, spent: 0.8, remaining: 1.2 });
      expectStatus(
        await call('POST', '/v1/holds', member.user_key, { customer: org.id, model: MODEL, amount: 1 }),
        201,
      );
    });

    it('gateway calls with a member key name the member in usage', async () => {
      const org = await organization('gateway-org', 50);
      const member = await addMember(org.id, 'coder');
      const answer = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${member.user_key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: GPT, messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 }),
      });
      expect(answer.status).toBe(200);
      await answer.json();
      const grouped = expectStatus(
        await call('GET', `/v1/customers/${org.id}/usage?group_by=member,key`, app.secret_key),
        200,
      );
      expect(grouped.data).toEqual([
        expect.objectContaining({ member: member.id, key: member.user_key_id, requests: 1 }),
      ]);
      const exported = await fetch(`${server.url}/v1/customers/${org.id}/usage?format=json`, {
        headers: { authorization: `Bearer ${app.secret_key}` },
      });
      const rows = (await exported.json()) as { member_id: string; key_id: string }[];
      expect(rows.map((row) => [row.member_id, row.key_id])).toEqual([[member.id, member.user_key_id]]);
    });

    it("removing a member revokes all of its keys at once; the others' keep working", async () => {
      const org = await organization('removal-org', 20);
      const leaving = await addMember(org.id, 'leaving');
      const staying = await addMember(org.id, 'staying');
      const spare = expectStatus(
        await call('POST', `/v1/customers/${org.id}/members/${leaving.id}/user-keys`, app.secret_key),
        201,
      );
      expectStatus(
        await call('POST', '/v1/holds', leaving.user_key, { customer: org.id, model: MODEL, amount: 1 }),
        201,
      );
      const removed = expectStatus(
        await call('DELETE', `/v1/customers/${org.id}/members/leaving`, app.secret_key),
        200,
      );
      expect(removed).toEqual({ id: leaving.id, object: 'member', removed: true, revoked_keys: 2 });
      for (const key of [leaving.user_key, spare.user_key]) {
        expectError(
          await call('POST', '/v1/holds', key, { customer: org.id, model: MODEL, amount: 1 }),
          401,
          'invalid_user_key',
        );
        expectError(await call('GET', '/v1/credits/balance', key), 401, 'invalid_user_key');
      }
      expectStatus(
        await call('POST', '/v1/holds', staying.user_key, { customer: org.id, model: MODEL, amount: 1 }),
        201,
      );
      const listed = expectStatus(await call('GET', `/v1/customers/${org.id}/members`, app.secret_key), 200);
      expect(listed.data.map((member: { external_id: string }) => member.external_id)).toEqual(['staying']);
      expectError(
        await call('DELETE', `/v1/customers/${org.id}/members/leaving`, app.secret_key),
        404,
        'not_found',
      );
      // The external id is free again: a new member of that name gets new keys.
      const back = await addMember(org.id, 'leaving');
      expect(back.id).not.toBe(leaving.id);
      expectStatus(
        await call('POST', '/v1/holds', back.user_key, { customer: org.id, model: MODEL, amount: 1 }),
        201,
      );
    });

    it('the CLI adds, lists and removes members with the app key', async () => {
      const org = await organization('cli-org', 10);
      const run = async (args: string[]) => {
        let stdout = '';
        let stderr = '';
        const terminal = (write: (chunk: string) => void) => ({ write, isTTY: false });
        const code = await main([...args, '--customer', org.id, '--json'], {
          stdout: terminal((chunk) => (stdout += chunk)),
          stderr: terminal((chunk) => (stderr += chunk)),
          stdin: process.stdin,
          env: { TOLLGATE_URL: server.url, TOLLGATE_API_KEY: app.secret_key },
        });
        expect(code, `${stdout}${stderr}`).toBe(0);
        return JSON.parse(stdout);
      };
      const added = await run(['members', 'add', 'cli-ada', '--limit', '3', '--period', 'week']);
      expect(added).toMatchObject({ external_id: 'cli-ada', limit: { amount: 3, period: 'week' } });
      expect(added.user_key).toMatch(/^tg_uk_/);
      expect((await run(['members', 'list'])).data.map((member: { id: string }) => member.id)).toEqual([
        added.id,
      ]);
      expect(await run(['members', 'remove', 'cli-ada'])).toMatchObject({ removed: true, revoked_keys: 1 });
      expectError(await call('GET', '/v1/credits/balance', added.user_key), 401, 'invalid_user_key');
    });

    it('refuses bad input, members of individuals, duplicates and plain user keys', async () => {
      const org = await organization('strict-org', 10);
      const member = await addMember(org.id, 'only');
      for (const body of [
        {},
        { external_id: '' },
        { external_id: 'x'.repeat(201) },
        { external_id: 'ok', limit: { amount: -1, period: 'day' } },
        { external_id: 'ok', limit: { amount: 1, period: 'year' } },
        { external_id: 'ok', limit: { amount: 'lots', period: 'day' } },
        { external_id: 'ok', limit: { amount: 1e30, period: 'day' } },
      ]) {
        expectError(
          await call('POST', `/v1/customers/${org.id}/members`, app.secret_key, body),
          400,
          'invalid_request',
        );
      }
      expectError(
        await call('POST', '/v1/customers', app.secret_key, { external_id: 'typed', type: 'company' }),
        400,
        'invalid_request',
      );
      expectError(
        await call('POST', `/v1/customers/${org.id}/members`, app.secret_key, { external_id: 'only' }),
        409,
        'invalid_state',
      );
      // The same external id asked for as another type is refused, not silently returned.
      expectError(
        await call('POST', '/v1/customers', app.secret_key, {
          external_id: 'strict-org',
          type: 'individual',
        }),
        409,
        'invalid_state',
      );
      const person = await server.createCustomer(app.secret_key, 'person');
      expect(expectStatus(await call('GET', `/v1/customers/${person.id}`, app.secret_key), 200).type).toBe(
        'individual',
      );
      expectError(
        await call('POST', `/v1/customers/${person.id}/members`, app.secret_key, { external_id: 'x' }),
        409,
        'invalid_state',
      );
      // Only the server says which member spent: a key without a member cannot spend in a member's name.
      const ownKey = (
        await server.tollgate.db.query<{ id: string }>(
          `select id from api_keys where customer_id = $1 and member_id is null and kind = 'user'`,
          [org.id],
        )
      )[0]!;
      const spoofed = expectStatus(
        await call('POST', '/v1/charges', app.secret_key, {
          customer: org.id,
          model: MODEL,
          amount: 1,
          user_key_id: ownKey.id,
          metadata: { member_id: member.id, note: 'kept' },
        }),
        201,
      );
      const [row] = await server.tollgate.db.query<{ metadata: Record<string, unknown> }>(
        `select metadata from ledger_transactions where customer_id = $1 and hold_id = $2 and type = 'usage'`,
        [org.id, spoofed.id],
      );
      expect(row!.metadata).toMatchObject({ note: 'kept', user_key_id: ownKey.id });
      expect(row!.metadata.member_id).toBeUndefined();

      // Nor can it name a key of another customer, or put a key in the metadata by hand.
      const stranger = expectStatus(
        await call('POST', '/v1/customers', app.secret_key, { external_id: 'stranger-of-the-org' }),
        201,
      );
      const [strangerKey] = await server.tollgate.db.query<{ id: string }>(
        `select id from api_keys where customer_id = $1 and kind = 'user'`,
        [stranger.id],
      );
      const foreign = await call('POST', '/v1/charges', app.secret_key, {
        customer: org.id,
        model: MODEL,
        amount: 1,
        user_key_id: strangerKey!.id,
      });
      expect(foreign.status).toBe(400);
      expect(foreign.body.error).toMatchObject({ code: 'invalid_request', param: 'user_key_id' });
      const unnamed = expectStatus(
        await call('POST', '/v1/charges', app.secret_key, {
          customer: org.id,
          model: MODEL,
          amount: 1,
          metadata: { user_key_id: ownKey.id, note: 'by hand' },
        }),
        201,
      );
      const [unnamedRow] = await server.tollgate.db.query<{ metadata: Record<string, unknown> }>(
        `select metadata from ledger_transactions where customer_id = $1 and hold_id = $2 and type = 'usage'`,
        [org.id, unnamed.id],
      );
      expect(unnamedRow!.metadata).toMatchObject({ note: 'by hand' });
      expect(unnamedRow!.metadata.user_key_id).toBeUndefined();

      // A member's own key cannot add members, raise its limit or remove others.
      expectError(
        await call('POST', `/v1/customers/${org.id}/members`, member.user_key, { external_id: 'sneaky' }),
        403,
        'forbidden',
      );
      expectError(
        await call('PATCH', `/v1/customers/${org.id}/members/${member.id}`, member.user_key, { limit: null }),
        403,
        'forbidden',
      );
      // Another app's organisation is not found.
      const otherApp = await server.createApp({ name: 'Other app' });
      expectError(
        await call('GET', `/v1/customers/${org.id}/members`, otherApp.secret_key),
        404,
        'not_found',
      );
      expectError(
        await call('DELETE', `/v1/customers/${org.id}/members/${member.id}`, otherApp.secret_key),
        404,
        'not_found',
      );
      expectError(
        await call('GET', `/v1/customers/${org.id}/usage?group_by=member,team`, app.secret_key),
        400,
        'invalid_request',
      );
      const openapi = expectStatus(await server.call('GET', '/openapi.json'), 200);
      expect(Object.keys(openapi.paths['/v1/customers/{id}/members'])).toEqual(['post', 'get']);
      expect(Object.keys(openapi.paths['/v1/customers/{id}/members/{member}']).sort()).toEqual([
        'delete',
        'get',
        'patch',
      ]);
    });
  });
}
