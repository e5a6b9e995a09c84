import { describe, expect, it } from 'vitest';
import {
  type AccountState,
  fillTransactionId,
  type GrantState,
  type HoldState,
  LedgerBatch,
  LedgerInvariantError,
  type StoredKey,
  TRANSACTION_PLACEHOLDER,
} from './engine.ts';

const NOW = new Date('2026-03-01T00:00:00Z');
const LATER = new Date('2026-03-01T00:15:00Z');

function grant(id: string, remaining: bigint, extra: Partial<GrantState> = {}): GrantState {
  return {
    id,
    source: 'purchase',
    priority: 3,
    amount: remaining,
    remaining,
    reserved: 0n,
    expiresAt: null,
    createdAt: new Date('2026-01-01T00:00:00Z'),
    scope: null,
    voidedAt: null,
    ...extra,
  };
}

function account(id: string, grants: GrantState[], revision = 7n): AccountState {
  const balance = grants.reduce((sum, each) => sum + each.remaining, 0n);
  const held = grants.reduce((sum, each) => sum + each.reserved, 0n);
  return { id, revision, balance, held, grants, runs: new Map(), limits: new Map() };
}

function batchOver(accounts: AccountState[], holds: HoldState[] = [], keys = new Map<string, StoredKey>()) {
  const accountMap = new Map(accounts.map((each) => [each.id, each]));
  const holdMap = new Map(holds.map((each) => [each.id, each]));
  return new LedgerBatch(accountMap, holdMap, keys, NOW);
}

