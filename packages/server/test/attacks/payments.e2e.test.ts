/**
 * Attacks on selling credits (issue 12, holes 10, 11, 12 and the expired-after-completion answer of
 * 17), over real HTTP on every backend. Each one tries to get credits nobody paid for — or to lose
 * credits somebody did pay for — and asserts the money outcome: exact balances, nothing granted that
 * was not paid or earned, nothing moved twice, and a clean `auditLedger`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigSource } from '../../src/config/load-config.ts';
import { auditLedger } from '../../src/ledger/audit.ts';
import {
  checkoutSessionExpiredEvent,
  type FakeStripe,
  type JsonObject,
  signedWebhook,
  startFakeStripe,
} from '../fakes/fake-stripe.ts';
import { testBackends } from '../support/databases.ts';
import { type CallResult, expectError, expectHistoryReplays, expectStatus } from '../support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from '../support/server.ts';

type App = { id: string; secret_key: string; publishable_key: string };

const SHOP = 'https://shop.example';

async function expectBooksClean(server: TestServer): Promise<void> {
  const audit = await auditLedger(server.tollgate.db, server.clock);
  expect(audit.problems).toEqual([]);
  expect(audit.totalMicros).toBe(0n);
}

/** What a browser sends when a form is submitted: urlencoded, redirects not followed. */
function submitForm(url: string, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: '',
    redirect: 'manual',
  });
}

async function postJson(url: string, headers: Record<string, string> = {}): Promise<CallResult> {
  const response = await fetch(url, { method: 'POST', headers: { accept: 'application/json', ...headers } });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // an HTML page
  }
  return { status: response.status, body, headers: response.headers };
}

/** The widget's calls for one app (public, with its publishable key). */
function widgetOf(server: TestServer, app: App) {
  return {
    async session(): Promise<{ user_key: string; balance: number }> {
      return expectStatus(
        await server.call('POST', '/v1/widget/session', { body: { publishable_key: app.publishable_key } }),
        201,
      );
    },
    async code(email: string): Promise<string> {
      return expectStatus(
        await server.call('POST', '/v1/widget/login/start', {
          body: { publishable_key: app.publishable_key, email },
        }),
        200,
      ).test_mode_code;
    },
    verify(email: string, code: string, userKey?: string) {
      return server.call('POST', '/v1/widget/login/verify', {
        body: {
          publishable_key: app.publishable_key,
          email,
          code,
          ...(userKey ? { user_key: userKey } : {}),
        },
      });
    },
    async signIn(email: string, userKey?: string) {
      return expectStatus(await this.verify(email, await this.code(email), userKey), 200);
    },
  };
}

