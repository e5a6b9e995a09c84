/**
 * Attacks on what media generations cost and on bring-your-own keys (issue 12, holes 3 and 4, and
 * several images per call), over real HTTP against a fake fal/OpenAI that misbehaves on demand.
 *
 * Each attack ends by checking the money: the customer never below zero, each charge the price of
 * what was delivered (never more than was held, never less than what was asked for), nothing
 * written off to `sys:loss`, the referral share a share of what was collected, no hold left open,
 * and `auditLedger` clean.
 */
import { InvalidRequestError, Tollgate } from '@tollgate/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger } from '../../src/ledger/audit.ts';
import { type FakeBehaviorSettings, type FakeUpstream, startFakeUpstream } from '../fakes/fake-upstream.ts';
import { testBackends } from '../support/databases.ts';
import { expectError, expectStatus } from '../support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from '../support/server.ts';

/** The operator's own fal key: it must never reach a user, and work paid with credits runs on it. */
const OPERATOR_FAL_KEY = 'fal-operator-0123456789abcdef:SECRETSECRETSECRET';
const OPERATOR_OPENAI_KEY = 'sk-operator-openai-0123456789abcdef';
/** Keys the fake providers accept: a customer's real keys. */
const CUSTOMER_FAL_KEY = 'fal-customer-4242:customersecret';
const CUSTOMER_OPENAI_KEY = 'sk-customer-openai-4242424242';
const GARBAGE_FAL_KEY = 'fal-i-made-this-up-0000';
const CREDIT = 1_000_000n;

type Customer = { id: string; user_key: string };