describe('LedgerBatch', () => {
  it('applies a hold and a capture in one batch without touching the state it read', () => {
    const cached = account('cus_a', [grant('gr_1', 10n)]);
    const batch = batchOver([cached]);
    const held = batch.apply({
      op: 'hold',
      customer: 'cus_a',
      holdId: 'hold_1',
      amount: 6n,
      expiresAt: LATER,
      funding: 'credits',
    });
    expect(held).toMatchObject({ ok: true, id: 'hold_1', amount: '6', available: '4' });
    const captured = batch.apply({ op: 'capture', hold: 'hold_1', amount: 4n, overrun: 'clamp' });
    expect(captured).toMatchObject({
      ok: true,
      amount: '4',
      cost: '4',
      balance: '6',
      transaction_id: `${TRANSACTION_PLACEHOLDER}1`,
    });
    // The cached account is a read-only input: the batch works on copies until it is written.
    expect(cached.balance).toBe(10n);
    expect(cached.grants[0]!.reserved).toBe(0n);

    const document = batch.document()!;
    // One customer row with the revision read, the grant's final figures, the hold inserted already
    // captured (never inserted then updated), one usage transaction with balanced legs.
    expect(document.c).toEqual([['cus_a', '7', '6', '0']]);
    expect(document.gu).toEqual([['gr_1', '6', '0', null]]);
    expect(document.hi).toHaveLength(1);
    expect(document.hi![0]!.slice(0, 6)).toEqual(['hold_1', 'cus_a', 'captured', 'credits', '6', '4']);
    expect(document.hu).toBeUndefined();
    expect(document.t).toEqual([['cus_a', 'usage', '-4', '6', 'hold_1', null, null, expect.any(Object)]]);
    expect(document.e).toEqual([
      [1, 'cus_a', '-4'],
      [1, 'sys:revenue', '4'],
    ]);

    const { accounts, holds } = batch.committed(['41']);
    expect(accounts[0]).toMatchObject({ id: 'cus_a', revision: 8n, balance: 6n, held: 0n });
    expect(holds[0]).toMatchObject({ id: 'hold_1', status: 'captured', transactionId: '41' });
    expect(holds[0]!.result!.transaction_id).toBe('41');
    expect(fillTransactionId(captured, ['41']).transaction_id).toBe('41');
  });

  it('checks the revision of an account it only read, and writes nothing else', () => {
    const batch = batchOver([account('cus_a', [grant('gr_1', 3n)])]);
    const refused = batch.apply({
      op: 'hold',
      customer: 'cus_a',
      holdId: 'hold_1',
      amount: 5n,
      expiresAt: LATER,
      funding: 'credits',
    });
    expect(refused).toMatchObject({ ok: false, code: 'insufficient_credits', required: '5', available: '3' });
    // A refusal computed from a stale read would be wrong: the write confirms the revision it used.
    expect(batch.document()).toEqual({ c: [], k: [['cus_a', '7']] });
  });

  it('needs no round trip for what cannot have changed: an unknown customer, a captured hold', () => {
    const captured: HoldState = {
      id: 'hold_done',
      customerId: 'cus_a',
      status: 'captured',
      funding: 'credits',
      amount: 5n,
      captured: 5n,
      allocations: [],
      model: null,
      modelType: null,
      runId: null,
      provider: null,
      expiresAt: LATER,
      createdAt: NOW,
      resolvedAt: NOW,
      voidReason: null,
      transactionId: '9',
      result: { ok: true, id: 'hold_done', status: 'captured', transaction_id: '9' },
      metadata: null,
      spendLimits: null,
    };
    const batch = batchOver([], [captured]);
    expect(
      batch.apply({
        op: 'hold',
        customer: 'cus_x',
        holdId: 'h',
        amount: 1n,
        expiresAt: LATER,
        funding: 'credits',
      }),
    ).toMatchObject({
      ok: false,
      code: 'not_found',
    });
    expect(batch.apply({ op: 'capture', hold: 'hold_done', overrun: 'clamp' })).toEqual(captured.result);
    expect(batch.document()).toBeNull();
  });

  it('replays a key claimed earlier in the same batch or stored before, and refuses another body', () => {
    const stored = new Map<string, StoredKey>([
      [
        's\u0000old',
        { hash: 'h-old', response: { ok: true, grant_id: 'gr_old', transaction_id: '3', balance: '1' } },
      ],
    ]);
    const batch = batchOver([account('cus_a', [])], [], stored);
    const grantOp = {
      op: 'grant' as const,
      customer: 'cus_a',
      grantId: 'gr_new',
      amount: 5n,
      source: 'promo' as const,
      priority: 1,
      fundingAccount: 'sys:promotions',
      key: { scope: 's', key: 'new', hash: 'h-new' },
    };
    const first = batch.apply(grantOp);
    const again = batch.apply({ ...grantOp, grantId: 'gr_other' });
    expect(again).toEqual({ ...first, replayed: true });
    expect(
      batch.apply({ ...grantOp, grantId: 'gr_third', key: { scope: 's', key: 'new', hash: 'other' } }),
    ).toMatchObject({
      ok: false,
      code: 'idempotency_conflict',
    });
    expect(batch.apply({ ...grantOp, key: { scope: 's', key: 'old', hash: 'h-old' } })).toMatchObject({
      ok: true,
      grant_id: 'gr_old',
      replayed: true,
    });
    const document = batch.document()!;
    // One grant, one transaction, one key claimed — whatever the retries in the batch.
    expect(document.gi).toHaveLength(1);
    expect(document.t).toHaveLength(1);
    // Stored with its transaction id in a column (filled in by the write), not patched into the JSON.
    expect(document.i).toEqual([['s', 'new', 'h-new', { ...first, transaction_id: null }, 1]]);
  });

  it('writes off only the unreserved remainder of an expired grant, in a row of its own', () => {
    const expiring = grant('gr_promo', 10n, {
      source: 'promo',
      priority: 1,
      expiresAt: new Date('2026-02-28T00:00:00Z'),
      reserved: 4n,
    });
    const batch = batchOver([account('cus_a', [expiring, grant('gr_buy', 5n)])]);
    expect(batch.apply({ op: 'expire_grants', customer: 'cus_a' })).toEqual({ ok: true, expired: '6' });
    const document = batch.document()!;
    expect(document.t).toEqual([['cus_a', 'expire', '-6', '9', null, 'gr_promo', null, null]]);
    expect(document.e).toEqual([
      [1, 'cus_a', '-6'],
      [1, 'sys:expired', '6'],
    ]);
    expect(document.gu).toEqual([['gr_promo', '4', '4', null]]);
  });

  it('treats a broken invariant as an error, not a refusal', () => {
    const batch = batchOver([account('cus_a', [grant('gr_1', 10n)])]);
    batch.apply({
      op: 'hold',
      customer: 'cus_a',
      holdId: 'hold_1',
      amount: 2n,
      expiresAt: LATER,
      funding: 'credits',
    });
    expect(() => batch.apply({ op: 'capture', hold: 'hold_1', overrun: 'clamp', referralShare: 3n })).toThrow(
      LedgerInvariantError,
    );
  });
  it('pays the referral share only on what was collected when part of a capture is a shortfall', () => {
    const batch = batchOver([account('cus_a', [grant('gr_1', 70n)])]);
    batch.apply({
      op: 'hold',
      customer: 'cus_a',
      holdId: 'hold_1',
      amount: 40n,
      expiresAt: LATER,
      funding: 'credits',
    });
    // A 100 capture with a 10 share, of which the customer can pay 70: the app gets 10 × 70/100 = 7.
    const captured = batch.apply({
      op: 'capture',
      hold: 'hold_1',
      amount: 100n,
      overrun: 'charge',
      referralShare: 10n,
      referralAccount: 'ref:app_1',
    });
    expect(captured).toMatchObject({
      ok: true,
      amount: '70',
      cost: '100',
      shortfall: '30',
      referral_share: '7',
    });
    const document = batch.document()!;
    expect(document.e).toEqual([
      [1, 'cus_a', '-70'],
      [1, 'sys:revenue', '93'],
      [1, 'ref:app_1', '7'],
      [1, 'sys:loss', '-30'],
    ]);
    expect(document.t![0]![7]).toMatchObject({ referral_share: '7', total: '100', shortfall: '30' });

    // Rounded down: a share of 1 on 3 collected of 10 is 0, and no referral leg is written at all.
    const small = batchOver([account('cus_b', [grant('gr_2', 3n)])]);
    small.apply({
      op: 'hold',
      customer: 'cus_b',
      holdId: 'hold_2',
      amount: 1n,
      expiresAt: LATER,
      funding: 'credits',
    });
    expect(
      small.apply({
        op: 'capture',
        hold: 'hold_2',
        amount: 10n,
        overrun: 'charge',
        referralShare: 1n,
        referralAccount: 'ref:app_1',
      }),
    ).toMatchObject({ amount: '3', shortfall: '7', referral_share: '0' });
    expect(small.document()!.e).toEqual([
      [1, 'cus_b', '-3'],
      [1, 'sys:revenue', '10'],
      [1, 'sys:loss', '-7'],
    ]);
  });

  it('keeps the whole referral share when the capture is paid in full', () => {
    const batch = batchOver([account('cus_a', [grant('gr_1', 200n)])]);
    batch.apply({
      op: 'hold',
      customer: 'cus_a',
      holdId: 'hold_1',
      amount: 40n,
      expiresAt: LATER,
      funding: 'credits',
    });
    expect(
      batch.apply({
        op: 'capture',
        hold: 'hold_1',
        amount: 100n,
        overrun: 'charge',
        referralShare: 10n,
        referralAccount: 'ref:app_1',
      }),
    ).toMatchObject({ amount: '100', shortfall: '0', referral_share: '10' });
  });

  it('captures delivered work past the hold timeout when the hold is still held', () => {
    const overdue = new Date(NOW.getTime() - 1_000);
    const source = batchOver([account('cus_a', [grant('gr_1', 10n)])]);
    source.apply({
      op: 'hold',
      customer: 'cus_a',
      holdId: 'hold_1',
      amount: 6n,
      expiresAt: overdue,
      funding: 'credits',
    });
    const { accounts, holds } = source.committed([]);
    // An ordinary capture of an overdue hold voids it; a delivered one captures it.
    const ordinary = batchOver(accounts, holds);
    expect(ordinary.apply({ op: 'capture', hold: 'hold_1', amount: 4n, overrun: 'clamp' })).toMatchObject({
      ok: false,
      code: 'invalid_state',
    });
    const delivered = batchOver(accounts, holds);
    expect(
      delivered.apply({ op: 'capture', hold: 'hold_1', amount: 4n, overrun: 'clamp', delivered: true }),
    ).toMatchObject({ ok: true, status: 'captured', amount: '4', balance: '6' });
    expect(delivered.document()!.e).toEqual([
      [1, 'cus_a', '-4'],
      [1, 'sys:revenue', '4'],
    ]);
  });

  it('charges delivered work from the available balance when the hold was voided under it', () => {
    const source = batchOver([account('cus_a', [grant('gr_1', 10n)])]);
    source.apply({
      op: 'hold',
      customer: 'cus_a',
      holdId: 'hold_1',
      amount: 6n,
      expiresAt: LATER,
      funding: 'credits',
    });
    source.apply({ op: 'void', hold: 'hold_1', reason: 'expired' });
    // Meanwhile the customer spent most of what the void released.
    source.apply({ op: 'debit', customer: 'cus_a', amount: 7n });
    const { accounts, holds } = source.committed(['1']);
    const batch = batchOver(accounts, holds);
    const captured = batch.apply({
      op: 'capture',
      hold: 'hold_1',
      amount: 5n,
      overrun: 'clamp',
      delivered: true,
      referralShare: 1n,
      referralAccount: 'ref:app_1',
    });
    // 3 available of 5: paid 3, 2 lost, the share cut to 1 × 3/5 = 0.
    expect(captured).toMatchObject({
      ok: true,
      status: 'captured',
      amount: '3',
      cost: '5',
      shortfall: '2',
      referral_share: '0',
      after_void: true,
      balance: '0',
    });
    const document = batch.document()!;
    expect(document.t).toEqual([
      ['cus_a', 'usage', '-3', '0', 'hold_1', null, null, expect.objectContaining({ hold_voided: true })],
    ]);
    expect(document.e).toEqual([
      [1, 'cus_a', '-3'],
      [1, 'sys:revenue', '5'],
      [1, 'sys:loss', '-2'],
    ]);
    // The hold itself stays voided: nothing about it is rewritten.
    expect(document.hu).toBeUndefined();
    expect(document.c).toEqual([['cus_a', '8', '0', '0']]);
    // A repeat under the same key, in this batch or stored by an earlier one, is the first charge.
    const key = { scope: 'ledger:delivered-capture', key: 'hold_1', hash: 'delivered' };
    const keyed = batchOver(accounts, holds);
    const once = keyed.apply({
      op: 'capture',
      hold: 'hold_1',
      amount: 5n,
      overrun: 'clamp',
      delivered: true,
      afterVoidKey: key,
    });
    expect(
      keyed.apply({
        op: 'capture',
        hold: 'hold_1',
        amount: 5n,
        overrun: 'clamp',
        delivered: true,
        afterVoidKey: key,
      }),
    ).toEqual({
      ...once,
      replayed: true,
    });
    expect(keyed.document()!.t).toHaveLength(1);
    const stored = new Map<string, StoredKey>([
      [`${key.scope}\u0000${key.key}`, { hash: 'delivered', response: once }],
    ]);
    expect(
      batchOver(accounts, holds, stored).apply({
        op: 'capture',
        hold: 'hold_1',
        overrun: 'clamp',
        delivered: true,
        afterVoidKey: key,
      }),
    ).toMatchObject({ replayed: true, amount: '3' });
    // Without `delivered`, a voided hold is still not capturable.
    expect(
      batchOver(accounts, holds).apply({ op: 'capture', hold: 'hold_1', overrun: 'clamp' }),
    ).toMatchObject({
      ok: false,
      code: 'invalid_state',
    });
  });

  it('extends an overdue hold of work in flight instead of voiding it', () => {
    const overdue = new Date(NOW.getTime() - 1_000);
    const source = batchOver([account('cus_a', [grant('gr_1', 10n)])]);
    source.apply({
      op: 'hold',
      customer: 'cus_a',
      holdId: 'hold_1',
      amount: 6n,
      expiresAt: overdue,
      funding: 'credits',
    });
    const { accounts, holds } = source.committed([]);
    expect(
      batchOver(accounts, holds).apply({ op: 'extend', hold: 'hold_1', expiresAt: LATER }),
    ).toMatchObject({
      ok: false,
      code: 'invalid_state',
      status: 'voided',
    });
    expect(
      batchOver(accounts, holds).apply({ op: 'extend', hold: 'hold_1', expiresAt: LATER, inFlight: true }),
    ).toMatchObject({ ok: true, status: 'held', expires_at: LATER.toISOString() });
  });
});

