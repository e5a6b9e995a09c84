import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase, testBackends } from '../../test/support/databases.ts';
import { ManualClock } from '../shared/clock.ts';
import { TollgateError } from '../shared/errors.ts';
import { auditLedger } from './audit.ts';
import { Ledger, unwrap } from './ledger.ts';
import { sweepOnce } from './sweeper.ts';

const credits = (value: number) => BigInt(value) * 1_000_000n;

describe.each(testBackends())('ledger on $name', (backend) => {
  let testDb: TestDatabase;
  let ledger: Ledger;
  const clock = new ManualClock('2026-03-01T00:00:00Z');

  beforeAll(async () => {
    testDb = await openTestDatabase(backend);
    ledger = new Ledger(testDb.db, clock, { holdTimeoutSeconds: 60 });
  });
  afterAll(async () => {
    await testDb?.close();
  });

  async function customerWith(
    grants: {
      amount: number;
      source: 'purchase' | 'promo' | 'gift' | 'allowance' | 'adjustment';
      expiresAt?: string;
    }[],
  ) {
    const { id } = await ledger.createCustomer({});
    for (const grant of grants) {
      unwrap(
        await ledger.grant({
          customerId: id,
          amountMicros: credits(grant.amount),
          source: grant.source,
          expiresAt: grant.expiresAt ? new Date(grant.expiresAt) : undefined,
        }),
      );
    }
    return id;
  }

  it('holds, captures less than held, and releases the rest', async () => {
    const customerId = await customerWith([{ amount: 10, source: 'purchase' }]);
    const hold = unwrap(
      await ledger.hold({ customerId, amountMicros: credits(4), model: 'fal-ai/flux/schnell' }),
    );
    expect(hold.status).toBe('held');
    let balance = (await ledger.balance(customerId))!;
    expect(balance.pendingMicros).toBe(credits(4));
    expect(balance.availableMicros).toBe(credits(6));
    const capture = unwrap(await ledger.capture({ holdId: hold.id, amountMicros: credits(3) }));
    expect(capture.amountMicros).toBe(credits(3));
    balance = (await ledger.balance(customerId))!;
    expect(balance.balanceMicros).toBe(credits(7));
    expect(balance.pendingMicros).toBe(0n);
    const history = await ledger.history({ customerId });
    expect(history.data.map((row) => [row.type, row.amountMicros, row.balanceAfterMicros])).toEqual([
      ['usage', -credits(3), credits(7)],
      ['grant', credits(10), credits(10)],
    ]);
    expect(history.data[0]!.model).toBe('fal-ai/flux/schnell');
  });

  it('holdEarly: decided from the cache before it is durable; a database that changed meanwhile refuses it', async () => {
    const customerId = await customerWith([{ amount: 10, source: 'purchase' }]);
    await ledger.balance(customerId);
    unwrap(await ledger.capture({ holdId: unwrap(await ledger.hold({ customerId, amountMicros: 1n })).id }));
    // Cached now: the decision comes before the write, and the write confirms it.
    let written = false;
    const early = await ledger.holdEarly({ customerId, amountMicros: credits(4) });
    const durable = early.durable.then((result) => {
      written = true;
      return result;
    });
    expect(early.decided.ok).toBe(true);
    expect(written).toBe(false);
    const confirmed = unwrap(await durable);
    expect(confirmed.id).toBe(unwrap(early.decided).id);
    expect((await ledger.balance(customerId))!.pendingMicros).toBe(credits(4));

    // Another ledger on the same database spends what this one believes is still there.
    const other = new Ledger(testDb.db, clock, { holdTimeoutSeconds: 60 });
    unwrap(await other.hold({ customerId, amountMicros: credits(5) }));
    const stale = await ledger.holdEarly({ customerId, amountMicros: credits(4) });
    expect(stale.decided.ok).toBe(true);
    const refused = await stale.durable;
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error.code).toBe('insufficient_credits');
    expect((await ledger.balance(customerId))!.pendingMicros).toBe(credits(9));
    // A refusal comes as it is written: decided and durable agree.
    const fresh = await ledger.holdEarly({ customerId, amountMicros: credits(4) });
    expect(fresh.decided.ok).toBe(false);
    expect((await fresh.durable).ok).toBe(false);
  });

  it('never captures more than held unless asked, and a voided hold cannot be captured', async () => {
    const customerId = await customerWith([{ amount: 10, source: 'purchase' }]);
    const hold = unwrap(await ledger.hold({ customerId, amountMicros: credits(2) }));
    const capture = unwrap(await ledger.capture({ holdId: hold.id, amountMicros: credits(5) }));
    expect(capture.amountMicros).toBe(credits(2));
    const second = unwrap(await ledger.hold({ customerId, amountMicros: credits(2) }));
    unwrap(await ledger.void({ holdId: second.id }));
    const again = unwrap(await ledger.void({ holdId: second.id }));
    expect(again.status).toBe('voided');
    const refused = await ledger.capture({ holdId: second.id });
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error.code).toBe('invalid_state');
    expect((await ledger.balance(customerId))!.balanceMicros).toBe(credits(8));
  });

  it('refuses a hold above what is available, with required and available', async () => {
    const customerId = await customerWith([{ amount: 3, source: 'promo' }]);
    const refused = await ledger.hold({ customerId, amountMicros: credits(5) });
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.error.code).toBe('insufficient_credits');
    expect(refused.error.details).toMatchObject({
      required: credits(5).toString(),
      available: credits(3).toString(),
    });
  });

  it('spends allowance first, then soonest-expiring, then promo before purchased, then oldest', async () => {
    const customerId = await customerWith([
      { amount: 5, source: 'purchase' },
      { amount: 5, source: 'promo' },
      { amount: 5, source: 'gift', expiresAt: '2026-06-01T00:00:00Z' },
      { amount: 5, source: 'allowance', expiresAt: '2026-04-01T00:00:00Z' },
    ]);
    const order: string[] = [];
    for (let step = 0; step < 4; step += 1) {
      unwrap(await ledger.charge({ customerId, amountMicros: credits(5) }));
      const balance = (await ledger.balance(customerId))!;
      order.push(
        (['allowance', 'gift', 'promo', 'purchase'] as const).find(
          (source) => balance.bySource[source] === 0n && !order.includes(source),
        )!,
      );
    }
    expect(order).toEqual(['allowance', 'gift', 'promo', 'purchase']);
  });

  it('a charge draws on several grants atomically', async () => {
    const customerId = await customerWith([
      { amount: 2, source: 'promo' },
      { amount: 5, source: 'purchase' },
    ]);
    unwrap(await ledger.charge({ customerId, amountMicros: credits(4) }));
    const balance = (await ledger.balance(customerId))!;
    expect(balance.bySource.promo).toBe(0n);
    expect(balance.bySource.purchase).toBe(credits(3));
  });

  it('expires only the unreserved remainder of a grant, with a transfer', async () => {
    const customerId = await customerWith([
      { amount: 10, source: 'promo', expiresAt: '2026-03-01T00:10:00Z' },
    ]);
    const hold = unwrap(await ledger.hold({ customerId, amountMicros: credits(4), timeoutSeconds: 3600 }));
    clock.advance(11 * 60 * 1000);
    expect((await ledger.balance(customerId))!.availableMicros).toBe(0n);
    await sweepOnce(testDb.db, ledger, clock);
    let balance = (await ledger.balance(customerId))!;
    expect(balance.balanceMicros).toBe(credits(4));
    unwrap(await ledger.capture({ holdId: hold.id, amountMicros: credits(1) }));
    balance = (await ledger.balance(customerId))!;
    expect(balance.balanceMicros).toBe(0n);
    const types = (await ledger.history({ customerId })).data.map((row) => [row.type, row.amountMicros]);
    expect(types).toEqual([
      ['expire', -credits(3)],
      ['usage', -credits(1)],
      ['expire', -credits(6)],
      ['grant', credits(10)],
    ]);
  });

  it('voids holds past their timeout in the sweeper', async () => {
    const customerId = await customerWith([{ amount: 10, source: 'purchase' }]);
    const hold = unwrap(await ledger.hold({ customerId, amountMicros: credits(4), timeoutSeconds: 30 }));
    const extended = unwrap(await ledger.extend({ holdId: hold.id, timeoutSeconds: 120 }));
    expect(extended.expiresAt.getTime()).toBeGreaterThan(hold.expiresAt.getTime());
    clock.advance(60_000);
    await sweepOnce(testDb.db, ledger, clock);
    expect((await ledger.balance(customerId))!.pendingMicros).toBe(credits(4));
    clock.advance(61_000);
    const swept = await sweepOnce(testDb.db, ledger, clock);
    expect(swept.holdsVoided).toBeGreaterThanOrEqual(1);
    expect((await ledger.balance(customerId))!.availableMicros).toBe(credits(10));
    const late = await ledger.capture({ holdId: hold.id });
    expect(!late.ok && late.error.code).toBe('invalid_state');
  });

  it('lands a delivered capture past the timeout, and charges a swept hold from the balance once', async () => {
    const customerId = await customerWith([{ amount: 10, source: 'purchase' }]);
    const overdue = unwrap(await ledger.hold({ customerId, amountMicros: credits(4), timeoutSeconds: 30 }));
    clock.advance(31_000);
    // Overdue but not yet swept: an in-flight extension keeps it, a delivered capture takes it.
    unwrap(await ledger.extend({ holdId: overdue.id, timeoutSeconds: 30, inFlight: true }));
    clock.advance(31_000);
    const captured = unwrap(
      await ledger.capture({ holdId: overdue.id, amountMicros: credits(3), delivered: true }),
    );
    expect(captured).toMatchObject({ amountMicros: credits(3), afterVoid: false });

    const swept = unwrap(await ledger.hold({ customerId, amountMicros: credits(2), timeoutSeconds: 30 }));
    clock.advance(31_000);
    await sweepOnce(testDb.db, ledger, clock);
    const first = unwrap(
      await ledger.capture({ holdId: swept.id, amountMicros: credits(2), delivered: true }),
    );
    expect(first).toMatchObject({ amountMicros: credits(2), afterVoid: true, replayed: false });
    // A repeat (from this ledger, or from another that never saw the first) is the same charge.
    const again = unwrap(
      await ledger.capture({ holdId: swept.id, amountMicros: credits(2), delivered: true }),
    );
    expect(again).toMatchObject({
      amountMicros: credits(2),
      transactionId: first.transactionId,
      replayed: true,
    });
    const other = new Ledger(testDb.db, clock, { holdTimeoutSeconds: 60 });
    const fromOther = unwrap(
      await other.capture({ holdId: swept.id, amountMicros: credits(2), delivered: true }),
    );
    expect(fromOther.transactionId).toBe(first.transactionId);
    expect((await ledger.balance(customerId))!.balanceMicros).toBe(credits(5));
    const usage = (await ledger.history({ customerId })).data.filter((row) => row.type === 'usage');
    expect(usage.map((row) => row.amountMicros)).toEqual([-credits(2), -credits(3)]);
    // Only the charge after the void needed a key of its own.
    const [keys] = await testDb.db.query<{ count: string }>(
      "select count(*)::text as count from idempotency_keys where scope = 'ledger:delivered-capture' and key = any($1::text[])",
      [[overdue.id, swept.id]],
    );
    expect(keys!.count).toBe('1');
    expect((await auditLedger(testDb.db, clock, 3600 * 24 * 365)).problems).toEqual([]);
  });

  it('replays an idempotent retry and refuses a conflicting reuse', async () => {
    const customerId = await customerWith([{ amount: 10, source: 'purchase' }]);
    const idempotency = { key: `k-${customerId}`, scope: 'test' };
    const first = unwrap(await ledger.hold({ customerId, amountMicros: credits(1), idempotency }));
    const retry = unwrap(await ledger.hold({ customerId, amountMicros: credits(1), idempotency }));
    expect(retry.id).toBe(first.id);
    expect(retry.replayed).toBe(true);
    const conflict = await ledger.hold({ customerId, amountMicros: credits(2), idempotency });
    expect(!conflict.ok && conflict.error.code).toBe('idempotency_conflict');
    expect((await ledger.balance(customerId))!.pendingMicros).toBe(credits(1));
  });

  it('charges usage above the hold from the balance and writes off only what it cannot cover', async () => {
    const customerId = await customerWith([{ amount: 10, source: 'purchase' }]);
    const hold = unwrap(await ledger.hold({ customerId, amountMicros: credits(4) }));
    const over = unwrap(
      await ledger.capture({ holdId: hold.id, amountMicros: credits(7), overrun: 'charge_available' }),
    );
    expect(over.amountMicros).toBe(credits(7));
    const second = unwrap(await ledger.hold({ customerId, amountMicros: credits(2) }));
    const short = unwrap(
      await ledger.capture({ holdId: second.id, amountMicros: credits(6), overrun: 'charge_available' }),
    );
    expect(short.amountMicros).toBe(credits(3));
    expect(short.shortfallMicros).toBe(credits(3));
    expect((await ledger.balance(customerId))!.balanceMicros).toBe(0n);
    const report = await auditLedger(testDb.db, clock, 3600 * 24 * 365);
    expect(report.systemAccounts['sys:loss']).toBeLessThanOrEqual(-credits(3));
  });

  it('splits a capture between revenue and the referral account', async () => {
    const customerId = await customerWith([{ amount: 10, source: 'purchase' }]);
    await testDb.db.query(
      `insert into ledger_accounts (id, kind) values ('ref:app_test', 'referral') on conflict do nothing`,
    );
    const hold = unwrap(await ledger.hold({ customerId, amountMicros: credits(6) }));
    unwrap(
      await ledger.capture({
        holdId: hold.id,
        amountMicros: 5_500_000n,
        referralShareMicros: 500_000n,
        referralAccount: 'ref:app_test',
      }),
    );
    const [row] = (await ledger.history({ customerId, limit: 1 })).data;
    expect(row!.metadata).toMatchObject({
      provider_cost: '5000000',
      referral_share: '500000',
      total: '5500000',
    });
    const report = await auditLedger(testDb.db, clock, 3600 * 24 * 365);
    expect(report.systemAccounts['ref:app_test']).toBe(500_000n);
  });

  it('refuses bad input with a typed error and writes nothing', async () => {
    const customerId = await customerWith([{ amount: 1, source: 'purchase' }]);
    const before = await auditLedger(testDb.db, clock, 3600 * 24 * 365);
    const bad: unknown[] = [-1n, 0n, 1.5, 2n ** 63n, '10'];
    for (const amountMicros of bad) {
      await expect(
        ledger.grant({ customerId, amountMicros: amountMicros as bigint, source: 'promo' }),
      ).rejects.toThrow(TollgateError);
    }
    const unknownCustomer = await ledger.hold({ customerId: 'cus_nope', amountMicros: 1n });
    expect(!unknownCustomer.ok && unknownCustomer.error.code).toBe('not_found');
    const unknownHold = await ledger.capture({ holdId: 'hold_nope' });
    expect(!unknownHold.ok && unknownHold.error.code).toBe('not_found');
    const after = await auditLedger(testDb.db, clock, 3600 * 24 * 365);
    expect(after.transactions).toBe(before.transactions);
  });

  it('refuses bad input to every operation with a typed error, and writes nothing anywhere', async () => {
    const customerId = await customerWith([{ amount: 10, source: 'purchase' }]);
    const hold = unwrap(await ledger.hold({ customerId, amountMicros: credits(1) }));
    const grantId = (await ledger.balance(customerId))!.grants[0]!.id;
    // Every row a ledger operation could write or change, as one comparable text.
    const snapshot = () =>
      testDb.db.query(
        `select (select count(*) from ledger_transactions)::text as transactions,
                (select count(*) from ledger_entries)::text as entries,
                (select count(*) from idempotency_keys)::text as keys,
                (select count(*) from run_totals)::text as runs,
                (select string_agg(id || ' ' || balance_micros || ' ' || held_micros, ',' order by id) from customers) as customers,
                (select string_agg(id || ' ' || remaining_micros || ' ' || reserved_micros, ',' order by id) from grants) as grants,
                (select string_agg(id || ' ' || status || ' ' || expires_at, ',' order by id) from holds) as holds`,
      );
    const before = await snapshot();

    // Invalid input: thrown as a TollgateError `invalid_request` (HTTP 400) before anything is sent to the
    // database; the idempotency key is not claimed either.
    const idempotency = { key: `bad-${customerId}`, scope: 'test' };
    const invalid: [string, () => Promise<unknown>][] = [];
    const badAmounts: unknown[] = [-1n, 1.5, 2n ** 63n, 2n ** 64n, -(2n ** 63n), '10', 10, null, Number.NaN];
    for (const amount of [...badAmounts, 0n]) {
      const amountMicros = amount as bigint;
      invalid.push(
        [`grant ${amount}`, () => ledger.grant({ customerId, amountMicros, source: 'promo', idempotency })],
        [`debit ${amount}`, () => ledger.debit({ customerId, amountMicros, idempotency })],
        [`clawback ${amount}`, () => ledger.clawback({ grantId, amountMicros, idempotency })],
      );
    }
    for (const amount of badAmounts) {
      const amountMicros = amount as bigint;
      invalid.push(
        [`hold ${amount}`, () => ledger.hold({ customerId, amountMicros, idempotency })],
        [`charge ${amount}`, () => ledger.charge({ customerId, amountMicros, idempotency })],
        [`capture ${amount}`, () => ledger.capture({ holdId: hold.id, amountMicros, idempotency })],
        [
          `hold max run ${amount}`,
          () => ledger.hold({ customerId, amountMicros: 1n, runId: 'r', maxRunMicros: amountMicros }),
        ],
        [
          `capture referral ${amount}`,
          () => ledger.capture({ holdId: hold.id, referralShareMicros: amountMicros }),
        ],
      );
    }
    // Metadata is stored as JSON and copied onto history rows: only a plain object, keys of at most 100
    // characters, at most 64 keys, at most 16 KiB as JSON.
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    const badMetadata: [string, unknown][] = [
      ['an array', ['a']],
      ['a string', 'a'],
      ['null', null],
      ['a date', new Date(0)],
      ['a map', new Map([['a', 1]])],
      ['a 101-character key', { ['k'.repeat(101)]: 1 }],
      ['65 keys', Object.fromEntries(Array.from({ length: 65 }, (_, index) => [`k${index}`, index]))],
      ['17,000 bytes of text', { note: 'x'.repeat(17_000) }],
      ['2,800 escaped control characters', { note: '\u0001'.repeat(2_800) }],
      ['a nested object of 17,000 bytes', { nested: { deeper: ['x'.repeat(17_000)] } }],
      ['a bigint, which JSON cannot hold', { amount: 12n }],
      ['a cycle', cyclic],
    ];
    for (const [label, metadata] of badMetadata) {
      const given = metadata as Record<string, unknown>;
      invalid.push(
        [`hold metadata: ${label}`, () => ledger.hold({ customerId, amountMicros: 1n, metadata: given })],
        [`capture metadata: ${label}`, () => ledger.capture({ holdId: hold.id, metadata: given })],
        [
          `grant metadata: ${label}`,
          () => ledger.grant({ customerId, amountMicros: 1n, source: 'promo', metadata: given }),
        ],
      );
    }
    for (const timeoutSeconds of [0, -5, 1.5, 31 * 24 * 3600 + 1, Number.POSITIVE_INFINITY]) {
      invalid.push(
        [
          `hold timeout ${timeoutSeconds}`,
          () => ledger.hold({ customerId, amountMicros: 1n, timeoutSeconds }),
        ],
        [`extend timeout ${timeoutSeconds}`, () => ledger.extend({ holdId: hold.id, timeoutSeconds })],
      );
    }
    invalid.push(
      [
        'grant priority 101',
        () => ledger.grant({ customerId, amountMicros: 1n, source: 'promo', priority: 101 }),
      ],
      [
        'grant priority 1.5',
        () => ledger.grant({ customerId, amountMicros: 1n, source: 'promo', priority: 1.5 }),
      ],
      [
        'grant invalid date',
        () => ledger.grant({ customerId, amountMicros: 1n, source: 'promo', expiresAt: new Date('x') }),
      ],
      [
        'grant unknown source',
        () => ledger.grant({ customerId, amountMicros: 1n, source: 'free' as 'promo' }),
      ],
      [
        'hold unknown funding',
        () => ledger.hold({ customerId, amountMicros: 1n, funding: 'cash' as 'byok' }),
      ],
      ['capture unknown overrun', () => ledger.capture({ holdId: hold.id, overrun: 'sometimes' as 'clamp' })],
      [
        'capture referral above amount',
        () => ledger.capture({ holdId: hold.id, amountMicros: 2n, referralShareMicros: 3n }),
      ],
      ['empty customer id', () => ledger.hold({ customerId: '', amountMicros: 1n })],
      ['empty hold id', () => ledger.void({ holdId: '' })],
      [
        'empty idempotency key',
        () => ledger.hold({ customerId, amountMicros: 1n, idempotency: { key: '', scope: 's' } }),
      ],
      ['customer id with spaces', () => ledger.createCustomer({ id: 'not an id' })],
    );
    for (const [label, call] of invalid) {
      const error = await call().then(
        (value) => ({ resolved: value }),
        (thrown: unknown) => thrown,
      );
      expect(error, label).toBeInstanceOf(TollgateError);
      expect([(error as TollgateError).code, (error as TollgateError).status], label).toEqual([
        'invalid_request',
        400,
      ]);
    }

    // Well-formed but refused by the ledger: a typed refusal value, and nothing written either.
    const refusals: [string, () => Promise<{ ok: boolean; error?: TollgateError }>, string][] = [
      [
        'grant to an unknown customer',
        () => ledger.grant({ customerId: 'cus_nope', amountMicros: 1n, source: 'gift' }),
        'not_found',
      ],
      [
        'hold for an unknown customer',
        () => ledger.hold({ customerId: 'cus_nope', amountMicros: 1n }),
        'not_found',
      ],
      [
        'charge to an unknown customer',
        () => ledger.charge({ customerId: 'cus_nope', amountMicros: 1n }),
        'not_found',
      ],
      [
        'debit of an unknown customer',
        () => ledger.debit({ customerId: 'cus_nope', amountMicros: 1n }),
        'not_found',
      ],
      ['capture of an unknown hold', () => ledger.capture({ holdId: 'hold_nope' }), 'not_found'],
      ['void of an unknown hold', () => ledger.void({ holdId: 'hold_nope' }), 'not_found'],
      [
        'extend of an unknown hold',
        () => ledger.extend({ holdId: 'hold_nope', timeoutSeconds: 60 }),
        'not_found',
      ],
      [
        'clawback of an unknown grant',
        () => ledger.clawback({ grantId: 'gr_nope', amountMicros: 1n }),
        'not_found',
      ],
      [
        'grant expiring in the past',
        () =>
          ledger.grant({
            customerId,
            amountMicros: 1n,
            source: 'promo',
            expiresAt: new Date(clock.now().getTime() - 1000),
          }),
        'invalid_request',
      ],
      [
        'grant that would overflow the balance',
        () => ledger.grant({ customerId, amountMicros: 2n ** 63n - 1n, source: 'purchase' }),
        'invalid_request',
      ],
      [
        'hold above what is available',
        () => ledger.hold({ customerId, amountMicros: credits(10) }),
        'insufficient_credits',
      ],
      [
        'charge above what is available',
        () => ledger.charge({ customerId, amountMicros: credits(10) }),
        'insufficient_credits',
      ],
      [
        'debit above what is available',
        () => ledger.debit({ customerId, amountMicros: credits(10) }),
        'insufficient_credits',
      ],
    ];
    for (const [label, call, code] of refusals) {
      const result = await call();
      expect(result.ok, label).toBe(false);
      expect(result.error, label).toBeInstanceOf(TollgateError);
      expect(result.error!.code, label).toBe(code);
    }

    expect(await snapshot()).toEqual(before);
    // The operations still work afterwards, and the key that only bad input used is still free.
    unwrap(await ledger.capture({ holdId: hold.id, amountMicros: credits(1), idempotency }));
    expect((await ledger.balance(customerId))!.balanceMicros).toBe(credits(9));
  });

  it('keeps metadata at its bounds as given, on the hold and on the capture', async () => {
    const customerId = await customerWith([{ amount: 1, source: 'purchase' }]);
    const widest = Object.fromEntries(Array.from({ length: 64 }, (_, index) => [`k${index}`, index]));
    const longestKey = Object.assign(Object.create(null) as Record<string, unknown>, {
      ['k'.repeat(100)]: 'v',
      nested: { list: [1, 'two', null] },
    });
    const hold = unwrap(await ledger.hold({ customerId, amountMicros: 10n, metadata: widest }));
    unwrap(await ledger.capture({ holdId: hold.id, amountMicros: 4n, metadata: longestKey }));
    const rows = await testDb.db.query<{ metadata: Record<string, unknown> }>(
      `select metadata from ledger_transactions where customer_id = $1 and type = 'usage'`,
      [customerId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.metadata).toMatchObject({
      k0: 0,
      k63: 63,
      ['k'.repeat(100)]: 'v',
      nested: { list: [1, 'two', null] },
    });
  });

  it('keeps the books balanced', async () => {
    const report = await auditLedger(testDb.db, clock, 3600 * 24 * 365);
    expect(report.problems).toEqual([]);
    expect(report.totalMicros).toBe(0n);
  });
});
