import { describe, expect, it } from 'vitest';
import { describeTransaction, formatPaid } from './describe.ts';

const row = (type: string, fields: Partial<Parameters<typeof describeTransaction>[0]> = {}) => ({
  type,
  amount: 1,
  model: null,
  source: null,
  description: null,
  metadata: {},
  ...fields,
});

describe('describeTransaction', () => {
  it('says what each line is', () => {
    expect(
      describeTransaction(
        row('usage', { model: 'openai/gpt-4o', metadata: { input_tokens: '1200', output_tokens: 30 } }),
      ),
    ).toBe('openai/gpt-4o · 1,200 tokens in, 30 out');
    expect(
      describeTransaction(row('purchase', { metadata: { purchase_id: 'pur_1', amount_cents: '125000' } })),
    ).toBe('Credit purchase · $1,250.00 paid');
    expect(
      describeTransaction(row('purchase', { metadata: { purchase_id: 'pur_1', amount_cents: '999' } }), {
        purchaseCurrencies: new Map([['pur_1', 'eur']]),
      }),
    ).toBe('Credit purchase · 9.99 EUR paid');
    expect(describeTransaction(row('gift_code', { description: 'Gift code …WXYZ' }))).toBe('Gift code …WXYZ');
    expect(
      describeTransaction(row('allowance', { description: 'Plan allowance 2031-05-01 – 2031-06-01' })),
    ).toBe('Plan allowance 2031-05-01 – 2031-06-01');
    expect(describeTransaction(row('signup_bonus'))).toBe('Signup bonus');
    expect(describeTransaction(row('pending', { model: 'fal/veo' }))).toBe('Reserved for fal/veo (pending)');
    expect(
      describeTransaction(row('refund', { metadata: { purchase_id: 'p', refunded_cents: '500' } })),
    ).toBe('Refund of a purchase · $5.00 refunded in all');
  });

  it('ignores token counts and cents that are not whole numbers', () => {
    expect(describeTransaction(row('usage', { metadata: { input_tokens: '1e9' } }))).toBe('Usage');
    expect(describeTransaction(row('purchase', { metadata: { amount_cents: 'x' } }))).toBe('Credit purchase');
    expect(formatPaid(-5n)).toBe('-$0.05');
  });
});
