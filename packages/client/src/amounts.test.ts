import { describe, expect, it } from 'vitest';
import { Credits, credits, formatCredits, fromMicros, toMicros } from './amounts.ts';
import { encodeJson } from './json.ts';
import { scriptedClient } from './stub-fetch.ts';

describe('toMicros', () => {
  it('converts decimal text and numbers exactly', () => {
    expect(toMicros('0.3')).toBe(300_000n);
    expect(toMicros(0.3)).toBe(300_000n);
    expect(toMicros('12')).toBe(12_000_000n);
    expect(toMicros(4850.5)).toBe(4_850_500_000n);
    expect(toMicros('-1.5')).toBe(-1_500_000n);
    expect(toMicros(' 2.25 ')).toBe(2_250_000n);
  });

  it('is exact where float arithmetic is not (0.1 + 0.2)', () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(toMicros('0.1') + toMicros('0.2')).toBe(toMicros('0.3'));
    expect(toMicros(0.1) + toMicros(0.2)).toBe(toMicros(0.3));
    expect(credits('0.1').plus('0.2').toString()).toBe('0.3');
    expect(credits('1.1').plus('2.2').equals('3.3')).toBe(true);
  });

  it('refuses a number that float arithmetic has pushed past 6 decimals', () => {
    expect(() => toMicros(0.1 + 0.2)).toThrow(RangeError);
    expect(() => toMicros(0.1 + 0.2)).toThrow(/0\.30000000000000004 has more than 6 decimals/);
    expect(() => credits(1.1 * 3)).toThrow(RangeError);
  });

  it('accepts exactly 6 decimals and rejects 7', () => {
    expect(toMicros('0.000001')).toBe(1n);
    expect(toMicros('123.456789')).toBe(123_456_789n);
    expect(toMicros(0.000001)).toBe(1n); // String(0.000001) is "0.000001"
    expect(() => toMicros('0.0000001')).toThrow(/more than 6 decimals/);
    expect(() => toMicros('1.1234567')).toThrow(RangeError);
    expect(() => toMicros(1e-7)).toThrow(/more than 6 decimals/); // String(1e-7) is "1e-7"
  });

  it('treats trailing zeros past 6 decimals as no precision', () => {
    expect(toMicros('1.50000000')).toBe(1_500_000n);
  });

  it('reads exponent notation as String(n) writes it', () => {
    expect(toMicros('1.5e3')).toBe(1_500_000_000n);
    expect(toMicros('2e-6')).toBe(2n);
    expect(toMicros(5e-6)).toBe(5n); // String(5e-6) is "0.000005"
    expect(() => toMicros(1e21)).toThrow(/out of range/); // String(1e21) is "1e+21"
  });

  it('rejects what is not a finite decimal', () => {
    for (const bad of ['', 'abc', '1,5', '0x10', '1.', '.5', 'NaN', '1e']) {
      expect(() => toMicros(bad), bad).toThrow(RangeError);
    }
    expect(() => toMicros(Number.NaN)).toThrow(RangeError);
    expect(() => toMicros(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => toMicros(undefined as unknown as string)).toThrow(TypeError);
  });
});

describe('fromMicros and Credits', () => {
  it('prints exact decimal text without trailing zeros', () => {
    expect(fromMicros(1_500_000n)).toBe('1.5');
    expect(fromMicros(1n)).toBe('0.000001');
    expect(fromMicros(-1n)).toBe('-0.000001');
    expect(fromMicros(0n)).toBe('0');
    expect(fromMicros(12_000_000n)).toBe('12');
  });

  it('round-trips every representable amount', () => {
    for (const text of ['0', '0.1', '0.123456', '999999999.999999', '-42.000042']) {
      expect(fromMicros(toMicros(text))).toBe(text);
    }
  });

  it('takes a bigint as micro-credits and text or numbers as credits', () => {
    expect(credits(300_000n).toString()).toBe('0.3');
    expect(credits('0.3').micros).toBe(300_000n);
    expect(credits(0.3).micros).toBe(300_000n);
    expect(Credits.fromMicros(2_500_000n).toNumber()).toBe(2.5);
    expect(Credits.from(credits('1')).micros).toBe(1_000_000n);
    expect(credits('1').minus('0.000001').toString()).toBe('0.999999');
  });

  it('serializes as a JSON number', () => {
    expect(JSON.stringify({ amount: credits('0.3') })).toBe('{"amount":0.3}');
    expect(encodeJson({ amount: credits('123.456789') })).toBe('{"amount":123.456789}');
    expect(encodeJson({ amount: credits(1n) })).toBe('{"amount":0.000001}');
  });

  it('rejects amounts outside signed 64-bit micros', () => {
    expect(() => credits(2n ** 63n)).toThrow(RangeError);
    expect(() => toMicros('9223372036855')).toThrow(/out of range/);
  });
});

describe('formatCredits', () => {
  it('groups thousands, keeps exact decimals and names the unit', () => {
    expect(formatCredits(12)).toBe('12 credits');
    expect(formatCredits(1)).toBe('1 credit');
    expect(formatCredits('4850.5')).toBe('4,850.5 credits');
    expect(formatCredits(1_234_567_000_001n)).toBe('1,234,567.000001 credits');
    expect(formatCredits(credits('-1000'))).toBe('-1,000 credits');
    expect(formatCredits(0.5)).toBe('0.5 credits');
  });
});

describe('amounts on the wire', () => {
  it('are sent as JSON numbers written from exact decimal text', async () => {
    const { client, calls } = scriptedClient([{ status: 201, body: { id: 'grant_1' } }]);
    await client.customers.grant('cus_1', { amount: '0.1', source: 'promo' });
    expect(calls[0].body).toBe('{"amount":0.1,"source":"promo"}');
  });

  it('keep a micro-credit that float formatting would lose', async () => {
    const { client, calls } = scriptedClient([{ status: 201, body: { id: 'hold_1' } }]);
    await client.holds.create({
      customer: 'cus_1',
      model: 'm',
      amount: credits(12_345_678_901_234_567n),
      max_run_cost: credits('0.1').plus('0.2'),
    });
    // 12345678901.234567 has 17 significant digits: as a JS number it would print differently.
    expect(calls[0].body).toContain('"amount":12345678901.234567');
    expect(calls[0].body).toContain('"max_run_cost":0.3');
  });

  it('are validated before anything is sent', async () => {
    const { client, calls } = scriptedClient([]);
    await expect(
      client.charges.create({ customer: 'cus_1', model: 'm', amount: '0.0000001' }),
    ).rejects.toThrow(RangeError);
    await expect(client.giftCodes.create({ amount: 0.1 + 0.2 })).rejects.toThrow(RangeError);
    expect(calls).toHaveLength(0);
  });

  it('are read back exactly from a response with toMicros', async () => {
    const { client } = scriptedClient([{ body: { balance: 4850.123456, currency: 'credits' } }], {
      userKey: 'tg_uk_1',
    });
    const { balance } = await client.credits.balance();
    expect(toMicros(balance)).toBe(4_850_123_456n);
  });
});