describe('LedgerBatch balance alerts', () => {
  const MICROS = 1_000_000n;
  const watched = (balance: bigint, threshold: bigint | null, level: 0 | 1 | 2 = 0): AccountState => ({
    ...account('cus_w', [grant('gr_w', balance * MICROS)]),
    alert: { threshold: threshold === null ? null : threshold * MICROS, level },
  });
  const debit = (batch: LedgerBatch, credits: bigint) =>
    batch.apply({ op: 'debit', customer: 'cus_w', amount: credits * MICROS });

  it('reports a debit across the threshold once, with the new level, and nothing above it', () => {
    let batch = batchOver([watched(10n, 5n)]);
    debit(batch, 4n);
    expect(batch.document()!.o).toBeUndefined();

    batch = batchOver([watched(10n, 5n)]);
    debit(batch, 3n);
    debit(batch, 3n);
    const document = batch.document()!;
    expect(document.o).toEqual([['cus_w', 'balance.low', { balance: 4, threshold: 5 }]]);
    expect(document.a).toEqual([['cus_w', 1]]);
    // Rendering again renders the same (it compares with the state as read).
    expect(batch.document()!.o).toEqual(document.o);
  });

  it('reports low and depleted together when one debit empties the balance; depleted alone once low', () => {
    const batch = batchOver([watched(10n, 5n)]);
    debit(batch, 10n);
    expect(batch.document()!.o!.map(([, type]) => type)).toEqual(['balance.low', 'balance.depleted']);

    const already = batchOver([watched(3n, 5n, 1)]);
    debit(already, 3n);
    expect(already.document()!.o!.map(([, type]) => type)).toEqual(['balance.depleted']);
  });

  it('re-arms when the balance is back, reports nothing while low, and waits for a debit after a raised threshold', () => {
    const topped = batchOver([watched(3n, 5n, 1)]);
    topped.apply({
      op: 'grant',
      customer: 'cus_w',
      grantId: 'gr_new',
      amount: 10n * MICROS,
      source: 'purchase',
      priority: 3,
      fundingAccount: 'sys:purchases',
    });
    expect(topped.document()!).toMatchObject({ a: [['cus_w', 0]] });
    expect(topped.document()!.o).toBeUndefined();

    const stillLow = batchOver([watched(4n, 5n, 1)]);
    debit(stillLow, 1n);
    expect(stillLow.document()!.o).toBeUndefined();
    expect(stillLow.document()!.a).toBeUndefined();

    // The threshold was raised above the balance: a credit changes nothing, the next debit reports.
    const raised = batchOver([watched(8n, 10n, 0)]);
    raised.apply({
      op: 'grant',
      customer: 'cus_w',
      grantId: 'gr_small',
      amount: 1n * MICROS,
      source: 'purchase',
      priority: 3,
      fundingAccount: 'sys:purchases',
    });
    expect(raised.document()!.a).toBeUndefined();
    const next = batchOver([watched(9n, 10n, 0)]);
    debit(next, 1n);
    expect(next.document()!.o).toEqual([['cus_w', 'balance.low', { balance: 8, threshold: 10 }]]);
  });

  it('reports depletion without a threshold, and no crossings for an account read without alerts', () => {
    const noThreshold = batchOver([watched(2n, null)]);
    debit(noThreshold, 2n);
    expect(noThreshold.document()!.o).toEqual([['cus_w', 'balance.depleted', { balance: 0 }]]);

    const plain = batchOver([account('cus_w', [grant('gr_w', 2n * MICROS)])]);
    debit(plain, 2n);
    expect(plain.document()!.o).toBeUndefined();
  });
});