describe.each(testBackends())('attacks on selling credits ($name)', (backend) => {
  describe('a loopback server in test mode', () => {
    let server: TestServer;

    beforeAll(async () => {
      server = await startTestServer(backend);
      expect(server.tollgate.paymentsMode()).toEqual({ kind: 'test', reason: 'loopback' });
    });
    afterAll(async () => {
      await server?.close();
    });
    afterEach(async () => {
      await expectBooksClean(server);
    });

    const newApp = (name: string) => server.createApp({ name, return_origins: [SHOP] });
    const balanceOf = async (app: App, customer: string): Promise<number> =>
      expectStatus(await server.call('GET', `/v1/customers/${customer}`, { key: app.secret_key }), 200)
        .balance;
    const historyOf = async (app: App, customer: string) =>
      expectStatus(
        await server.call('GET', `/v1/customers/${customer}/transactions?limit=500`, { key: app.secret_key }),
        200,
      ).data as any[];
    const checkout = async (app: App, body: Record<string, unknown>, key = app.secret_key) =>
      expectStatus(await server.call('POST', '/v1/checkout/sessions', { key, body }), 201);
    const sessionStatus = async (app: App, id: string) =>
      expectStatus(await server.call('GET', `/v1/checkout/sessions/${id}`, { key: app.secret_key }), 200)
        .status;
    const bonusRows = async (customers: string[]) =>
      Number(
        (
          await server.tollgate.db.query<{ n: number }>(
            `select count(*)::int as n from ledger_transactions where type = 'signup_bonus' and customer_id = any($1::text[])`,
            [customers],
          )
        )[0]!.n,
      );

    it('the $1,000,000 pay POST without the checkout link, replayed, forged or cross-site grants nothing', async () => {
      const app = await newApp('Pay attack');
      const victim = await server.createCustomer(app.secret_key, 'whale');
      const session = await checkout(app, { customer: victim.id, amount_usd: 1_000_000 });
      expect(session.purchase).toMatchObject({ amount_usd: 1_000_000, credits: 110_000_000 });
      const bare = `${server.url}/checkout/test/${session.id}`;

      // The old unauthenticated shape, as JSON and as a cross-site form: refused.
      expectError(await postJson(`${bare}/pay`), 403, 'forbidden');
      const crossSite = await submitForm(`${bare}/pay`, { origin: 'https://evil.example' });
      expect(crossSite.status).toBe(403);
      expect(crossSite.headers.get('location')).toBeNull();
      // A made-up key, another session's key, the key of the page with one character changed.
      const other = await checkout(app, { customer: victim.id, amount_usd: 5 });
      const otherKey = new URL(other.url).pathname.split('/').at(-1)!;
      const realKey = new URL(session.url).pathname.split('/').at(-1)!;
      const tampered = `${realKey.slice(0, -1)}${realKey.endsWith('A') ? 'B' : 'A'}`;
      for (const key of ['x'.repeat(32), otherKey, tampered, realKey.slice(0, 16)]) {
        const response = await postJson(`${bare}/${key}/pay`);
        expect([403, 404], `${key}: ${response.status}`).toContain(response.status);
        expect((await fetch(`${bare}/${key}`)).status).not.toBe(200);
      }
      expect(await sessionStatus(app, session.id)).toBe('pending');
      expect(await balanceOf(app, victim.id)).toBe(500);

      // The buyer holding the link pays once; every replay (concurrent or later) grants nothing more.
      const replays = await Promise.all(Array.from({ length: 6 }, () => postJson(`${session.url}/pay`)));
      for (const replay of replays) expect(replay.status).toBe(200);
      expect(expectStatus(await postJson(`${session.url}/pay`), 200)).toMatchObject({ status: 'completed' });
      expect(await balanceOf(app, victim.id)).toBe(500 + 110_000_000);
      const history = await historyOf(app, victim.id);
      expect(history.filter((row) => row.type === 'purchase')).toHaveLength(1);
      expectHistoryReplays(history);
    });

    it("another customer (or app) cannot open, pay or cancel a customer's checkout", async () => {
      const app = await newApp('Neighbours');
      const alice = await server.createCustomer(app.secret_key, 'alice');
      const mallory = await server.createCustomer(app.secret_key, 'mallory');
      const alices = await checkout(app, { amount_usd: 50 }, alice.user_key);
      const mallorys = await checkout(app, { amount_usd: 5 }, mallory.user_key);
      const malloryKey = new URL(mallorys.url).pathname.split('/').at(-1)!;
      const alicePath = `${server.url}/checkout/test/${alices.id}`;

      // Mallory knows Alice's session id (it is in URLs and webhooks) and holds her own key and link.
      expectError(await postJson(`${alicePath}/pay`, { 'x-user-key': mallory.user_key }), 403, 'forbidden');
      expectError(await postJson(`${alicePath}/${malloryKey}/pay`), 404, 'not_found');
      expectError(await postJson(`${alicePath}/${malloryKey}/cancel`), 404, 'not_found');
      expectError(
        await server.call('GET', `/v1/checkout/sessions/${alices.id}`, { key: mallory.user_key }),
        404,
        'not_found',
      );
      const otherApp = await newApp('Elsewhere');
      expectError(
        await server.call('GET', `/v1/checkout/sessions/${alices.id}`, { key: otherApp.secret_key }),
        404,
        'not_found',
      );
      expect(await sessionStatus(app, alices.id)).toBe('pending');
      expect(await balanceOf(app, alice.id)).toBe(500);
      expect(await balanceOf(app, mallory.id)).toBe(500);

      // Paying her own checkout credits Mallory and only Mallory; Alice's is untouched.
      expectStatus(await postJson(`${mallorys.url}/pay`), 200);
      expect(await balanceOf(app, mallory.id)).toBe(1000);
      expect(await balanceOf(app, alice.id)).toBe(500);
      expect(await sessionStatus(app, alices.id)).toBe('pending');
    });

    it('an open-redirect success_url is refused (400) everywhere; the pay page never sends the buyer elsewhere', async () => {
      const app = await newApp('Redirects');
      const buyer = await server.createCustomer(app.secret_key, 'redirected');
      const guest = await widgetOf(server, app).session();
      const evil = [
        'https://evil.example/phish',
        'https://shop.example.evil.example/',
        'https://shop.example:8443/',
        'http://shop.example/',
        'javascript:alert(1)',
      ];
      for (const url of evil) {
        for (const field of ['success_url', 'cancel_url']) {
          const refused = await server.call('POST', '/v1/checkout/sessions', {
            key: app.secret_key,
            body: { customer: buyer.id, amount_usd: 10, [field]: url },
          });
          expect(expectError(refused, 400, 'invalid_request').param, `${field} ${url}`).toBe(field);
          // The widget's guest key and the plan routes check the same.
          expectError(
            await server.call('POST', '/v1/checkout/sessions', {
              key: guest.user_key,
              body: { amount_usd: 10, [field]: url },
            }),
            400,
            'invalid_request',
          );
          expectError(
            await server.call('POST', `/v1/customers/${buyer.id}/subscription`, {
              key: app.secret_key,
              body: { plan: 'pro', [field]: url },
            }),
            400,
            'invalid_request',
          );
        }
      }
      const purchases = expectStatus(
        await server.call('GET', `/v1/customers/${buyer.id}/purchases`, { key: app.secret_key }),
        200,
      );
      expect(purchases.data).toEqual([]);
      const [{ n: charges }] = await server.tollgate.db.query<{ n: number }>(
        'select count(*)::int as n from subscription_charges where customer_id = $1',
        [buyer.id],
      );
      expect(charges).toBe(0);

      // The app's own origin and this server's are fine; Pay goes exactly there.
      const allowed = await checkout(app, {
        customer: buyer.id,
        amount_usd: 10,
        success_url: `${SHOP}/thanks?session={CHECKOUT_SESSION_ID}`,
        cancel_url: `${server.url}/dashboard/`,
      });
      const paid = await submitForm(`${allowed.url}/pay`);
      expect(paid.status).toBe(303);
      expect(paid.headers.get('location')).toBe(`${SHOP}/thanks?session=${allowed.id}`);

      // A checkout created while the origin was allowed does not redirect there once the app drops it.
      const later = await checkout(app, { customer: buyer.id, amount_usd: 5, success_url: `${SHOP}/thanks` });
      expectStatus(
        await server.call('PATCH', `/v1/apps/${app.id}`, { key: ADMIN_KEY, body: { return_origins: [] } }),
        200,
      );
      const stayed = await submitForm(`${later.url}/pay`);
      expect(stayed.status).toBe(200);
      expect(stayed.headers.get('location')).toBeNull();
      expect(await stayed.text()).toContain('Payment received');
      expect(await balanceOf(app, buyer.id)).toBe(500 + 1000 + 500);
    });

    it('plans start and upgrade only through a paid test checkout, with the charge on record', async () => {
      const app = await newApp('Plans');
      const customer = await server.createCustomer(app.secret_key, 'planner');
      const started = expectStatus(
        await server.call('POST', `/v1/customers/${customer.id}/subscription`, {
          key: customer.user_key,
          body: { plan: 'microbudget' },
        }),
        201,
      );
      expect(started.subscription).toBeNull();
      // Nothing granted, no plan, until paid — and the bare session id cannot pay it.
      expectError(await postJson(`${server.url}/checkout/test/${started.checkout.id}/pay`), 403, 'forbidden');
      expect(await balanceOf(app, customer.id)).toBe(500);
      expectStatus(await postJson(`${started.checkout.url}/pay`), 200);
      expectStatus(await postJson(`${started.checkout.url}/pay`), 200);
      expect(await balanceOf(app, customer.id)).toBe(500 + 1000);

      const upgraded = expectStatus(
        await server.call('PATCH', `/v1/customers/${customer.id}/subscription`, {
          key: customer.user_key,
          body: { plan: 'hollywood' },
        }),
        200,
      );
      expect(upgraded).toMatchObject({ change: 'upgrade', status: 'awaiting_payment' });
      expect(upgraded.subscription.plan).toBe('microbudget');
      expect(await balanceOf(app, customer.id)).toBe(1500);
      // A cancelled upgrade checkout applies nothing and cannot be paid afterwards.
      expectStatus(await postJson(`${upgraded.checkout.url}/cancel`), 200);
      expectError(await postJson(`${upgraded.checkout.url}/pay`), 409, 'invalid_state');
      expect(await balanceOf(app, customer.id)).toBe(1500);

      const again = expectStatus(
        await server.call('PATCH', `/v1/customers/${customer.id}/subscription`, {
          key: customer.user_key,
          body: { plan: 'hollywood' },
        }),
        200,
      );
      expectStatus(await postJson(`${again.checkout.url}/pay`), 200);
      const subscription = expectStatus(
        await server.call('GET', `/v1/customers/${customer.id}/subscription`, { key: app.secret_key }),
        200,
      ).subscription;
      expect(subscription.plan).toBe('hollywood');
      // The whole period is left: the prorated allowance is the full difference (5,000 − 1,000).
      expect(await balanceOf(app, customer.id)).toBe(1500 + 4000);
      const charges = await server.tollgate.db.query<{ kind: string; amount_cents: bigint; status: string }>(
        'select kind, amount_cents, status from subscription_charges where customer_id = $1 order by created_at, id',
        [customer.id],
      );
      // (Created within the same millisecond of the manual clock: compared as a set.)
      expect(charges.map((row) => `${row.kind} ${Number(row.amount_cents)} ${row.status}`).sort()).toEqual([
        'start 1000 paid',
        'upgrade 4000 cancelled',
        'upgrade 4000 paid',
      ]);
    });

    it('50 anonymous widget sessions get no signup bonus', async () => {
      const customers: string[] = [];
      // Sessions are limited per app and address (10, then one per 2 minutes): five apps' worth.
      for (let index = 0; index < 5; index++) {
        const app = await newApp(`Farm ${index}`);
        const widget = widgetOf(server, app);
        const sessions = await Promise.all(Array.from({ length: 10 }, () => widget.session()));
        for (const session of sessions) {
          expect(session.balance).toBe(0);
          const me = expectStatus(await server.call('GET', '/v1/widget/me', { key: session.user_key }), 200);
          expect(me.balance).toBe(0);
          const principal = await server.tollgate.services.keys.resolve(session.user_key);
          customers.push((principal as { customerId: string }).customerId);
        }
        // The publishable key buys nothing for free: a hold on a fresh guest is refused.
        expectError(
          await server.call('POST', '/v1/holds', {
            key: app.secret_key,
            body: { customer: customers.at(-1), model: 'fal-ai/flux/schnell' },
          }),
          402,
          'insufficient_credits',
        );
      }
      expect(new Set(customers).size).toBe(50);
      expect(await bonusRows(customers)).toBe(0);
      const [{ total }] = await server.tollgate.db.query<{ total: string }>(
        `select coalesce(sum(balance_micros), 0)::text as total from customers where id = any($1::text[])`,
        [customers],
      );
      expect(total).toBe('0');
    });

    it('one email verified twice (even at once) gets one bonus; a bonused guest signing in gets none more', async () => {
      const app = await newApp('One bonus');
      const widget = widgetOf(server, app);
      const first = await widget.signIn('twice@example.com');
      expect(first.balance).toBe(500);
      const second = await widget.signIn('TWICE@example.com');
      expect(second.balance).toBe(500);
      // The same code raced from two tabs: one sign-in, one bonus.
      const code = await widget.code('twice@example.com');
      const raced = await Promise.all([
        widget.verify('twice@example.com', code),
        widget.verify('twice@example.com', code),
      ]);
      expect(raced.map((response) => response.status).sort()).toEqual([200, 400]);
      const account = expectStatus(
        await server.call('GET', '/v1/customers/email:twice@example.com', { key: app.secret_key }),
        200,
      );
      expect(account.balance).toBe(500);
      expect(await bonusRows([account.id])).toBe(1);

      // A guest earns the bonus with its first payment, then signs in as an already-bonused email:
      // its purchase moves, its bonus does not.
      const bonused = await widget.signIn('bonused@example.com');
      expect(bonused.balance).toBe(500);
      const bonusedId = expectStatus(
        await server.call('GET', '/v1/customers/email:bonused@example.com', { key: app.secret_key }),
        200,
      ).id;
      const guest = await widget.session();
      const bought = await checkout(app, { amount_usd: 5 }, guest.user_key);
      expectStatus(await postJson(`${bought.url}/pay`), 200);
      expect(
        expectStatus(await server.call('GET', '/v1/widget/me', { key: guest.user_key }), 200).balance,
      ).toBe(1000);
      const merged = await widget.signIn('bonused@example.com', guest.user_key);
      expect(merged).toMatchObject({ balance: 1000, merged: { credits: 500, forfeited_bonus: 500 } });
      expect(await balanceOf(app, bonusedId)).toBe(1000);
      expect(await bonusRows([bonusedId])).toBe(1);
      expect(await balanceOf(app, account.id)).toBe(500);
      const history = await historyOf(app, bonusedId);
      expect(history.filter((row) => row.type === 'signup_bonus')).toHaveLength(1);
      expectHistoryReplays(history);
    });

    it('the per-app daily cap holds under a burst of verified emails and paying guests; app-created customers are not capped', async () => {
      // A server of its own with a cap of three bonuses a day.
      const env = { TOLLGATE_ADMIN_KEY: ADMIN_KEY, TOLLGATE_SECRET: 'test-secret-0123456789abcdef' };
      const capped = await startTestServer(backend, {
        config: parseConfigSource('signup_bonus_daily_cap: 1500', { env }),
      });
      try {
        const app = await capped.createApp({ name: 'Capped' });
        const widget = widgetOf(capped, app);
        const emails = Array.from({ length: 6 }, (_, index) => `burst${index}@example.com`);
        const codes = await Promise.all(emails.map((email) => widget.code(email)));
        const signedIn = await Promise.all(
          emails.map(async (email, index) => expectStatus(await widget.verify(email, codes[index]!), 200)),
        );
        const balances = signedIn.map((answer) => answer.balance).sort();
        expect(balances).toEqual([0, 0, 0, 500, 500, 500]);
        // A paying guest past the cap gets its credits and no bonus.
        const guest = await widget.session();
        const bought = await capped.call('POST', '/v1/checkout/sessions', {
          key: guest.user_key,
          body: { amount_usd: 5 },
        });
        expectStatus(await postJson(`${expectStatus(bought, 201).url}/pay`), 200);
        expect(
          expectStatus(await capped.call('GET', '/v1/widget/me', { key: guest.user_key }), 200).balance,
        ).toBe(500);
        // The app's own backend vouches for its customers: they get the bonus, cap or not.
        expect((await capped.createCustomer(app.secret_key, 'vouched')).balance).toBe(500);
        const [{ total }] = await capped.tollgate.db.query<{ total: string }>(
          `select sum(amount_micros)::text as total from ledger_transactions where type = 'signup_bonus'`,
        );
        expect(total).toBe(String(4 * 500_000_000));

        // The next UTC day, an email that missed out earns it on its next sign-in — once.
        const missed = emails[signedIn.findIndex((answer) => answer.balance === 0)]!;
        capped.clock.advance(24 * 60 * 60 * 1000);
        expect((await widget.signIn(missed)).balance).toBe(500);
        expect((await widget.signIn(missed)).balance).toBe(500);
        await expectBooksClean(capped);
      } finally {
        await capped.close();
      }
    });

    it('a guest who bought credits and signs in as an existing email keeps them: moved once, even retried or raced', async () => {
      const app = await newApp('Guest merge');
      const widget = widgetOf(server, app);
      const account = await widget.signIn('owner@example.com');
      expect(account.balance).toBe(500);
      const accountId = expectStatus(
        await server.call('GET', '/v1/customers/email:owner@example.com', { key: app.secret_key }),
        200,
      ).id;

      const guest = await widget.session();
      const guestId = (
        (await server.tollgate.services.keys.resolve(guest.user_key)) as { customerId: string }
      ).customerId;
      const bought = await checkout(app, { amount_usd: 25 }, guest.user_key);
      expectStatus(await postJson(`${bought.url}/pay`), 200);
      // A promotion that expires, and a second checkout still open when the guest signs in.
      const expiresAt = new Date(server.clock.now().getTime() + 7 * 24 * 3600 * 1000).toISOString();
      expectStatus(
        await server.call('POST', `/v1/customers/${guestId}/grants`, {
          key: app.secret_key,
          body: { amount: 75, source: 'promo', expires_at: expiresAt },
        }),
        201,
      );
      const open = await checkout(app, { amount_usd: 10 }, guest.user_key);
      expect(await balanceOf(app, guestId)).toBe(2500 + 500 + 75);

      // A generation in flight on the guest: refused before the code is spent; nothing moves.
      const hold = expectStatus(
        await server.call('POST', '/v1/holds', {
          key: app.secret_key,
          body: { customer: guestId, model: 'custom/job', amount: 100 },
        }),
        201,
      );
      const code = await widget.code('owner@example.com');
      const refused = expectError(
        await widget.verify('owner@example.com', code, guest.user_key),
        409,
        'invalid_state',
      );
      expect(refused.reason).toBe('guest_holds_open');
      expect(await balanceOf(app, accountId)).toBe(500);
      expectStatus(
        await server.call('POST', `/v1/holds/${hold.id}/void`, { key: app.secret_key, body: {} }),
        200,
      );

      // The same code still works: the guest's credits move into the account in one go.
      const merged = expectStatus(await widget.verify('owner@example.com', code, guest.user_key), 200);
      expect(merged).toMatchObject({
        email: 'owner@example.com',
        balance: 500 + 2500 + 75,
        merged: { credits: 2575, forfeited_bonus: 500 },
      });
      expect(merged.user_key).not.toBe(guest.user_key);
      expect(await balanceOf(app, accountId)).toBe(3075);
      expect(await balanceOf(app, guestId)).toBe(0);
      // The guest's key is gone; the expiring credits kept their date; rows on both sides.
      expectError(
        await server.call('GET', '/v1/credits/balance', { key: guest.user_key }),
        401,
        'invalid_user_key',
      );
      const view = expectStatus(
        await server.call('GET', `/v1/customers/${accountId}`, { key: app.secret_key }),
        200,
      );
      expect(
        view.grants.filter((grant: any) => grant.expires_at === expiresAt).map((grant: any) => grant.amount),
      ).toEqual([75]);
      const accountHistory = await historyOf(app, accountId);
      const guestHistory = await historyOf(app, guestId);
      expect(
        accountHistory
          .filter((row) => row.type === 'merge_in')
          .map((row) => row.amount)
          .sort(),
      ).toEqual([2500, 75]);
      expect(
        guestHistory
          .filter((row) => row.type === 'merge_out')
          .map((row) => row.amount)
          .sort(),
      ).toEqual([-2500, -75]);
      expect(guestHistory.filter((row) => row.type === 'bonus_forfeited').map((row) => row.amount)).toEqual([
        -500,
      ]);
      expectHistoryReplays(accountHistory);
      expectHistoryReplays(guestHistory);

      // Retried (a new code, the old guest key): signs in, moves nothing more.
      const retried = await widget.signIn('owner@example.com', guest.user_key);
      expect(retried.balance).toBe(3075);
      expect(retried.merged).toBeUndefined();
      // The checkout the guest left open is paid afterwards: the credits land on the account.
      expectStatus(await postJson(`${open.url}/pay`), 200);
      expect(await balanceOf(app, accountId)).toBe(3075 + 1000);
      expect(await balanceOf(app, guestId)).toBe(0);
      const purchases = expectStatus(
        await server.call('GET', `/v1/customers/${accountId}/purchases`, { key: app.secret_key }),
        200,
      ).data;
      expect(purchases.map((row: any) => [row.amount_usd, row.status]).sort()).toEqual([
        [10, 'completed'],
        [25, 'completed'],
      ]);

      // One guest, two existing accounts, two sign-ins at once: its credits move exactly once.
      const left = await widget.signIn('left@example.com');
      const right = await widget.signIn('right@example.com');
      const racer = await widget.session();
      const racerId = (
        (await server.tollgate.services.keys.resolve(racer.user_key)) as { customerId: string }
      ).customerId;
      expectStatus(
        await postJson(`${(await checkout(app, { amount_usd: 10 }, racer.user_key)).url}/pay`),
        200,
      );
      const [leftCode, rightCode] = [
        await widget.code('left@example.com'),
        await widget.code('right@example.com'),
      ];
      const raced = await Promise.all([
        widget.verify('left@example.com', leftCode, racer.user_key),
        widget.verify('right@example.com', rightCode, racer.user_key),
      ]);
      for (const response of raced) expect(response.status).toBe(200);
      const leftBalance = await balanceOf(app, 'email:left@example.com');
      const rightBalance = await balanceOf(app, 'email:right@example.com');
      expect(left.balance + right.balance).toBe(1000);
      expect(leftBalance + rightBalance).toBe(1000 + 1000);
      expect(await balanceOf(app, racerId)).toBe(0);
    });

    it('cancelling a checkout that was already paid changes nothing, and says so', async () => {
      const app = await newApp('Late cancel');
      const buyer = await server.createCustomer(app.secret_key, 'late-canceller');
      const session = await checkout(app, { customer: buyer.id, amount_usd: 20 });
      expectStatus(await postJson(`${session.url}/pay`), 200);
      const late = expectError(await postJson(`${session.url}/cancel`), 409, 'invalid_state');
      expect(late.message).toMatch(/already completed.*nothing changed/);
      const form = await submitForm(`${session.url}/cancel`);
      expect(form.status).toBe(409);
      expect(form.headers.get('location')).toBeNull();
      expect(await sessionStatus(app, session.id)).toBe('completed');
      expect(await balanceOf(app, buyer.id)).toBe(500 + 2000);
    });
  });

  describe('servers that must not simulate payments', () => {
    const refusesToSell = async (server: TestServer) => {
      const app = await server.createApp({ name: 'No sales', return_origins: [SHOP] });
      const customer = await server.createCustomer(app.secret_key, 'would-be-buyer');
      const refusal = expectError(
        await server.call('POST', '/v1/checkout/sessions', {
          key: customer.user_key,
          body: { amount_usd: 1_000_000 },
        }),
        503,
        'unavailable',
      );
      expect(refusal.reason).toBe('payments_disabled');
      expect(refusal.message).toMatch(/Payments are OFF.*TOLLGATE_TEST_MODE=1/);
      expect(
        expectError(
          await server.call('POST', `/v1/customers/${customer.id}/subscription`, {
            key: app.secret_key,
            body: { plan: 'pro' },
          }),
          503,
          'unavailable',
        ).reason,
      ).toBe('payments_disabled');
      // The widget: no guests, no codes handed out, and the config says payments are off.
      expectError(
        await server.call('POST', '/v1/widget/session', { body: { publishable_key: app.publishable_key } }),
        503,
        'unavailable',
      );
      const config = expectStatus(
        await server.call('GET', `/v1/widget/config?publishable_key=${app.publishable_key}`),
        200,
      );
      expect(config).toMatchObject({ test_mode: false, payments_enabled: false, email_login: false });
      expect(
        expectError(
          await server.call('POST', '/v1/widget/login/start', {
            body: { publishable_key: app.publishable_key, email: 'victim@example.com' },
          }),
          503,
          'unavailable',
        ).reason,
      ).toBe('email_login_disabled');
      const [{ n: purchases }] = await server.tollgate.db.query<{ n: number }>(
        'select count(*)::int as n from purchases',
      );
      expect(purchases).toBe(0);
      expect(
        expectStatus(await server.call('GET', `/v1/customers/${customer.id}`, { key: app.secret_key }), 200)
          .balance,
      ).toBe(500);
      expect(await (await fetch(`${server.url}/dashboard/`)).text()).not.toContain('TEST MODE');
      await expectBooksClean(server);
    };

    it('a server listening beyond loopback without the switch refuses to sell, and says why', async () => {
      const server = await startTestServer(backend, { host: '0.0.0.0' });
      try {
        expect(server.tollgate.paymentsMode()).toEqual({ kind: 'off', reason: 'not_loopback' });
        await refusesToSell(server);
      } finally {
        await server.close();
      }
    });

    it('NODE_ENV=production refuses to sell even on loopback', async () => {
      const server = await startTestServer(backend, { env: { NODE_ENV: 'production' } });
      try {
        expect(server.tollgate.paymentsMode()).toEqual({ kind: 'off', reason: 'production' });
        await refusesToSell(server);
      } finally {
        await server.close();
      }
    });

    it('TOLLGATE_TEST_MODE=1 is the explicit switch: beyond loopback it sells, announced on every page', async () => {
      const server = await startTestServer(backend, { host: '0.0.0.0', env: { TOLLGATE_TEST_MODE: '1' } });
      try {
        expect(server.tollgate.paymentsMode()).toEqual({ kind: 'test', reason: 'switch' });
        const app = await server.createApp({ name: 'Switched on' });
        const customer = await server.createCustomer(app.secret_key, 'switched');
        const session = expectStatus(
          await server.call('POST', '/v1/checkout/sessions', {
            key: customer.user_key,
            body: { amount_usd: 5 },
          }),
          201,
        );
        for (const page of [session.url, `${server.url}/dashboard/`, `${server.url}/partner/`]) {
          expect(await (await fetch(page.replace(/^http:\/\/[^/]+/, server.url))).text(), page).toContain(
            'TEST MODE',
          );
        }
        const config = expectStatus(
          await server.call('GET', `/v1/widget/config?publishable_key=${app.publishable_key}`),
          200,
        );
        expect(config).toMatchObject({ test_mode: true, payments_enabled: true });
        await expectBooksClean(server);
      } finally {
        await server.close();
      }
    });
  });

  describe('Stripe: checkout.session.expired after the payment', () => {
    const WEBHOOK_SECRET = 'whsec_attacks_0123456789abcdef';
    let fake: FakeStripe;
    let server: TestServer;

    beforeAll(async () => {
      fake = await startFakeStripe({ clock: { now: () => server?.clock.now() ?? new Date() } });
      server = await startTestServer(backend, {
        env: {
          STRIPE_SECRET_KEY: 'sk_test_attacks_0123456789',
          STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
          STRIPE_API_BASE: fake.baseUrl,
        },
      });
      fake.setWebhook({ url: `${server.url}/v1/webhooks/stripe`, secret: WEBHOOK_SECRET });
    });
    afterAll(async () => {
      await fake?.close();
      await server?.close();
    });

    it('answers that nothing changed, keeps the purchase completed and the credits granted', async () => {
      expect(server.tollgate.paymentsMode()).toEqual({ kind: 'stripe' });
      const app = await server.createApp({ name: 'Stripe expiry' });
      const customer = await server.createCustomer(app.secret_key, 'paid-then-expired');
      const session = expectStatus(
        await server.call('POST', '/v1/checkout/sessions', {
          key: app.secret_key,
          body: { customer: customer.id, amount_usd: 40 },
        }),
        201,
      );
      fake.completeCheckoutSession(session.id);
      await fake.settle();
      const expired = checkoutSessionExpiredEvent(
        fake.checkoutSessions.get(session.id) as unknown as JsonObject,
      );
      const answers: string[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const signed = signedWebhook(expired, WEBHOOK_SECRET);
        const response = await fetch(`${server.url}/v1/webhooks/stripe`, {
          method: 'POST',
          headers: signed.headers,
          body: signed.body,
        });
        expect(response.status).toBe(200);
        answers.push((await response.json()).result);
      }
      for (const answer of answers) {
        expect(answer).not.toMatch(/marked failed/);
        expect(answer).toMatch(/already completed.*nothing changed/);
      }
      const purchase = expectStatus(
        await server.call('GET', `/v1/checkout/sessions/${session.id}`, { key: app.secret_key }),
        200,
      );
      expect(purchase.status).toBe('completed');
      expect(
        expectStatus(await server.call('GET', `/v1/customers/${customer.id}`, { key: app.secret_key }), 200)
          .balance,
      ).toBe(500 + 4000);
      // With Stripe keys the test page does not exist.
      expect((await fetch(`${server.url}/checkout/test/${session.id}/${'x'.repeat(32)}`)).status).toBe(404);
      await expectBooksClean(server);
    });
  });
});
