/**
 * The SDK against a real Tollgate over real HTTP: every error class raised from what the server
 * actually answers, a retry after a dropped connection that charges exactly once, and `withHold`
 * capturing on success and voiding on failure.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../../server/test/fakes/fake-upstream.ts';
import { testBackends } from '../../server/test/support/databases.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../server/test/support/server.ts';
import {
  AlreadyRedeemedError,
  AuthenticationError,
  ConflictError,
  IdempotencyConflictError,
  InsufficientCreditsError,
  InvalidRequestError,
  InvalidStateError,
  NotFoundError,
  PaymentRequiredError,
  PermissionDeniedError,
  RateLimitedError,
  RunLimitExceededError,
  Tollgate,
  TollgateError,
} from '../src/index.ts';

/** Runs `call`, expecting it to fail; returns the error for closer checks. */
async function failure(call: Promise<unknown>): Promise<TollgateError> {
  const error = await call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(TollgateError);
  return error as TollgateError;
}

const noWait = async () => {};

interface DroppingProxy {
  url: string;
  /** How many `POST /v1/charges` requests passed through, and the Idempotency-Key of each. */
  chargeKeys: string[];
  dropped: number;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of the server that lets the first `POST /v1/charges` reach the server, then
 * destroys the client's socket instead of relaying the answer: the charge happened, the client
 * never heard. Everything else passes through untouched.
 */
async function startDroppingProxy(target: URL): Promise<DroppingProxy> {
  const state: DroppingProxy = { url: '', chargeKeys: [], dropped: 0, close: async () => {} };
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    let dropThisAnswer = false;
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      if (text.startsWith('POST /v1/charges ')) {
        state.chargeKeys.push(/\r\nidempotency-key: ([^\r\n]+)/i.exec(text)?.[1] ?? '');
        if (state.dropped === 0) dropThisAnswer = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (dropThisAnswer) {
        dropThisAnswer = false;
        state.dropped += 1;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', closeBoth);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as { port: number };
  state.url = `http://127.0.0.1:${port}`;
  state.close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  };
  return state;
}

describe.each(testBackends())('@tollgate/client against a real server on $name', (backend) => {
  let server: TestServer;
  let admin: Tollgate;
  let appClient: Tollgate;
  let appSecret: string;
  let sequence = 0;

  // fal as far as key checks go: it accepts this one key.
  let fal: FakeUpstream;
  const FAL_CUSTOMER_KEY = 'fal-secret-0123456789';

  beforeAll(async () => {
    fal = await startFakeUpstream({ acceptedKeys: [FAL_CUSTOMER_KEY] });
    server = await startTestServer(backend, { env: { FAL_BASE_URL: fal.url } });
    admin = new Tollgate({ baseUrl: server.url, apiKey: ADMIN_KEY, sleep: noWait });
    const app = await admin.apps.create({ name: 'sdk e2e' });
    appSecret = app.secret_key;
    appClient = new Tollgate({ baseUrl: server.url, apiKey: appSecret, sleep: noWait });
  });
  afterAll(async () => {
    await server?.close();
    await fal?.close();
  });

  /** A new customer with the 500-credit signup bonus and a client acting as them. */
  async function customer() {
    sequence += 1;
    const created = await appClient.customers.create({ external_id: `sdk-${sequence}` });
    const user = new Tollgate({ baseUrl: server.url, userKey: created.user_key!, sleep: noWait });
    return { id: created.id, userKey: created.user_key!, user };
  }

  async function balanceOf(id: string) {
    const { balance, pending, available } = await appClient.customers.retrieve(id);
    return { balance, pending, available };
  }

  async function holdStatus(holdId: string): Promise<string> {
    const response = await server.call('GET', `/v1/holds/${holdId}`, { key: appSecret });
    return response.body.status;
  }

  describe('errors, as the server answers them', () => {
    it('400 → InvalidRequestError', async () => {
      const error = await failure(appClient.customers.create({ external_id: '' }));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ status: 400, code: 'invalid_request' });
      expect(error.requestId).toBeTruthy();
    });

    it('401 → AuthenticationError (missing, invalid secret key, invalid user key)', async () => {
      const missing = await failure(new Tollgate({ baseUrl: server.url }).customers.retrieve('anyone'));
      expect(missing).toBeInstanceOf(AuthenticationError);
      expect(missing).toMatchObject({ status: 401, code: 'missing_api_key' });

      const invalid = await failure(
        new Tollgate({ baseUrl: server.url, apiKey: 'tg_sk_not_a_real_key_000000' }).customers.retrieve(
          'anyone',
        ),
      );
      expect(invalid).toBeInstanceOf(AuthenticationError);
      expect(invalid.code).toBe('invalid_api_key');

      const user = await failure(
        new Tollgate({ baseUrl: server.url, userKey: 'tg_uk_not_a_real_key_000000' }).credits.balance(),
      );
      expect(user).toBeInstanceOf(AuthenticationError);
      expect(user.code).toBe('invalid_user_key');
    });

    it('402 insufficient_credits → InsufficientCreditsError with required and available', async () => {
      const { id } = await customer();
      const error = await failure(
        appClient.charges.create({ customer: id, model: 'fal-ai/veo3.1', quantity: 100 }),
      );
      expect(error).toBeInstanceOf(InsufficientCreditsError);
      expect(error).toBeInstanceOf(PaymentRequiredError);
      const insufficient = error as InsufficientCreditsError;
      expect(insufficient).toMatchObject({
        status: 402,
        code: 'insufficient_credits',
        required: 1000,
        available: 500,
      });
      expect(insufficient.requiredMicros).toBe(1_000_000_000n);
      expect(insufficient.availableMicros).toBe(500_000_000n);
      expect(await balanceOf(id)).toEqual({ balance: 500, pending: 0, available: 500 });
    });

    it('402 run_limit_exceeded → RunLimitExceededError (holds and charges of one run)', async () => {
      const { id } = await customer();
      const run = { run_id: `run-${id}`, max_run_cost: 5 };
      await appClient.holds.create({ customer: id, model: 'fal-ai/flux/schnell', amount: 3, ...run });
      const error = await failure(
        appClient.charges.create({ customer: id, model: 'fal-ai/flux/schnell', amount: 3, ...run }),
      );
      expect(error).toBeInstanceOf(RunLimitExceededError);
      expect(error).toBeInstanceOf(PaymentRequiredError);
      expect(error).toMatchObject({ status: 402, code: 'run_limit_exceeded' });
      // Another run is not limited by this one.
      await expect(
        appClient.charges.create({
          customer: id,
          model: 'fal-ai/flux/schnell',
          amount: 3,
          run_id: `other-${id}`,
          max_run_cost: 5,
        }),
      ).resolves.toMatchObject({ status: 'captured', amount: 3 });
    });

    it('403 → PermissionDeniedError (model_not_allowed, forbidden)', async () => {
      const limited = await admin.apps.create({
        name: 'images only',
        allowed_models: ['fal-ai/flux/schnell'],
      });
      const limitedClient = new Tollgate({ baseUrl: server.url, apiKey: limited.secret_key });
      const { id } = await limitedClient.customers.create({ external_id: 'limited-user' });
      const notAllowed = await failure(
        limitedClient.charges.create({ customer: id, model: 'fal-ai/veo3.1' }),
      );
      expect(notAllowed).toBeInstanceOf(PermissionDeniedError);
      expect(notAllowed).toMatchObject({ status: 403, code: 'model_not_allowed' });

      // Creating apps takes the admin key; an app's secret key is refused.
      const forbidden = await failure(appClient.apps.create({ name: 'not mine to make' }));
      expect(forbidden).toBeInstanceOf(PermissionDeniedError);
      expect(forbidden).toMatchObject({ status: 403, code: 'forbidden' });
    });

    it('404 → NotFoundError', async () => {
      const error = await failure(appClient.customers.retrieve('cus_does_not_exist'));
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ status: 404, code: 'not_found' });
    });

    it('409 idempotency_conflict → IdempotencyConflictError (same key, another body), not retried', async () => {
      const { id } = await customer();
      const idempotencyKey = `order-${id}`;
      const first = await appClient.charges.create(
        { customer: id, model: 'fal-ai/flux/schnell' },
        { idempotencyKey },
      );
      // The same request again replays the first answer.
      await expect(
        appClient.charges.create({ customer: id, model: 'fal-ai/flux/schnell' }, { idempotencyKey }),
      ).resolves.toEqual(first);
      const error = await failure(
        appClient.charges.create(
          { customer: id, model: 'fal-ai/flux/schnell', quantity: 2 },
          { idempotencyKey },
        ),
      );
      expect(error).toBeInstanceOf(IdempotencyConflictError);
      expect(error).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).isIdempotencyConflict).toBe(true);
      expect(error.status).toBe(409);
      expect((await balanceOf(id)).balance).toBe(499.7);
    });

    it('409 invalid_state → InvalidStateError (capturing a voided hold)', async () => {
      const { id } = await customer();
      const hold = await appClient.holds.create({ customer: id, model: 'fal-ai/flux/schnell' });
      await appClient.holds.void(hold.id);
      const error = await failure(appClient.holds.capture(hold.id));
      expect(error).toBeInstanceOf(InvalidStateError);
      expect((error as ConflictError).isInvalidState).toBe(true);
      expect(error).toMatchObject({ status: 409, code: 'invalid_state' });
    });

    it('409 already_redeemed → AlreadyRedeemedError', async () => {
      const [first, second] = [await customer(), await customer()];
      const { codes } = await appClient.giftCodes.create({ amount: 25 });
      await expect(first.user.giftCodes.redeem({ code: codes[0]! })).resolves.toMatchObject({
        amount: 25,
        balance: 525,
      });
      const error = await failure(second.user.giftCodes.redeem({ code: codes[0]! }));
      expect(error).toBeInstanceOf(AlreadyRedeemedError);
      expect((error as ConflictError).isAlreadyRedeemed).toBe(true);
      expect(error).toMatchObject({ status: 409, code: 'already_redeemed' });
      expect((await balanceOf(second.id)).balance).toBe(500);
    });

    it('429 → RateLimitedError with retryAfterSeconds (gift redemption: ~10 attempts a minute)', async () => {
      const { user } = await customer();
      let limited: TollgateError | undefined;
      for (let attempt = 1; attempt <= 15 && !limited; attempt += 1) {
        const error = await failure(
          user.giftCodes.redeem({ code: `TG-NOPE-${attempt}-0000` }, { maxRetries: 0 }),
        );
        if (error instanceof RateLimitedError) limited = error;
        else expect(error.status).toBeLessThan(429); // a wrong code, until the limiter steps in
      }
      expect(limited).toBeInstanceOf(RateLimitedError);
      expect(limited).toMatchObject({ status: 429, code: 'rate_limited' });
      expect((limited as RateLimitedError).retryAfterSeconds).toBeGreaterThan(0);
    });
  });

  it('a charge whose answer is lost is retried with the same Idempotency-Key and charged once', async () => {
    const { id } = await customer();
    const proxy = await startDroppingProxy(new URL(server.url));
    try {
      const throughProxy = new Tollgate({ baseUrl: proxy.url, apiKey: appSecret, sleep: noWait });
      const charge = await throughProxy.charges.create({ customer: id, model: 'fal-ai/veo3.1', quantity: 2 });
      expect(charge).toMatchObject({ status: 'captured', amount: 20 });

      expect(proxy.dropped).toBe(1);
      expect(proxy.chargeKeys).toHaveLength(2);
      expect(proxy.chargeKeys[0]).toBeTruthy();
      expect(proxy.chargeKeys[1]).toBe(proxy.chargeKeys[0]);

      const history = await appClient.customers.transactions(id);
      expect(history.data.filter((entry) => entry.type === 'usage')).toHaveLength(1);
      expect((await balanceOf(id)).balance).toBe(480);
    } finally {
      await proxy.close();
    }
  });

  describe('withHold against the real ledger', () => {
    it('captures when the work succeeds', async () => {
      const { id } = await customer();
      let heldDuringWork: unknown;
      const outcome = await appClient.withHold(id, 'fal-ai/flux/schnell', async (hold) => {
        heldDuringWork = await balanceOf(id);
        expect(hold).toMatchObject({ status: 'held', amount: 0.3, funding: 'credits' });
        return 'https://cdn.example.com/lighthouse.png';
      });
      expect(heldDuringWork).toEqual({ balance: 500, pending: 0.3, available: 499.7 });
      expect(outcome.result).toBe('https://cdn.example.com/lighthouse.png');
      expect(outcome.capture).toMatchObject({ id: outcome.hold.id, status: 'captured', amount: 0.3 });
      expect(await holdStatus(outcome.hold.id)).toBe('captured');
      expect(await balanceOf(id)).toEqual({ balance: 499.7, pending: 0, available: 499.7 });
    });

    it('captures the re-stated actual work', async () => {
      const { id } = await customer();
      const outcome = await appClient.withHold(
        id,
        'fal-ai/veo3.1',
        async () => ({ result: { seconds: 6 }, quantity: 6 }),
        { quantity: 8 },
      );
      expect(outcome.hold.amount).toBe(80);
      expect(outcome.capture.amount).toBe(60);
      expect(outcome.result).toEqual({ seconds: 6 });
      expect((await balanceOf(id)).balance).toBe(440);
    });

    it('voids when the work throws: the error is rethrown and the balance is unchanged', async () => {
      const { id } = await customer();
      let holdId = '';
      const failureInWork = new Error('the provider fell over');
      await expect(
        appClient.withHold(id, 'fal-ai/flux/schnell', async (hold) => {
          holdId = hold.id;
          throw failureInWork;
        }),
      ).rejects.toBe(failureInWork);
      expect(holdId).not.toBe('');
      expect(await holdStatus(holdId)).toBe('voided');
      expect(await balanceOf(id)).toEqual({ balance: 500, pending: 0, available: 500 });
      const history = await appClient.customers.transactions(id);
      expect(history.data.filter((entry) => entry.type === 'usage')).toHaveLength(0);
    });
  });

  it('provider keys: set with {key}, read back masked, list, remove', async () => {
    const { id, userKey } = await customer();
    const stored = await appClient.providerKeys.set(id, 'fal', { key: FAL_CUSTOMER_KEY });
    expect(stored.provider).toBe('fal');
    expect(stored.masked_key).not.toContain('0123456789');
    await expect(appClient.providerKeys.get(id, 'fal')).resolves.toMatchObject({ provider: 'fal' });
    // A user may manage their own keys with their user key as the bearer key.
    const asUser = new Tollgate({ baseUrl: server.url, apiKey: userKey });
    await expect(asUser.providerKeys.list(id)).resolves.toEqual({
      data: [expect.objectContaining({ provider: 'fal' })],
    });
    await appClient.providerKeys.remove(id, 'fal');
    expect(await failure(appClient.providerKeys.get(id, 'fal'))).toBeInstanceOf(NotFoundError);
  });

  it('provider keys: a key the provider refuses → InvalidRequestError (provider_key_rejected), nothing stored', async () => {
    const { id } = await customer();
    const error = await failure(appClient.providerKeys.set(id, 'fal', { key: 'fal-made-up-0000000' }));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(error.details).toMatchObject({ reason: 'provider_key_rejected', provider: 'fal' });
    expect(error.message).not.toContain('fal-made-up-0000000');
    expect(await failure(appClient.providerKeys.get(id, 'fal'))).toBeInstanceOf(NotFoundError);
  });

  it('withHold hands the work the key to use: the customer’s own for byok (no credits), the app’s for credits', async () => {
    const { id } = await customer();
    const seen: unknown[] = [];
    const paidByCredits = await appClient.withHold(
      id,
      'fal-ai/flux/schnell',
      (_hold, key) => {
        seen.push(key);
        return 'image.png';
      },
      { providerKey: 'fal-app-own-key' },
    );
    expect(paidByCredits.capture.amount).toBe(0.3);
    await appClient.providerKeys.set(id, 'fal', { key: FAL_CUSTOMER_KEY });
    const paidByKey = await appClient.withHold(
      id,
      'fal-ai/flux/schnell',
      (hold, key) => {
        seen.push(key);
        return hold.funding;
      },
      { providerKey: 'fal-app-own-key' },
    );
    expect(paidByKey).toMatchObject({ result: 'byok', hold: { funding: 'byok' }, capture: { amount: 0 } });
    expect(seen).toEqual([
      { funding: 'credits', apiKey: 'fal-app-own-key', provider: null },
      { funding: 'byok', apiKey: FAL_CUSTOMER_KEY, provider: 'fal' },
    ]);
    // The key was read through the hold, once.
    expect(await failure(appClient.holds.providerKey(paidByKey.hold.id))).toBeInstanceOf(InvalidStateError);
    expect((await balanceOf(id)).balance).toBe(499.7);
  });

  it('checkout: a session is pending until paid on the test-mode page, then completed', async () => {
    const { id } = await customer();
    const session = await appClient.checkout.createSession({ customer: id, amount_usd: 25 });
    expect(session.mode).toBe('test');
    await expect(appClient.checkout.retrieveSession(session.id)).resolves.toMatchObject({
      status: 'pending',
    });
    const paid = await fetch(`${session.url}/pay`, {
      method: 'POST',
      headers: { accept: 'application/json' },
    });
    expect(paid.status).toBe(200);
    const completed = await appClient.checkout.retrieveSession(session.id);
    expect(completed).toMatchObject({ status: 'completed', purchase: { credits: 2500, amount_usd: 25 } });
    expect((await balanceOf(id)).balance).toBe(3000);
  });
});