describe.each(testBackends())('attacks on generation prices and BYOK on $name', (backend) => {
  let upstream: FakeUpstream;
  let server: TestServer;
  let app: { id: string; secret_key: string };
  let sequence = 0;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ acceptedKeys: [CUSTOMER_FAL_KEY, CUSTOMER_OPENAI_KEY] });
    server = await startTestServer(backend, {
      env: {
        FAL_BASE_URL: upstream.url,
        FAL_KEY: OPERATOR_FAL_KEY,
        OPENAI_BASE_URL: `${upstream.url}/v1`,
        OPENAI_API_KEY: OPERATOR_OPENAI_KEY,
      },
    });
    app = await server.createApp({ name: 'Attacked app', referral_rate: 0.1 });
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
  });

  async function victim(secretKey = app.secret_key): Promise<Customer> {
    sequence += 1;
    return server.createCustomer(secretKey, `attacker-${sequence}`);
  }

  const asUser = (customer: Customer) => ({ 'x-user-key': customer.user_key });

  function submit(customer: Customer, body: Record<string, unknown>) {
    return server.call('POST', '/v1/generations', { headers: asUser(customer), body });
  }

  /** Submits with fake-provider settings for this one job (they apply to the submit request). */
  function submitWith(customer: Customer, settings: FakeBehaviorSettings, body: Record<string, unknown>) {
    upstream.queueBehavior(settings);
    return submit(customer, body);
  }

  /** Polls the job until it has ended (bounded: the fake finishes within three polls). */
  async function finished(customer: Customer, id: string) {
    for (let poll = 0; poll < 10; poll += 1) {
      const job = expectStatus(
        await server.call('GET', `/v1/generations/${id}`, { headers: asUser(customer) }),
        200,
      );
      if (job.status === 'completed' || job.status === 'failed') return job;
    }
    throw new Error(`generation ${id} did not finish`);
  }

  const falSubmits = () =>
    upstream.requests.filter((request) => request.method === 'POST' && !request.path.startsWith('/v1/'));

  /**
   * The books after an attack: the customer's usage rows are exactly `charged` (credits, oldest
   * first), the balance is the signup bonus minus them and never negative, no hold is open, nothing
   * went to sys:loss, each referral share is at most 1/11 of what was collected (10% on top), and
   * the audit finds nothing.
   */
  async function expectBooks(customer: Customer, charged: number[]) {
    const db = server.tollgate.db;
    const [account] = await db.query<{ balance_micros: string; held_micros: string }>(
      'select balance_micros, held_micros from customers where id = $1',
      [customer.id],
    );
    const expectedMicros = charged.reduce((total, credits) => total + BigInt(Math.round(credits * 1e6)), 0n);
    expect(BigInt(account!.balance_micros)).toBe(500n * CREDIT - expectedMicros);
    expect(BigInt(account!.balance_micros)).toBeGreaterThanOrEqual(0n);
    expect(BigInt(account!.held_micros)).toBe(0n);
    const open = await db.query('select id from holds where customer_id = $1 and status = $2', [
      customer.id,
      'held',
    ]);
    expect(open).toEqual([]);
    const usage = await db.query<{ id: string; amount_micros: string; metadata: Record<string, string> }>(
      `select id, amount_micros, metadata from ledger_transactions where customer_id = $1 and type = 'usage' order by id`,
      [customer.id],
    );
    expect(usage.map((row) => Number(-BigInt(row.amount_micros)) / 1e6)).toEqual(charged);
    for (const row of usage) {
      const paid = -BigInt(row.amount_micros);
      const share = BigInt(row.metadata.referral_share ?? '0');
      expect(BigInt(row.metadata.shortfall ?? '0')).toBe(0n);
      expect(share * 11n).toBeLessThanOrEqual(paid + 10n);
    }
    const [loss] = await db.query<{ total: string | null }>(
      `select sum(e.amount_micros)::text as total from ledger_entries e
         join ledger_transactions t on t.id = e.transaction_id
       where t.customer_id = $1 and e.account_id = 'sys:loss'`,
      [customer.id],
    );
    expect(loss?.total ?? null).toBeNull();
    expect((await auditLedger(db, server.clock)).problems).toEqual([]);
  }

  it('the 8-second clip sent with quantity: 0.000001 is refused; the clip costs its 8 seconds', async () => {
    const customer = await victim();
    const submitsBefore = falSubmits().length;
    for (const quantity of [0.000001, '0.000001', 8, 0]) {
      const refused = expectError(
        await submit(customer, {
          model: 'fal-ai/veo3.1',
          input: { prompt: 'waves', duration: '8s' },
          quantity,
        }),
        400,
        'invalid_request',
      );
      expect(refused.param).toBe('quantity');
    }
    expect(falSubmits().length).toBe(submitsBefore);

    // The same clip honestly: held and charged at 8 s × 10 credits + 10% = 88.
    const job = expectStatus(
      await submit(customer, { model: 'fal-ai/veo3.1', input: { prompt: 'waves', duration: '8s' } }),
      201,
    );
    expect(job.held).toBe(88);
    expect((await finished(customer, job.id)).cost).toBe(88);
    // Leaving the duration out is the 8-second default, written into what fal is asked for.
    const defaulted = expectStatus(
      await submit(customer, { model: 'fal-ai/veo3.1', input: { prompt: 'tide' } }),
      201,
    );
    expect(falSubmits().at(-1)!.body).toEqual({ prompt: 'tide', duration: '8s' });
    expect((await finished(customer, defaulted.id)).cost).toBe(88);
    await expectBooks(customer, [88, 88]);
  });

  it('num_images multiplies the price of a per-call image model; fewer images returned cost less', async () => {
    const customer = await victim();
    const four = expectStatus(
      await submit(customer, { model: 'fal-ai/flux/schnell', input: { prompt: 'cats', num_images: 4 } }),
      201,
    );
    expect(four.held).toBe(1.32);
    expect(falSubmits().at(-1)!.body).toEqual({ prompt: 'cats', num_images: 4 });
    expect((await finished(customer, four.id)).cost).toBe(1.32);

    const filtered = expectStatus(
      await submitWith(
        customer,
        {
          falResult: { images: [{ url: 'https://cdn.example/1.png' }, { url: 'https://cdn.example/2.png' }] },
        },
        { model: 'fal-ai/flux/schnell', input: { prompt: 'cats', num_images: '4' } },
      ),
      201,
    );
    expect((await finished(customer, filtered.id)).cost).toBe(0.66);

    // A provider returning more images than asked for cannot raise the charge above the hold.
    const generous = expectStatus(
      await submitWith(
        customer,
        {
          falResult: {
            images: Array.from({ length: 9 }, (_, index) => ({ url: `https://cdn.example/${index}.png` })),
          },
        },
        { model: 'fal-ai/flux/schnell', input: { prompt: 'cats' } },
      ),
      201,
    );
    expect((await finished(customer, generous.id)).cost).toBe(0.33);

    const submitsBefore = falSubmits().length;
    const smuggled: [Record<string, unknown>, string][] = [
      [{ model: 'fal-ai/flux/schnell', input: { prompt: 'x', num_images: 5 } }, 'input.num_images'],
      [{ model: 'fal-ai/flux/schnell', input: { prompt: 'x', num_images: 0 } }, 'input.num_images'],
      [{ model: 'fal-ai/flux/schnell', input: { prompt: 'x', num_images: 2.5 } }, 'input.num_images'],
      [
        { model: 'fal-ai/flux/schnell', input: { prompt: 'x', num_images: 1, max_images: 4 } },
        'input.max_images',
      ],
      [
        { model: 'fal-ai/birefnet', input: { image_url: 'https://x/y.png', num_images: 3 } },
        'input.num_images',
      ],
      [{ model: 'fal-ai/some-unlisted-model', input: { prompt: 'x', num_outputs: 8 } }, 'input.num_outputs'],
    ];
    for (const [body, param] of smuggled) {
      expect(expectError(await submit(customer, body), 400, 'invalid_request').param).toBe(param);
    }
    expect(falSubmits().length).toBe(submitsBefore);
    await expectBooks(customer, [1.32, 0.66, 0.33]);
  });

  it('a duration beyond the catalog bounds is refused before anything is held or submitted', async () => {
    const customer = await victim();
    const submitsBefore = falSubmits().length;
    const attempts: Record<string, unknown>[] = [
      { model: 'fal-ai/veo3.1', input: { prompt: 'x', duration: '12s' } },
      { model: 'fal-ai/veo3.1', input: { prompt: 'x', duration: 9 } },
      { model: 'fal-ai/veo3.1', input: { prompt: 'x', duration: '8.5s' } },
      { model: 'fal-ai/veo3.1', input: { prompt: 'x', duration: '3s' } },
      { model: 'fal-ai/veo3.1', input: { prompt: 'x', duration: '-8s' } },
      { model: 'fal-ai/veo3.1', input: { prompt: 'x', duration: '1e3' } },
      { model: 'fal-ai/veo3.1', input: { prompt: 'x', duration: { seconds: 60 } } },
      // Per-clip prices cover the provider's default clip, no longer.
      { model: 'fal-ai/sora-2/text-to-video', input: { prompt: 'x', duration: 12 } },
      { model: 'fal-ai/minimax/hailuo-02/standard/text-to-video', input: { prompt: 'x', duration: '10' } },
      // A model whose length the catalog does not price takes no length at all.
      { model: 'fal-ai/ltx-video', input: { prompt: 'x', num_frames: 1000 } },
    ];
    for (const body of attempts) {
      const refused = expectError(await submit(customer, body), 400, 'invalid_request');
      expect(String(refused.param)).toMatch(/^input\.(duration|num_frames)$/);
    }
    expect(falSubmits().length).toBe(submitsBefore);
    const holds = await server.tollgate.db.query('select id from holds where customer_id = $1', [
      customer.id,
    ]);
    expect(holds).toEqual([]);
    await expectBooks(customer, []);
  });

  it('a provider reporting a longer clip than it was asked for is charged at most the hold', async () => {
    const customer = await victim();
    const video = (duration: number) => ({ video: { url: 'https://cdn.example/v.mp4', duration } });
    const longer = expectStatus(
      await submitWith(
        customer,
        { falResult: video(8) },
        { model: 'fal-ai/veo3.1', input: { prompt: 'x', duration: '4s' } },
      ),
      201,
    );
    expect(longer.held).toBe(44);
    expect((await finished(customer, longer.id)).cost).toBe(44);
    const absurd = expectStatus(
      await submitWith(
        customer,
        { falResult: video(1e300) },
        { model: 'fal-ai/veo3.1', input: { prompt: 'x', duration: 4 } },
      ),
      201,
    );
    expect((await finished(customer, absurd.id)).cost).toBe(44);
    // A shorter clip than asked for is charged for what came back.
    const shorter = expectStatus(
      await submitWith(
        customer,
        { falResult: video(6) },
        { model: 'fal-ai/veo3.1', input: { prompt: 'x', duration: '8s' } },
      ),
      201,
    );
    expect((await finished(customer, shorter.id)).cost).toBe(66);
    const [capped] = await server.tollgate.db.query<{ metadata: Record<string, string> }>(
      `select t.metadata from ledger_transactions t join generations g on g.hold_id = t.hold_id where g.id = $1`,
      [longer.id],
    );
    expect(capped!.metadata).toMatchObject({ reported_above_hold: 'true', total: String(44n * CREDIT) });
    await expectBooks(customer, [44, 44, 66]);
  });

  it('a garbage fal key is refused when stored: holds stay on credits, the work runs on the operator key and is charged', async () => {
    const customer = await victim();
    const refused = expectError(
      await server.call('PUT', `/v1/customers/${customer.id}/provider-keys/fal`, {
        headers: asUser(customer),
        body: { key: GARBAGE_FAL_KEY },
      }),
      400,
      'invalid_request',
    );
    expect(refused).toMatchObject({ reason: 'provider_key_rejected', provider: 'fal' });
    expect(JSON.stringify(refused)).not.toContain(GARBAGE_FAL_KEY);
    expectError(
      await server.call('PUT', `/v1/customers/${customer.id}/provider-keys/not-a-provider`, {
        headers: asUser(customer),
        body: { key: CUSTOMER_FAL_KEY },
      }),
      400,
      'invalid_request',
    );
    expectError(
      await server.call('GET', `/v1/customers/${customer.id}/provider-keys/fal`, {
        headers: asUser(customer),
      }),
      404,
      'not_found',
    );

    const job = expectStatus(
      await submit(customer, { model: 'fal-ai/flux/schnell', input: { prompt: 'x' } }),
      201,
    );
    expect(job.funding).toBe('credits');
    expect(falSubmits().at(-1)!.credential).toBe(OPERATOR_FAL_KEY);
    expect((await finished(customer, job.id)).cost).toBe(0.33);
    const hold = expectStatus(
      await server.call('POST', '/v1/holds', {
        key: app.secret_key,
        body: { customer: customer.id, model: 'fal-ai/flux/schnell' },
      }),
      201,
    );
    expect(hold).toMatchObject({ funding: 'credits', amount: 0.33 });
    expectError(
      await server.call('GET', `/v1/holds/${hold.id}/provider-key`, { key: app.secret_key }),
      409,
      'invalid_state',
    );
    expectStatus(
      await server.call('POST', `/v1/holds/${hold.id}/capture`, { key: app.secret_key, body: {} }),
      200,
    );
    await expectBooks(customer, [0.33, 0.33]);
  });

  it('an app with allow_byok false: a key its customer stored earlier is ignored and every path charges credits', async () => {
    const strict = await server.createApp({ name: 'Strict app', referral_rate: 0.1 });
    const customer = await victim(strict.secret_key);
    for (const [provider, key] of [
      ['fal', CUSTOMER_FAL_KEY],
      ['openai', CUSTOMER_OPENAI_KEY],
    ]) {
      expectStatus(
        await server.call('PUT', `/v1/customers/${customer.id}/provider-keys/${provider}`, {
          headers: asUser(customer),
          body: { key },
        }),
        200,
      );
    }
    // While BYOK is allowed the key pays: nothing is charged.
    const free = expectStatus(
      await submit(customer, { model: 'fal-ai/flux/schnell', input: { prompt: 'x' } }),
      201,
    );
    expect(free.funding).toBe('byok');
    expect(falSubmits().at(-1)!.credential).toBe(CUSTOMER_FAL_KEY);
    expect((await finished(customer, free.id)).cost).toBe(0);

    // The app's own secret key switches BYOK off for its customers.
    expectStatus(
      await server.call('PATCH', `/v1/apps/${strict.id}`, {
        key: strict.secret_key,
        body: { allow_byok: false },
      }),
      200,
    );
    const paid = expectStatus(
      await submit(customer, { model: 'fal-ai/flux/schnell', input: { prompt: 'x' } }),
      201,
    );
    expect(paid.funding).toBe('credits');
    expect(falSubmits().at(-1)!.credential).toBe(OPERATOR_FAL_KEY);
    expect((await finished(customer, paid.id)).cost).toBe(0.33);

    const hold = expectStatus(
      await server.call('POST', '/v1/holds', {
        key: strict.secret_key,
        body: { customer: customer.id, model: 'fal-ai/flux/schnell' },
      }),
      201,
    );
    expect(hold.funding).toBe('credits');
    expectStatus(
      await server.call('POST', `/v1/holds/${hold.id}/capture`, { key: strict.secret_key, body: {} }),
      200,
    );

    const chat = await server.call('POST', '/v1/chat/completions', {
      headers: asUser(customer),
      body: { model: 'openai/gpt-4o', max_tokens: 16, messages: [{ role: 'user', content: 'Whose key?' }] },
    });
    expect(chat.status).toBe(200);
    expect(upstream.requests.at(-1)!.credential).toBe(OPERATOR_OPENAI_KEY);
    const [chatRow] = await server.tollgate.db.query<{ amount_micros: string }>(
      `select amount_micros from ledger_transactions where customer_id = $1 and type = 'usage' and model = 'openai/gpt-4o'`,
      [customer.id],
    );
    const chatCharge = Number(-BigInt(chatRow!.amount_micros)) / 1e6;
    expect(chatCharge).toBeGreaterThan(0);

    const forbidden = expectError(
      await server.call('PUT', `/v1/customers/${customer.id}/provider-keys/fal`, {
        headers: asUser(customer),
        body: { key: CUSTOMER_FAL_KEY },
      }),
      403,
      'forbidden',
    );
    expect(forbidden.reason).toBe('byok_not_allowed');
    await expectBooks(customer, [0.33, 0.33, chatCharge]);
  });

  it('withHold hands the work the right key: the customer’s own for byok, the app’s for credits', async () => {
    const tollgate = new Tollgate({ baseUrl: server.url, apiKey: app.secret_key, sleep: async () => {} });
    const keysSeen: unknown[] = [];
    const run = (customer: Customer) =>
      tollgate.withHold(
        customer.id,
        'fal-ai/flux/schnell',
        (_hold, key) => {
          keysSeen.push(key);
          return 'https://cdn.example/image.png';
        },
        { providerKey: 'fal-app-own-key-7' },
      );

    const own = await victim();
    await tollgate.providerKeys.set(own.id, 'fal', { key: CUSTOMER_FAL_KEY });
    expect((await run(own)).capture.amount).toBe(0);

    const liar = await victim();
    const refused = await tollgate.providerKeys
      .set(liar.id, 'fal', { key: GARBAGE_FAL_KEY })
      .catch((error) => error);
    expect(refused).toBeInstanceOf(InvalidRequestError);
    expect((await run(liar)).capture.amount).toBe(0.33);

    const strict = await server.createApp({ name: 'Strict SDK app', referral_rate: 0.1 });
    const strictClient = new Tollgate({
      baseUrl: server.url,
      apiKey: strict.secret_key,
      sleep: async () => {},
    });
    const member = await victim(strict.secret_key);
    await strictClient.providerKeys.set(member.id, 'fal', { key: CUSTOMER_FAL_KEY });
    expectStatus(
      await server.call('PATCH', `/v1/apps/${strict.id}`, { key: ADMIN_KEY, body: { allow_byok: false } }),
      200,
    );
    const strictRun = await strictClient.withHold(
      member.id,
      'fal-ai/flux/schnell',
      (_hold, key) => {
        keysSeen.push(key);
        return 'ok';
      },
      { providerKey: 'fal-app-own-key-7' },
    );
    expect(strictRun.capture.amount).toBe(0.33);

    expect(keysSeen).toEqual([
      { funding: 'byok', apiKey: CUSTOMER_FAL_KEY, provider: 'fal' },
      { funding: 'credits', apiKey: 'fal-app-own-key-7', provider: null },
      { funding: 'credits', apiKey: 'fal-app-own-key-7', provider: null },
    ]);
    // A byok capture moves no credits, so it leaves no usage row at all.
    await expectBooks(own, []);
    await expectBooks(liar, [0.33]);
    await expectBooks(member, [0.33]);
  });

  it('provider text quoting the operator’s fal key never reaches the user, and the failed work is free', async () => {
    const customer = await victim();
    const refused = await submitWith(
      customer,
      { behavior: 'error401' },
      { model: 'fal-ai/flux/schnell', input: { prompt: 'x' } },
    );
    expectError(refused, 502, 'upstream_error');
    expect(JSON.stringify(refused.body)).not.toContain(OPERATOR_FAL_KEY);
    expect(JSON.stringify(refused.body)).not.toContain('SECRETSECRET');

    const failed = expectStatus(
      await submitWith(
        customer,
        { falStatuses: ['IN_PROGRESS', 'FAILED'], falError: `Access denied for Key ${OPERATOR_FAL_KEY}` },
        { model: 'fal-ai/flux/schnell', input: { prompt: 'x' } },
      ),
      201,
    );
    const view = await finished(customer, failed.id);
    expect(view).toMatchObject({ status: 'failed', cost: null });
    expect(JSON.stringify(view)).not.toContain(OPERATOR_FAL_KEY);
    expect(JSON.stringify(view)).not.toContain('SECRETSECRET');
    await expectBooks(customer, []);
  });
});
