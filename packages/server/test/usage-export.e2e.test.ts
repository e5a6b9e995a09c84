/**
 * Usage you can take away, over real HTTP on every backend: gateway calls (against the local fake
 * provider) and gate charges summed by day, model, key and customer with filters; each call found
 * by its `x-tollgate-hold` with the cost the answer carried; the CSV and JSON exports; each key
 * sees only its own (user), its customers' (app), everyone's (admin). And a large generated set is
 * exported as a stream: while the reader stops reading the server waits for it, having read only
 * part of the rows, and then delivers every row.
 */
import { Tollgate } from '@tollgate/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.ts';
import { loadConfig } from '../src/config/load-config.ts';
import { EXPORT_BATCH_ROWS } from '../src/usage/usage-service.ts';
import { type FakeUpstream, startFakeUpstream } from './fakes/fake-upstream.ts';
import { testBackends } from './support/databases.ts';
import { expectError, expectStatus, waitFor } from './support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './support/server.ts';

const MODEL = 'openai/gpt-4o-mini';

for (const backend of testBackends()) {
  describe(`usage you can take away (${backend.name})`, () => {
    let server: TestServer;
    let upstream: FakeUpstream;
    let app: { id: string; secret_key: string };
    let otherApp: { id: string; secret_key: string };

    beforeAll(async () => {
      upstream = await startFakeUpstream();
      const env = {
        OPENAI_BASE_URL: `${upstream.url}/v1`,
        OPENAI_API_KEY: 'sk-platform-openai',
        TOLLGATE_UPSTREAM_TIMEOUT_MS: '5000',
      };
      server = await startTestServer(backend, { env, config: loadConfig(undefined, env) });
      server.clock.set('2031-05-01T10:00:00.000Z');
      app = await server.createApp({ name: 'Usage app', referral_rate: 0.1 });
      otherApp = await server.createApp({ name: 'Other app' });
    });
    afterAll(async () => {
      await server?.close();
      await upstream?.close();
    });

    const chat = async (userKey: string, usage: { input_tokens: number; output_tokens: number }) => {
      upstream.queueBehavior({ usage });
      const response = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${userKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(response.status, await response.clone().text()).toBe(200);
      return {
        hold: response.headers.get('x-tollgate-hold')!,
        cost: Number(response.headers.get('x-tollgate-cost')),
      };
    };
    const get = async (path: string, key: string) =>
      expectStatus(await server.call('GET', path, { key }), 200);
    const round6 = (value: number) => Math.round(value * 1e6) / 1e6;

    it('sums, filters, finds one call and exports, each key seeing only its own', async () => {
      const writer = await server.createCustomer(app.secret_key, 'writer');
      const secondKey = expectStatus(
        await server.call('POST', `/v1/customers/${writer.id}/user-keys`, { key: app.secret_key }),
        201,
      );
      const reader = await server.createCustomer(app.secret_key, 'reader');
      const stranger = await server.createCustomer(otherApp.secret_key, 'stranger');

      const first = await chat(writer.user_key, { input_tokens: 4, output_tokens: 20 });
      const second = await chat(writer.user_key, { input_tokens: 6, output_tokens: 30 });
      server.clock.set('2031-05-02T09:00:00.000Z');
      const third = await chat(secondKey.user_key, { input_tokens: 3, output_tokens: 5 });
      expectStatus(
        await server.call('POST', '/v1/charges', {
          key: app.secret_key,
          body: { customer: writer.id, model: 'custom/render', amount: 3 },
        }),
        201,
      );
      const readerCall = await chat(reader.user_key, { input_tokens: 10, output_tokens: 1 });
      const strangerCall = await chat(stranger.user_key, { input_tokens: 10, output_tokens: 1 });
      for (const call of [first, second, third]) expect(call.cost).toBeGreaterThan(0);

      // The customer's own key: their rows only, grouped by key, model and day.
      const byKey = await get('/v1/usage?group_by=key', writer.user_key);
      // Keyless first (a charge the app made), then the user's keys.
      expect(byKey.data[0]).toMatchObject({ key: null, requests: 1, cost: 3 });
      expect(byKey.data).toHaveLength(3);
      const keyRows = byKey.data.filter((row: any) => row.key !== null);
      expect(keyRows.map((row: any) => row.requests).sort()).toEqual([1, 2]);
      const twoCalls = keyRows.find((row: any) => row.requests === 2);
      expect(twoCalls).toMatchObject({
        cost: round6(first.cost + second.cost),
        input_tokens: 10,
        output_tokens: 50,
      });
      expect(keyRows.find((row: any) => row.requests === 1)).toMatchObject({
        key: secondKey.id,
        cost: third.cost,
      });

      const byModel = await get('/v1/usage?group_by=model', writer.user_key);
      expect(byModel.data).toEqual([
        expect.objectContaining({ model: 'custom/render', requests: 1, cost: 3 }),
        expect.objectContaining({
          model: MODEL,
          requests: 3,
          cost: round6(first.cost + second.cost + third.cost),
        }),
      ]);
      const byDay = await get('/v1/usage?group_by=day', writer.user_key);
      expect(byDay.data.map((row: any) => [row.day, row.requests])).toEqual([
        ['2031-05-01', 2],
        ['2031-05-02', 2],
      ]);
      // Filters: a day range, a model, a model type (gateway calls are language work).
      expect((await get('/v1/usage?group_by=model&from=2031-05-02', writer.user_key)).data).toEqual([
        expect.objectContaining({ model: 'custom/render', requests: 1 }),
        expect.objectContaining({ model: MODEL, requests: 1, cost: third.cost }),
      ]);
      expect((await get('/v1/usage?group_by=day&to=2031-05-02', writer.user_key)).data).toEqual([
        expect.objectContaining({ day: '2031-05-01', requests: 2 }),
      ]);
      expect(
        (await get(`/v1/usage?group_by=model&model=${encodeURIComponent('custom/render')}`, writer.user_key))
          .data,
      ).toEqual([expect.objectContaining({ model: 'custom/render' })]);
      expect((await get('/v1/usage?group_by=model&type=language', writer.user_key)).data).toEqual([
        expect.objectContaining({ model: MODEL, requests: 3 }),
      ]);
      expect((await get('/v1/usage?group_by=model&type=image', writer.user_key)).data).toEqual([]);
      expectError(
        await server.call('GET', '/v1/usage?group_by=week', { key: writer.user_key }),
        400,
        'invalid_request',
      );

      // Several groups at once, and the contract's per-customer route, as JSON and as CSV.
      const byDayAndModel = await get('/v1/usage?group_by=day,model', writer.user_key);
      expect(byDayAndModel.data.map((row: any) => [row.day, row.model, row.requests])).toEqual([
        ['2031-05-01', MODEL, 2],
        ['2031-05-02', 'custom/render', 1],
        ['2031-05-02', MODEL, 1],
      ]);
      const perCustomer = await get(`/v1/customers/${writer.id}/usage?group_by=day,model`, app.secret_key);
      expect(perCustomer).toEqual(byDayAndModel);
      const summaryCsv = await fetch(
        `${server.url}/v1/customers/${writer.id}/usage?group_by=model&format=csv`,
        { headers: { authorization: `Bearer ${app.secret_key}` } },
      );
      expect(summaryCsv.headers.get('content-type')).toMatch(/^text\/csv/);
      expect((await summaryCsv.text()).trimEnd().split('\n')).toEqual([
        'model,requests,cost,input_tokens,output_tokens,cached_input_tokens',
        expect.stringMatching(/^custom\/render,1,3,/),
        expect.stringMatching(new RegExp(`^${MODEL.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')},3,`)),
      ]);
      // Without group_by: every row, streamed (the same rows as the export).
      const allRows = await get(`/v1/customers/${writer.id}/usage`, writer.user_key);
      expect(allRows).toHaveLength(4);
      expectError(
        await server.call('GET', `/v1/customers/${stranger.id}/usage`, { key: app.secret_key }),
        404,
        'not_found',
      );
      expectError(
        await server.call('GET', '/v1/usage?group_by=day,day', { key: writer.user_key }),
        400,
        'invalid_request',
      );

      // The app: its customers, not another app's; the admin: everyone.
      const byCustomer = await get('/v1/usage?group_by=customer', app.secret_key);
      expect(byCustomer.data.map((row: any) => [row.customer, row.requests]).sort()).toEqual(
        [
          [reader.id, 1],
          [writer.id, 4],
        ].sort(),
      );
      expect((await get('/v1/usage?group_by=customer&customer=reader', app.secret_key)).data).toEqual([
        expect.objectContaining({ customer: reader.id, cost: readerCall.cost }),
      ]);
      expectError(
        await server.call('GET', `/v1/usage?customer=${stranger.id}`, { key: app.secret_key }),
        404,
        'not_found',
      );
      const everyone = await get('/v1/usage?group_by=customer', ADMIN_KEY);
      expect(everyone.data.map((row: any) => row.customer)).toContain(stranger.id);

      // One call by the hold id its answer carried: the same cost, the tokens billed.
      const call = await get(`/v1/calls/${first.hold}`, writer.user_key);
      expect(call).toMatchObject({
        hold_id: first.hold,
        customer: writer.id,
        status: 'captured',
        model: MODEL,
        cost: first.cost,
        input_tokens: 4,
        output_tokens: 20,
        endpoint: 'chat.completions',
      });
      expect(call.key_id).toBe(twoCalls.key);
      expect(call.referral_share).toBeGreaterThan(0);
      expect((await get(`/v1/calls/${strangerCall.hold}`, ADMIN_KEY)).cost).toBe(strangerCall.cost);
      expectError(
        await server.call('GET', `/v1/calls/${first.hold}`, { key: reader.user_key }),
        404,
        'not_found',
      );
      expectError(
        await server.call('GET', `/v1/calls/${first.hold}`, { key: otherApp.secret_key }),
        404,
        'not_found',
      );
      expectError(await server.call('GET', '/v1/calls/hold_nope', { key: app.secret_key }), 404, 'not_found');

      // Export: CSV and JSON, the app's rows; the user's own through the SDK and the CLI.
      const csv = await fetch(`${server.url}/v1/usage/export?format=csv`, {
        headers: { authorization: `Bearer ${app.secret_key}` },
      });
      expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
      const lines = (await csv.text()).trimEnd().split('\n');
      expect(lines[0]).toBe(
        'id,created_at,customer,model,type,endpoint,key_id,hold_id,input_tokens,output_tokens,cached_input_tokens,cost,provider_cost,referral_share,member_id',
      );
      expect(lines).toHaveLength(1 + 5);
      const firstLine = lines.find((line) => line.includes(first.hold))!.split(',');
      expect(firstLine.slice(3, 6)).toEqual([MODEL, 'language', 'chat.completions']);
      expect(firstLine.slice(8, 12)).toEqual(['4', '20', '0', String(first.cost)]);
      expect(lines.some((line) => line.includes(stranger.id))).toBe(false);
      const json = await fetch(`${server.url}/v1/usage/export?format=json&customer=writer`, {
        headers: { authorization: `Bearer ${app.secret_key}` },
      });
      const rows = await json.json();
      expect(rows.map((row: any) => row.cost)).toEqual([first.cost, second.cost, third.cost, 3]);

      const sdk = new Tollgate({ baseUrl: server.url, userKey: writer.user_key });
      expect((await sdk.usage.summary({ group_by: 'model' })).data).toEqual(byModel.data);
      expect(await sdk.usage.call(first.hold)).toMatchObject({ cost: first.cost });
      const exported = await new Response(
        await sdk.usage.export({ format: 'csv', from: '2031-05-02' }),
      ).text();
      expect(exported.trimEnd().split('\n')).toHaveLength(1 + 2);

      let stdout = '';
      const code = await main(['usage', 'export', '--format', 'csv'], {
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: () => true },
        stdin: process.stdin,
        env: { TOLLGATE_URL: server.url, TOLLGATE_USER_KEY: writer.user_key },
      });
      expect(code).toBe(0);
      expect(stdout.trimEnd().split('\n')).toHaveLength(1 + 4);
    });

    it('streams a large export: the server reads a page at a time and waits for a slow reader', async () => {
      const bulk = await server.createCustomer(app.secret_key, 'bulk');
      const total = 200_000;
      // Generated history rows (the ledger's own writes would take far longer); this customer is not audited.
      await server.tollgate.db.query(
        `insert into ledger_transactions (customer_id, type, amount_micros, balance_after_micros, model, metadata, created_at)
         select $1, 'usage', -1500, 0, 'openai/gpt-4o-mini',
                jsonb_build_object('endpoint', 'chat.completions', 'input_tokens', n % 1000, 'output_tokens', 7),
                timestamptz '2031-05-03T00:00:00Z' + n * interval '1 second'
         from generate_series(1, $2::int) as n`,
        [bulk.id, total],
      );
      const stats = server.tollgate.services.usage.exportStats;
      const readBefore = stats.rowsRead;
      const response = await fetch(`${server.url}/v1/usage/export?format=csv&customer=bulk`, {
        headers: { authorization: `Bearer ${app.secret_key}` },
      });
      expect(response.status).toBe(200);
      const body = response.body!.getReader();
      let text = new TextDecoder().decode((await body.read()).value);
      // The reader stops reading: the server stops too, with most of the rows still unread.
      await waitFor(() => stats.waitingForReader > 0, 'the export to wait for its reader', 60_000);
      const readWhileWaiting = stats.rowsRead - readBefore;
      expect(readWhileWaiting).toBeGreaterThanOrEqual(EXPORT_BATCH_ROWS);
      expect(readWhileWaiting).toBeLessThan(total);
      // Reading on delivers every row, in order.
      const decoder = new TextDecoder();
      let lines = 0;
      let last = '';
      for (;;) {
        const { done, value } = await body.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        const cut = text.lastIndexOf('\n');
        if (cut < 0) continue;
        const complete = text.slice(0, cut);
        lines += complete.split('\n').length;
        last = complete.slice(complete.lastIndexOf('\n') + 1);
        text = text.slice(cut + 1);
      }
      expect(lines).toBe(1 + total);
      expect(last.split(',')).toEqual(expect.arrayContaining(['0.0015', '7']));
      expect(stats.rowsRead - readBefore).toBe(total);
      expect(stats.waitingForReader).toBe(0);
    });
  });
}
