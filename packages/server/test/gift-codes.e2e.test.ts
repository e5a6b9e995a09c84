/**
 * Gift codes end to end over real HTTP, on every backend: an app creates batches, users redeem with
 * their user keys. Codes are hard to guess and stored hashed; redemptions are bounded exactly under
 * concurrency (single-use, max_redemptions, once per user), expire, stay inside their app, and
 * attempts are rate limited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger } from '../src/ledger/audit.ts';
import { testBackends } from './support/databases.ts';
import { expectError, expectStatus } from './support/expectations.ts';
import { startTestServer, type TestServer } from './support/server.ts';

type App = { id: string; secret_key: string; publishable_key: string };
type Customer = { id: string; user_key: string; balance: number };

const CODE_FORMAT =
  /^TG-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;

for (const backend of testBackends()) {
  describe(`gift codes (${backend.name})`, () => {
    let server: TestServer;
    let app: App;
    let otherApp: App;
    let customerCount = 0;

    beforeAll(async () => {
      server = await startTestServer(backend);
      app = await server.createApp({ name: 'Gift app' });
      otherApp = await server.createApp({ name: 'Other gift app' });
    });
    afterAll(async () => {
      await server?.close();
    });

    const newCustomer = (owner: App = app): Promise<Customer> => {
      customerCount += 1;
      return server.createCustomer(owner.secret_key, `gift-user-${customerCount}`);
    };
    const createCodes = async (body: Record<string, unknown>, owner: App = app) =>
      expectStatus(await server.call('POST', '/v1/gift-codes', { key: owner.secret_key, body }), 201);
    const redeem = (customer: Customer, code: string) =>
      server.call('POST', '/v1/gift-codes/redeem', {
        headers: { 'x-user-key': customer.user_key },
        body: { code },
      });
    const balanceOf = async (customer: Customer, owner: App = app): Promise<number> =>
      expectStatus(await server.call('GET', `/v1/customers/${customer.id}`, { key: owner.secret_key }), 200)
        .balance;

    it('creates codes that are hard to guess, unique across a batch of 100, shown once and stored hashed', async () => {
      const batch = await createCodes({ amount: 25, count: 100 });
      expect(batch).toMatchObject({ amount: 25, count: 100, max_redemptions: 1, expires_at: null });
      expect(batch.codes).toHaveLength(100);
      for (const code of batch.codes) expect(code).toMatch(CODE_FORMAT);
      expect(new Set(batch.codes).size).toBe(100);
      // 16 symbols of a 32-letter alphabet (80 random bits): no shared prefixes, every symbol used.
      expect(new Set(batch.codes.map((code: string) => code.slice(0, 9))).size).toBe(100);
      const symbols = new Set(
        batch.codes.flatMap((code: string) => code.slice(3).replaceAll('-', '').split('')),
      );
      expect(symbols.size).toBeGreaterThanOrEqual(30);
      const second = await createCodes({ amount: 25, count: 100 });
      expect(new Set([...batch.codes, ...second.codes]).size).toBe(200);

      // The database never holds a code in clear, and the listing never shows one again.
      const stored = await server.tollgate.db.query<{ code_hash: string; code_hint: string }>(
        'select code_hash, code_hint from gift_codes',
      );
      const storedText = JSON.stringify(stored);
      for (const code of batch.codes.slice(0, 20)) {
        expect(storedText).not.toContain(code);
        expect(storedText).not.toContain(code.replace(/^TG-/, '').replaceAll('-', ''));
      }
      const listing = expectStatus(await server.call('GET', '/v1/gift-codes', { key: app.secret_key }), 200);
      expect(listing.data.find((row: any) => row.id === batch.id)).toMatchObject({
        amount: 25,
        count: 100,
        redemptions: 0,
      });
      const listingText = JSON.stringify(listing);
      for (const code of batch.codes) expect(listingText).not.toContain(code);

      // Bad batches.
      expectError(
        await server.call('POST', '/v1/gift-codes', { key: app.secret_key, body: { amount: 0 } }),
        400,
        'invalid_request',
      );
      expectError(
        await server.call('POST', '/v1/gift-codes', { key: app.secret_key, body: { amount: 5, count: 0 } }),
        400,
        'invalid_request',
      );
      expectError(
        await server.call('POST', '/v1/gift-codes', {
          key: app.secret_key,
          body: { amount: 5, expires_at: new Date(server.clock.now().getTime() - 1000).toISOString() },
        }),
        400,
        'invalid_request',
      );
      const user = await newCustomer();
      expectError(
        await server.call('POST', '/v1/gift-codes', {
          headers: { 'x-user-key': user.user_key },
          body: { amount: 5 },
        }),
        403,
        'forbidden',
      );
    });

    it('20 concurrent redemptions of a single-use code by 20 users: exactly one succeeds', async () => {
      const {
        codes: [code],
      } = await createCodes({ amount: 40 });
      const users = await Promise.all(Array.from({ length: 20 }, () => newCustomer()));
      const responses = await Promise.all(users.map((user) => redeem(user, code)));
      const winners = responses.filter((response) => response.status === 200);
      expect(winners).toHaveLength(1);
      expect(winners[0]!.body).toMatchObject({ amount: 40, balance: 540 });
      for (const response of responses.filter((candidate) => candidate.status !== 200)) {
        expectError(response, 409, 'already_redeemed');
      }
      const balances = await Promise.all(users.map((user) => balanceOf(user)));
      expect(balances.filter((balance) => balance === 540)).toHaveLength(1);
      expect(balances.filter((balance) => balance === 500)).toHaveLength(19);
      expect(balances.reduce((sum, balance) => sum + balance, 0)).toBe(20 * 500 + 40);

      // The winner's history shows the gift; nobody can take it again.
      const winner = users[balances.indexOf(540)]!;
      const history = expectStatus(
        await server.call('GET', '/v1/credits/history', { headers: { 'x-user-key': winner.user_key } }),
        200,
      );
      expect(history.data[0]).toMatchObject({
        type: 'gift_code',
        amount: 40,
        balance_after: 540,
        source: 'gift',
      });
      expectError(await redeem(winner, code), 409, 'already_redeemed');
      const rows = await server.tollgate.db.query<{ redemptions: number }>(
        'select redemptions from gift_codes g join gift_redemptions r on r.code_id = g.id where r.customer_id = $1',
        [winner.id],
      );
      expect(rows.map((row) => Number(row.redemptions))).toEqual([1]);
    });

    it('max_redemptions 3: exactly 3 of 10 concurrent users succeed; nobody redeems the same code twice', async () => {
      const batch = await createCodes({ amount: 15, max_redemptions: 3 });
      const code = batch.codes[0] as string;
      const users = await Promise.all(Array.from({ length: 10 }, () => newCustomer()));
      const responses = await Promise.all(users.map((user) => redeem(user, code)));
      expect(responses.filter((response) => response.status === 200)).toHaveLength(3);
      for (const response of responses.filter((candidate) => candidate.status !== 200))
        expectError(response, 409, 'already_redeemed');
      const balances = await Promise.all(users.map((user) => balanceOf(user)));
      expect(balances.filter((balance) => balance === 515)).toHaveLength(3);
      expect(balances.filter((balance) => balance === 500)).toHaveLength(7);
      const listing = expectStatus(await server.call('GET', '/v1/gift-codes', { key: app.secret_key }), 200);
      expect(listing.data.find((row: any) => row.id === batch.id)).toMatchObject({
        max_redemptions: 3,
        redemptions: 3,
      });

      // A multi-use code, once per user: even concurrently, the same user gets it once.
      const multi = (await createCodes({ amount: 7, max_redemptions: 100 })).codes[0] as string;
      const user = await newCustomer();
      expect(expectStatus(await redeem(user, multi), 200)).toMatchObject({ amount: 7, balance: 507 });
      const again = expectError(await redeem(user, multi), 409, 'already_redeemed');
      expect(again.message).toMatch(/already redeemed/i);
      const racer = await newCustomer();
      const raced = await Promise.all([redeem(racer, multi), redeem(racer, multi), redeem(racer, multi)]);
      expect(raced.filter((response) => response.status === 200)).toHaveLength(1);
      for (const response of raced.filter((candidate) => candidate.status !== 200))
        expectError(response, 409, 'already_redeemed');
      expect(await balanceOf(user)).toBe(507);
      expect(await balanceOf(racer)).toBe(507);
      // Codes are read case- and separator-insensitively.
      const relaxed = await newCustomer();
      expect(expectStatus(await redeem(relaxed, multi.toLowerCase().replaceAll('-', ' ')), 200).amount).toBe(
        7,
      );
    });

    it('an expired code is refused', async () => {
      const expiresAt = new Date(server.clock.now().getTime() + 3_600_000).toISOString();
      const batch = await createCodes({ amount: 9, count: 2, expires_at: expiresAt });
      expect(batch.expires_at).toBe(expiresAt);
      const early = await newCustomer();
      expect(expectStatus(await redeem(early, batch.codes[0]), 200).amount).toBe(9);

      server.clock.advance(2 * 3_600_000);
      const late = await newCustomer();
      const refused = expectError(await redeem(late, batch.codes[1]), 409, 'invalid_state');
      expect(refused.message).toMatch(/expired/i);
      expect(await balanceOf(late)).toBe(500);
    });

    it("a code from app A cannot be redeemed by app B's user", async () => {
      const code = (await createCodes({ amount: 11 })).codes[0] as string;
      const outsider = await newCustomer(otherApp);
      expectError(await redeem(outsider, code), 404, 'not_found');
      expect(await balanceOf(outsider, otherApp)).toBe(500);
      // B's listing does not show A's batches, and the attempt used nothing up.
      const otherListing = expectStatus(
        await server.call('GET', '/v1/gift-codes', { key: otherApp.secret_key }),
        200,
      );
      expect(otherListing.data).toEqual([]);
      const insider = await newCustomer();
      expect(expectStatus(await redeem(insider, code), 200)).toMatchObject({ amount: 11, balance: 511 });
      // And the other way round.
      const theirs = (await createCodes({ amount: 13 }, otherApp)).codes[0] as string;
      expectError(await redeem(await newCustomer(), theirs), 404, 'not_found');
      expect(expectStatus(await redeem(await newCustomer(otherApp), theirs), 200).amount).toBe(13);
    });

    it('redemption attempts are rate limited: 429 rate_limited with Retry-After beyond 10 quick attempts', async () => {
      const guesser = await newCustomer();
      const real = (await createCodes({ amount: 50 })).codes[0] as string;
      // The bucket refills one attempt every 6 s in real time: a sequence could earn an extra attempt on
      // a slow machine, a burst cannot. 10 go through (and find nothing), the other 5 are limited.
      const burst = await Promise.all(
        Array.from({ length: 15 }, (_, attempt) =>
          redeem(guesser, `TG-GUES-S000-0000-${String(attempt).padStart(4, '0')}`),
        ),
      );
      const statuses = burst.map((response) => response.status).sort();
      expect(statuses).toEqual([...Array(10).fill(404), ...Array(5).fill(429)]);
      for (const response of burst.filter((candidate) => candidate.status === 404))
        expectError(response, 404, 'not_found');
      const limited = burst.find((response) => response.status === 429);
      const error = expectError(limited!, 429, 'rate_limited');
      expect(error.message).toMatch(/too many/i);
      const retryAfter = Number(limited!.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(error.retry_after_seconds).toBe(retryAfter);

      // Even a real code is refused while limited, and nothing is granted.
      expectError(await redeem(guesser, real), 429, 'rate_limited');
      expect(await balanceOf(guesser)).toBe(500);
      // The limit is per user: someone else redeems at once.
      expect(expectStatus(await redeem(await newCustomer(), real), 200).amount).toBe(50);
      const audit = await auditLedger(server.tollgate.db, server.clock);
      expect(audit.problems).toEqual([]);
    });
  });
}