describe('grant selection', () => {
  const hold = (batch: LedgerBatch, id: string, amount: bigint, model?: string, modelType?: string) =>
    batch.apply({
      op: 'hold',
      customer: 'cus_a',
      holdId: id,
      amount,
      expiresAt: LATER,
      funding: 'credits',
      model,
      modelType,
    });

  it('reserves only grants whose scope pays for the work, and refuses with what may pay for it', () => {
    const batch = batchOver([
      account('cus_a', [
        grant('gr_images', 5n, { source: 'promo', priority: 50, scope: { types: ['image'] } }),
        grant('gr_gpt', 2n, { source: 'promo', priority: 50, scope: { models: ['gpt'] } }),
        grant('gr_any', 1n, { priority: 50 }),
      ]),
    ]);
    expect(hold(batch, 'hold_chat', 4n, 'claude', 'chat')).toMatchObject({
      ok: false,
      code: 'insufficient_credits',
      available: '1',
    });
    expect(hold(batch, 'hold_gpt', 3n, 'gpt', 'chat')).toMatchObject({ ok: true });
    expect(hold(batch, 'hold_image', 5n, 'flux', 'image')).toMatchObject({ ok: true });
    // Work naming no model is paid by unscoped grants only.
    expect(hold(batch, 'hold_plain', 1n)).toMatchObject({ ok: false, available: '0' });
    const allocations = batch.document()!.hi!.map((row) => [row[0], row[6]]);
    expect(allocations).toEqual([
      [
        'hold_gpt',
        [
          ['gr_gpt', '2'],
          ['gr_any', '1'],
        ],
      ],
      ['hold_image', [['gr_images', '5']]],
    ]);
  });

  it('voids the unreserved remainder once; what a hold reserved is written off when released', () => {
    const batch = batchOver([account('cus_a', [grant('gr_promo', 10n, { source: 'promo', priority: 50 })])]);
    hold(batch, 'hold_1', 4n);
    expect(batch.apply({ op: 'void_grant', customer: 'cus_a', grant: 'gr_promo' })).toMatchObject({
      ok: true,
      voided: '6',
      reserved: '4',
      balance: '4',
    });
    expect(batch.apply({ op: 'void_grant', customer: 'cus_a', grant: 'gr_promo' })).toMatchObject({
      voided: '0',
    });
    expect(hold(batch, 'hold_2', 1n)).toMatchObject({ ok: false, code: 'insufficient_credits' });
    batch.apply({ op: 'void', hold: 'hold_1' });
    const document = batch.document()!;
    expect(document.t!.map((row) => [row[1], row[2]])).toEqual([
      ['grant_void', '-6'],
      ['grant_void', '-4'],
    ]);
    expect(document.e!.filter(([, account]) => account === 'sys:promotions')).toEqual([
      [1, 'sys:promotions', '6'],
      [2, 'sys:promotions', '4'],
    ]);
    expect(document.c).toEqual([['cus_a', '7', '0', '0']]);
  });
});
