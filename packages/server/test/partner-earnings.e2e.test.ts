/**
 * Partner earnings over real HTTP on every backend: an app's referral shares month by month (the same
 * figures as the history's `referral_share`), payouts the operator records (debiting `ref:<app>` in a
 * balanced transaction, idempotent, never past what is owed, even when several race), and the audit
 * clean afterwards with `sys:payouts` holding what was paid.
 */
import { Tollgate } from '@tollgate/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger } from '../src/ledger/audit.ts';
import { formatMicros } from '../src/shared/money.ts';
import { testBackends } from './support/databases.ts';
import { expectError, expectStatus } from './support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './support/server.ts';

const micros = (credits: number) => BigInt(Math.round(credits * 1e6));

for (const backend of testBackends()) {
  describe(`partner earnings (${backend.name})`, () => {
    let server: TestServer;
    let app: { id: string; secret_key: string };
    let otherApp: { id: string; secret_key: string };

    beforeAll(async () => {
      server = await startTestServer(backend);
      app = await server.createApp({ name: 'Partner app', referral_rate: 0.1 });
      otherApp = await server.createApp({ name: 'Other partner', referral_rate: 0.2 });
    });
    afterAll(async () => {
      await server?.close();
    });

    const statement = async (appId: string, key = ADMIN_KEY) =>
      expectStatus(await server.call('GET', `/v1/apps/${appId}/earnings`, { key }), 200);
    const payout = (amount: string | number, headers: Record<string, string> = {}, appId = app.id) =>
      server.call('POST', `/v1/apps/${appId}/payouts`, {
        key: ADMIN_KEY,
        body: { amount, reference: 'wire-1' },
        headers,
      });
    const charge = async (secretKey: string, customer: string, model: string) =>
      expectStatus(
        await server.call('POST', '/v1/charges', { key: secretKey, body: { customer, model } }),
        201,
      );

    it('states earnings per month, records payouts up to what is owed, and keeps the books balanced', async () => {
      const customer = await server.createCustomer(app.secret_key, 'spender');
      const elsewhere = await server.createCustomer(otherApp.secret_key, 'spender-elsewhere');
      const model = 'fal-ai/flux/dev';

      server.clock.set('2031-06-10T00:00:00.000Z');
      await charge(app.secret_key, customer.id, model);
      await charge(app.secret_key, customer.id, model);
      server.clock.set('2031-07-02T00:00:00.000Z');
      await charge(app.secret_key, customer.id, model);
      await charge(otherApp.secret_key, elsewhere.id, model);

      // What the history says each charge paid the app.
      const history = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}/transactions?limit=50`, {
          key: app.secret_key,
        }),
        200,
      ).data.filter((row: any) => row.type === 'usage');
      const shares = history.map((row: any) => micros(row.referral_share));
      expect(shares.every((share: bigint) => share > 0n)).toBe(true);
      const [july, juneSecond, juneFirst] = shares as [bigint, bigint, bigint];
      const earned = july + juneSecond + juneFirst;

      let view = await statement(app.id);
      expect(view).toMatchObject({
        object: 'partner_earnings',
        account: `ref:${app.id}`,
        earned: Number(formatMicros(earned)),
        paid: 0,
        owed: Number(formatMicros(earned)),
        payouts: [],
      });
      expect(view.periods).toEqual([
        { period: '2031-06', earned: Number(formatMicros(juneFirst + juneSecond)), paid: 0 },
        { period: '2031-07', earned: Number(formatMicros(july)), paid: 0 },
      ]);
      // The app reads its own statement, not another's; only the operator records payouts.
      expect((await statement(app.id, app.secret_key)).owed).toBe(view.owed);
      // The contract's name for the same statement: the app's own key, or the admin naming the app.
      expect(
        expectStatus(await server.call('GET', '/v1/partner/statement', { key: app.secret_key }), 200),
      ).toEqual(view);
      expect(
        expectStatus(
          await server.call('GET', `/v1/partner/statement?app=${app.id}`, { key: ADMIN_KEY }),
          200,
        ),
      ).toEqual(view);
      expectError(
        await server.call('GET', `/v1/partner/statement?app=${app.id}`, { key: otherApp.secret_key }),
        404,
        'not_found',
      );
      expectError(
        await server.call('GET', '/v1/partner/statement', { key: ADMIN_KEY }),
        400,
        'invalid_request',
      );
      expectError(
        await server.call('GET', `/v1/apps/${app.id}/earnings`, { key: otherApp.secret_key }),
        404,
        'not_found',
      );
      expectError(
        await server.call('POST', `/v1/apps/${app.id}/payouts`, { key: app.secret_key, body: { amount: 1 } }),
        403,
        'forbidden',
      );

      // More than owed: refused, saying how much is owed.
      const tooMuch = expectError(await payout(formatMicros(earned + 1n)), 400, 'invalid_request');
      expect(tooMuch.owed).toBe(Number(formatMicros(earned)));
      expectError(await payout(0), 400, 'invalid_request');

      // A payout of July's share, retried under its key: recorded once.
      const first = expectStatus(await payout(formatMicros(july), { 'idempotency-key': 'payout-july' }), 201);
      expect(first).toMatchObject({
        object: 'payout',
        amount: Number(formatMicros(july)),
        reference: 'wire-1',
      });
      expect(first.owed_after).toBe(Number(formatMicros(earned - july)));
      const again = expectStatus(await payout(formatMicros(july), { 'idempotency-key': 'payout-july' }), 201);
      expect(again.id).toBe(first.id);

      // Several payouts race for what is left: together they never pass it.
      const left = earned - july;
      const slice = left / 3n;
      const raced = await Promise.all(Array.from({ length: 8 }, () => payout(formatMicros(slice))));
      expect(raced.filter((response) => response.status === 201)).toHaveLength(3);
      for (const response of raced.filter((result) => result.status !== 201)) {
        expect(response.body.error.code).toBe('invalid_request');
      }
      const paid = july + 3n * slice;

      view = await statement(app.id);
      expect(view).toMatchObject({
        earned: Number(formatMicros(earned)),
        paid: Number(formatMicros(paid)),
        owed: Number(formatMicros(earned - paid)),
      });
      expect(view.payouts).toHaveLength(4);
      expect(view.periods.at(-1)).toMatchObject({ period: '2031-07', paid: Number(formatMicros(paid)) });
      // The other app's earnings are its own.
      expect((await statement(otherApp.id)).paid).toBe(0);

      // Balanced, derived from entries: the referral account holds what is owed, sys:payouts what was paid.
      const audit = await auditLedger(server.tollgate.db, server.clock);
      expect(audit.problems).toEqual([]);
      expect(audit.totalMicros).toBe(0n);
      expect(audit.systemAccounts[`ref:${app.id}`]).toBe(earned - paid);
      expect(audit.systemAccounts['sys:payouts']).toBe(paid);
      expect(expectStatus(await server.call('GET', '/v1/admin/audit', { key: ADMIN_KEY }), 200).ok).toBe(
        true,
      );

      // The SDK reads the same statement and records payouts with the operator key.
      const operator = new Tollgate({ baseUrl: server.url, apiKey: ADMIN_KEY });
      expect(await operator.apps.earnings(app.id)).toMatchObject({ owed: view.owed });
      const last = await operator.apps.recordPayout(app.id, { amount: formatMicros(earned - paid) });
      expect(last.owed_after).toBe(0);
      expect((await statement(app.id)).owed).toBe(0);
    });
  });
}
